"""Layers over time: the stacked forward pass, the loss, and backpropagation through time.

Layer k's input is layer k-1's h; in the backward pass layer k's dL/dx is what arrives
"from above" at layer k-1.  A bidirectional layer runs a second set of weights over the
sequence from its end to its start, and hands up both directions' h merged (side by side,
or summed / averaged / multiplied: Keras' merge_mode).  This module knows nothing of the
web side.

Per-layer lists (`Model.layers`, `Trace.layers`, `Trace.grads`, rows of h0 and c0) run over
(layer, direction) slots in PyTorch's order: layer 0 forward, layer 0 reverse, layer 1 ...
A reverse direction's arrays are indexed by input position like the forward one's: row t
is the state after reading x_t (having read x_{T-1} .. x_t), and its `h_from_next` at t
came from position t-1, the step it computes next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import gru, losses, lstm, rnn
from .architecture import merge, read, split
from .losses import Loss
from .params import Head, LayerParams, head_from, layers_from
from .spec import EMBEDDING, SPECS

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
    directions: int = 1  # 2: bidirectional, `layers` alternating forward, reverse
    merge_mode: str = "concat"

    @property
    def hidden_size(self) -> int:
        return self.layers[0].hidden_size

    @property
    def state_size(self) -> int:
        """Numbers in h per direction (P with a projection, else H): the width of h0's rows."""
        return self.layers[0].output_size

    @property
    def num_layers(self) -> int:
        return len(self.layers) // self.directions

    @property
    def slots(self) -> int:
        return len(self.layers)

    @classmethod
    def of(
        cls, cell: str, params: dict[str, np.ndarray], num_layers: int, merge_mode: str = "concat", **settings
    ) -> Model:
        """The model PyTorch-named tensors make: directions, projection and biases read from the
        names present (`architecture.read`), the head and an embedding when there are."""
        arch = read(cell, params, num_layers, merge_mode)
        settings.setdefault("embedding", params.get(EMBEDDING))
        return cls(
            cell,
            layers_from(params, num_layers),
            head_from(params),
            directions=arch.directions,
            merge_mode=merge_mode,
            **settings,
        )


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
    # Per layer, what it hands up: its h, or both directions' merged (T x output width).
    outputs: list[np.ndarray] = field(default_factory=list)
    # With grads, per layer: dL/d(that output), before a bidirectional layer splits it.
    output_grads: list[np.ndarray] = field(default_factory=list)


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


def _initial(state: np.ndarray | None, slots: int, width: int) -> np.ndarray:
    return np.zeros((slots, width)) if state is None else state


def _flipped(arrays: Arrays, names: frozenset[str]) -> Arrays:
    """The per-step arrays among `names` in the other time order (views); the rest as they are."""
    return {k: (v[::-1] if k in names else v) for k, v in arrays.items()}


def _per_step(cell: str) -> frozenset[str]:
    """Names of the arrays with one row per step (those a reverse direction flips)."""
    return frozenset(SPECS[cell].array_names()) | {"m", "_hn"}


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
    h0 = _initial(h0, model.slots, model.state_size)
    c0 = _initial(c0, model.slots, model.hidden_size)
    per_step = _per_step(model.cell)
    dirs = model.directions
    traces: list[Arrays] = []
    ids = None
    if model.embedding is not None:
        ids = np.asarray(x, dtype=np.int64)
        x = model.embedding[ids]
    layer_in = x
    outputs: list[np.ndarray] = []  # each layer's output (merged for a bidirectional one)
    for k in range(model.num_layers):
        for d in range(dirs):
            stop()
            slot = k * dirs + d
            seq = layer_in if d == 0 else layer_in[::-1]
            tr = _layer_forward(model, model.layers[slot], seq, h0[slot], c0[slot])
            traces.append(tr if d == 0 else _flipped(tr, per_step))
        layer_in = traces[-1]["h"] if dirs == 1 else merge(model.merge_mode, traces[-2]["h"], traces[-1]["h"])
        outputs.append(layer_in)
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
        return Trace(value, traces, None, output, outputs=outputs)

    grads: list[Arrays] = [{}] * model.slots
    output_grads: list[np.ndarray] = [dh_top] * model.num_layers
    dh_above = dh_top
    for k in range(model.num_layers - 1, -1, -1):
        output_grads[k] = dh_above
        if dirs == 1:
            stop()
            grads[k] = _layer_backward(model, model.layers[k], traces[k], h0[k], c0[k], dh_above)
            dh_above = grads[k]["x"]
            continue
        slots = (2 * k, 2 * k + 1)
        parts = split(model.merge_mode, dh_above, traces[slots[0]]["h"], traces[slots[1]]["h"])
        for d, (slot, dh_part) in enumerate(zip(slots, parts, strict=True)):
            stop()
            tr, dh_in = (traces[slot], dh_part) if d == 0 else (_flipped(traces[slot], per_step), dh_part[::-1])
            g = _layer_backward(model, model.layers[slot], tr, h0[slot], c0[slot], dh_in)
            grads[slot] = g if d == 0 else _flipped(g, per_step)
        # The layer below fed both directions: its dL/dh is the sum of what each sends back.
        dh_above = grads[slots[0]]["x"] + grads[slots[1]]["x"]
    model_grads: Arrays = {}
    if ids is not None:
        # Row r of E was read at every step whose id is r: its gradient sums theirs.
        rows, where = np.unique(ids, return_inverse=True)
        d_rows = np.zeros((rows.size, x.shape[1]))
        np.add.at(d_rows, where, dh_above)
        model_grads = {"embedding.rows": rows, "embedding.weight": d_rows}
    return Trace(value, traces, grads, output, model_grads, outputs, output_grads)


def loss_value(model: Model, x: np.ndarray, loss: Loss, h0=None, c0=None) -> float:
    """The loss alone, for numerical differentiation."""
    return run(model, x, loss, h0, c0, backward=False).loss
