"""Numerical gradient check by central differences, in float64.

For every parameter tensor, the input and the initial states, each element is nudged and
the central difference D(e) = (L(x + e) - L(x - e)) / 2e is compared with the analytic
gradient from BPTT.  One Richardson step, (4 D(e/2) - D(e)) / 3, cancels the e^2 term of
the truncation error, so a fairly large e (little rounding error) still gives ~1e-10
agreement: a plain D(1e-6) loses digits to rounding once gradients are small (three
stacked layers), and a plain D(1e-4) to truncation once activations saturate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import stack
from .losses import Loss
from .params import Head
from .spec import EMBEDDING, HEAD_PARAMS, param_name

DEFAULT_EPS = 1e-3


@dataclass(frozen=True)
class Check:
    name: str
    size: int
    max_abs_error: float
    # max |analytic - numeric| / max(max |analytic|, max |numeric|): the error relative to the
    # tensor's own scale, so elements that are (nearly) zero do not inflate it.
    max_rel_error: float


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> tuple[float, float]:
    abs_err = float(np.max(np.abs(analytic - numeric))) if analytic.size else 0.0
    scale = max(float(np.max(np.abs(analytic), initial=0.0)), float(np.max(np.abs(numeric), initial=0.0)))
    return abs_err, (abs_err / scale if scale > 0 else abs_err)


def numeric_gradient(
    f: Callable[[], float], array: np.ndarray, eps: float, stop: stack.StopHook | None = None
) -> np.ndarray:
    """Richardson-extrapolated central differences of f() by each element of `array`.

    f must read `array` itself: the elements are nudged in place and restored.  `stop` is
    polled before each element (four passes of f); what it raises ends the check with the
    element restored.
    """
    grad = np.empty_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)

    def central(j: int, keep: float, e: float) -> float:
        flat[j] = keep + e
        up = f()
        flat[j] = keep - e
        down = f()
        flat[j] = keep
        return (up - down) / (2 * e)

    for j in range(flat.size):
        if stop is not None:
            stop()
        keep = float(flat[j])
        gflat[j] = (4 * central(j, keep, eps / 2) - central(j, keep, eps)) / 3
    return grad


def tensors(model: stack.Model, x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None) -> dict[str, np.ndarray]:
    """Every differentiable array by its API name (the arrays themselves, not copies)."""
    out: dict[str, np.ndarray] = {}
    for slot, p in enumerate(model.layers):
        for kind, arr in p.tensors().items():
            out[param_name(kind, *divmod(slot, model.directions))] = arr
    if model.head is not None:
        out[HEAD_PARAMS[0]] = model.head.weight
        out[HEAD_PARAMS[1]] = model.head.bias
    if model.embedding is not None:
        out[EMBEDDING] = model.embedding  # token ids themselves have no gradient
    else:
        out["inputs"] = x
    out["h0"] = h0
    if c0 is not None:
        out["c0"] = c0
    return out


def analytic(trace: stack.Trace, model: stack.Model, c0_used: bool) -> dict[str, np.ndarray]:
    grads = trace.grads
    out: dict[str, np.ndarray] = {}
    for slot, p in enumerate(model.layers):
        for kind in p.tensors():
            out[param_name(kind, *divmod(slot, model.directions))] = grads[slot][kind]
    if model.head is not None:
        out[HEAD_PARAMS[0]] = trace.output["grad_head.weight"]
        out[HEAD_PARAMS[1]] = trace.output["grad_head.bias"]
    if model.embedding is not None:
        # check() hands the engine an embedding of the used rows only, in ascending id order.
        out[EMBEDDING] = trace.model_grads[EMBEDDING]
    else:
        # Both directions of a bidirectional bottom layer read the inputs.
        out["inputs"] = sum(grads[d]["x"] for d in range(model.directions))
    out["h0"] = np.stack([g["h0"] for g in grads])
    if c0_used:
        out["c0"] = np.stack([g["c0"] for g in grads])
    return out


def check(
    model: stack.Model,
    x: np.ndarray,
    loss: Loss,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    eps: float = DEFAULT_EPS,
    stop: stack.StopHook | None = None,
) -> list[Check]:
    """One Check per tensor: parameters (PyTorch names), head, inputs, h0 and (LSTM) c0.

    `stop` is polled between perturbations (see numeric_gradient) and between layers of the
    analytic run; whatever it raises abandons the check.
    """
    embedding = None
    if model.embedding is not None:
        # Only the rows the sequence reads have a gradient: the check perturbs those alone, as
        # an embedding of the used rows with the ids renumbered (the same numbers).
        rows, x = np.unique(np.asarray(x, dtype=np.int64), return_inverse=True)
        embedding = model.embedding[rows].copy()
    # Private copies: the check perturbs them in place.
    model = replace(
        model,
        layers=[p.copy() for p in model.layers],
        # A head the loss does not read has no gradient to check.
        head=Head(model.head.weight.copy(), model.head.bias.copy())
        if model.head is not None and loss.uses_head
        else None,
        embedding=embedding,
    )
    x = np.array(x, dtype=np.int64 if embedding is not None else np.float64)
    h0 = np.zeros((model.slots, model.state_size)) if h0 is None else np.array(h0, dtype=np.float64)
    uses_c = model.cell == "lstm"
    c_shape = (model.slots, model.hidden_size)
    c0 = (np.zeros(c_shape) if c0 is None else np.array(c0, dtype=np.float64)) if uses_c else None

    trace = stack.run(model, x, loss, h0, c0, stop=stop)
    exact = analytic(trace, model, uses_c)

    def f() -> float:
        return stack.loss_value(model, x, loss, h0, c0)

    return [
        Check(name, arr.size, *relative_error(exact[name], numeric_gradient(f, arr, eps, stop)))
        for name, arr in tensors(model, x, h0, c0).items()
    ]
