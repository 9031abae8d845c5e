"""What each cell type is made of: the one source of truth for gate order and array names.

Everything else (parameter init, the API schema, the page) reads these tuples instead of
spelling gate names again. The block order is PyTorch's, so real weights map one to one.
"""

from __future__ import annotations

from dataclasses import dataclass

CELLS = ("lstm", "gru", "rnn")


@dataclass(frozen=True)
class CellSpec:
    name: str
    # Blocks stacked in weight_ih / weight_hh / biases (and in `a` for the LSTM and RNN).
    blocks: tuple[str, ...]
    # Per-step forward arrays a layer records, in the order the API lists them.
    forward: tuple[str, ...]
    # Extra gradient arrays beyond d(forward array): the split of dh (and dc) by source.
    grad_extra: tuple[str, ...]
    has_cell_state: bool
    # Which blocks go through a sigmoid (the rest through tanh).
    sigmoid_blocks: tuple[str, ...]
    # What the page draws, in the seed's reading order (not the packed `blocks` order):
    # the strips in each diagram cell, and the unit x time quantities (heatmaps, checkpoint
    # snapshots of training, the legend's colours).
    strips: tuple[str, ...]
    heatmaps: tuple[str, ...]

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def state_names(self) -> tuple[str, ...]:
        return ("h0", "c0") if self.has_cell_state else ("h0",)

    def array_names(self) -> tuple[str, ...]:
        """Every per-step array name a client may ask for with `fields`."""
        return self.forward + tuple(n for n in self.grad_extra if n not in self.forward)


LSTM = CellSpec(
    name="lstm",
    blocks=("i", "f", "g", "o"),
    forward=("x", "a", "i", "f", "g", "o", "c", "tanh_c", "h"),
    grad_extra=("h_from_above", "h_from_next", "c_from_next"),
    has_cell_state=True,
    sigmoid_blocks=("i", "f", "o"),
    strips=("f", "i", "g", "o"),
    heatmaps=("f", "i", "g", "o", "c", "h"),
)
GRU = CellSpec(
    name="gru",
    blocks=("r", "z", "n"),
    forward=("x", "r", "z", "n", "h"),
    grad_extra=("h_from_above", "h_from_next"),
    has_cell_state=False,
    sigmoid_blocks=("r", "z"),
    strips=("r", "z", "n"),
    heatmaps=("r", "z", "n", "h"),
)
RNN = CellSpec(
    name="rnn",
    blocks=("a",),
    forward=("x", "a", "h"),
    grad_extra=("h_from_above", "h_from_next"),
    has_cell_state=False,
    sigmoid_blocks=(),
    strips=("h",),  # no gates: the strip shows the state itself
    heatmaps=("a", "h"),
)

SPECS: dict[str, CellSpec] = {s.name: s for s in (LSTM, GRU, RNN)}


# Settings that act on a part not every cell has, and how to tell whether a cell has it.
_PARTS = {
    "forget gate": lambda s: "f" in s.blocks,
    "cell state": lambda s: s.has_cell_state,
}
SETTING_PART = {"forget_bias": "forget gate", "hold_forget": "forget gate", "c0": "cell state"}


def missing_part(cell: str, setting: str) -> str | None:
    """The part `setting` acts on when `cell` lacks it ("forget gate"), else None."""
    part = SETTING_PART.get(setting)
    return part if part is not None and not _PARTS[part](SPECS[cell]) else None


def catalogue() -> dict[str, dict[str, object]]:
    """Every cell as the page reads it (GET /api/limits `cells`): the page spells none of this."""
    return {
        name: {
            "gate_order": list(s.blocks),
            "forward": list(s.forward),
            "arrays": list(s.array_names()),
            "has_cell_state": s.has_cell_state,
            "sigmoid": list(s.sigmoid_blocks),
            "strips": list(s.strips),
            "heatmaps": list(s.heatmaps),
        }
        for name, s in SPECS.items()
    }


PARAM_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # biases absent in a bias-free layer
PROJECTION = "weight_hr"  # an LSTM's projection (PyTorch's proj_size): P x H
HEAD_PARAMS = ("head.weight", "head.bias")
# A model that takes token ids: its embedding table (V x D), the same orientation in every framework.
EMBEDDING = "embedding.weight"


def param_name(kind: str, layer: int, direction: int = 0) -> str:
    """PyTorch's state-dict name, e.g. weight_ih_l0, or weight_ih_l0_reverse for direction 1."""
    return f"{kind}_l{layer}" + ("_reverse" if direction else "")
