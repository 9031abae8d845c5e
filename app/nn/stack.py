"""Layers over time: the stacked forward pass, the loss, and backpropagation through time.

Layer k's input is layer k-1's h; in the backward pass layer k's dL/dx is what arrives
"from above" at layer k-1.  This module knows nothing of the web side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import gru, losses, lstm, rnn
from .losses import Loss
from .params import Head, LayerParams

Arrays = dict[str, np.ndarray]
# Called between layers (each way); raises to abandon the run (the API's time budget and
# client disconnects).  It sees nothing and changes nothing: the maths is the same with or without.
StopHook = Callable[[], None]


def _no_stop() -> None:
    return None


@dataclass(frozen=True)
class Model:
    cell: str
    layers: list[LayerParams]
    head: Head | None = None
    hold_forget: bool = False  # LSTM what-if: forget gate fixed at 1
    nonlinearity: str = "tanh"  # RNN: "tanh" or "relu"
    # Token ids in: x_t = embedding[id_t] (V x D), the looked-up rows being layer 0's input.
    embedding: np.ndarray | None = None
    # The head's outputs are logits: their softmax (`probs`) is what the model outputs.
    softmax_head: bool = False

    @property
    def hidden_size(self) -> int:
        return self.layers[0].hidden_size

    @property
    def num_layers(self) -> int:
        return len(self.layers)


@dataclass
class Trace:
    """Everything one run produced; `grads` is None for a forward-only run."""

    loss: float
    layers: list[Arrays]
    grads: list[Arrays] | None = None
    output: Arrays = field(default_factory=dict)  # y, probs, and with grads grad_y, head grads
    # With grads and an embedding: "embedding.rows" (the distinct ids, ascending) and
    # "embedding.weight" (dL/dE for those rows, summed over every step that used them).
    model_grads: Arrays = field(default_factory=dict)


def _layer_forward(model: Model, p: LayerParams, x: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> Arrays:
    cell = model.cell
    if cell == "lstm":
        return lstm.forward(p, x, h0, c0, model.hold_forget)
    if cell == "gru":
        return gru.forward(p, x, h0)
    return rnn.forward(p, x, h0, model.nonlinearity)


def _layer_backward(
    model: Model, p: LayerParams, tr: Arrays, h0: np.ndarray, c0: np.ndarray, dh_above: np.ndarray
) -> Arrays:
    cell = model.cell
    if cell == "lstm":
        return lstm.backward(p, tr, h0, c0, dh_above)
    if cell == "gru":
        return gru.backward(p, tr, h0, dh_above)
    return rnn.backward(p, tr, h0, dh_above, model.nonlinearity)


def _initial(state: np.ndarray | None, num_layers: int, hidden: int) -> np.ndarray:
    return np.zeros((num_layers, hidden)) if state is None else state


def run(
    model: Model,
    x: np.ndarray,
    loss: Loss,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    backward: bool = True,
    stop: StopHook | None = None,
) -> Trace:
    """Forward through every layer, the loss, and (optionally) BPTT back to x and h0/c0.

    `x` is T x D numbers, or with an embedding the T token ids.  `stop` is polled before
    each layer's pass; whatever it raises ends the run.
    """
    stop = stop or _no_stop
    hidden = model.hidden_size
    h0 = _initial(h0, model.num_layers, hidden)
    c0 = _initial(c0, model.num_layers, hidden)
    traces: list[Arrays] = []
    ids = None
    if model.embedding is not None:
        ids = np.asarray(x, dtype=np.int64)
        x = model.embedding[ids]
    layer_in = x
    for k, p in enumerate(model.layers):
        stop()
        tr = _layer_forward(model, p, layer_in, h0[k], c0[k])
        traces.append(tr)
        layer_in = tr["h"]
    top_h = layer_in

    output: Arrays = {}
    if loss.kind == "dh":
        value, dh_top = losses.upstream(top_h, loss.dh)
        if model.head is not None:
            # The loss does not read the head, but its outputs are the model's answer.
            output["y"] = top_h @ model.head.weight.T + model.head.bias
            if model.softmax_head:
                output["probs"] = losses.softmax(output["y"])
    else:
        head = model.head
        y = top_h @ head.weight.T + head.bias
        output["y"] = y
        if loss.kind == "mse":
            value, dy = losses.mse(y, loss.targets)
        else:
            value, dy, probs = losses.cross_entropy(y, loss.targets)
            output["probs"] = probs
        if backward:
            output["grad_y"] = dy
            output["grad_head.weight"] = dy.T @ top_h
            output["grad_head.bias"] = dy.sum(axis=0)
            dh_top = dy @ head.weight
    if not backward:
        return Trace(value, traces, None, output)

    grads: list[Arrays] = [{}] * model.num_layers
    dh_above = dh_top
    for k in range(model.num_layers - 1, -1, -1):
        stop()
        g = _layer_backward(model, model.layers[k], traces[k], h0[k], c0[k], dh_above)
        grads[k] = g
        dh_above = g["x"]
    model_grads: Arrays = {}
    if ids is not None:
        # Row r of E was read at every step whose id is r: its gradient sums theirs.
        rows, where = np.unique(ids, return_inverse=True)
        d_rows = np.zeros((rows.size, x.shape[1]))
        np.add.at(d_rows, where, dh_above)
        model_grads = {"embedding.rows": rows, "embedding.weight": d_rows}
    return Trace(value, traces, grads, output, model_grads)


def loss_value(model: Model, x: np.ndarray, loss: Loss, h0=None, c0=None) -> float:
    """The loss alone, for numerical differentiation."""
    return run(model, x, loss, h0, c0, backward=False).loss
