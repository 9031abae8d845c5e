"""LSTM visualiser: an exact LSTM / GRU / RNN engine and the page that shows it."""

__version__ = "0.1.0"
