"""How gradients travel back through time: the measures the comparison view plots.

All functions take a finished `stack.Trace` (with grads) and return plain arrays.
"""

from __future__ import annotations

import numpy as np

from .spec import PARAM_KINDS, PROJECTION, SPECS
from .stack import Model, Trace

# A sigmoid output this close to 0 or 1 has a derivative s (1 - s) below 0.09.
SATURATION_LOW, SATURATION_HIGH = 0.1, 0.9
# For the RNN, which has no gates: tanh outputs beyond this have a derivative below 0.19.
TANH_SATURATION = 0.9


def grad_norms(trace: Trace, name: str) -> np.ndarray:
    """(layers x directions, T): the Euclidean norm over units of dL/d`name`_t, per layer (and
    direction) and step."""
    return np.stack([np.linalg.norm(g[name], axis=1) for g in trace.grads])


def input_grad_norm(trace: Trace, model: Model) -> np.ndarray:
    """(T,): the norm of dL/dx_t at the bottom layer (both directions' share, when there are two)."""
    return np.linalg.norm(sum(trace.grads[d]["x"] for d in range(model.directions)), axis=1)


def forget_products(trace: Trace, model: Model) -> np.ndarray:
    """(layers x directions, T, H): per unit, the product of f over the steps a direction
    computes after t (forward: s = t+1..T; reverse: s = t-1..1); 1 at its last step.

    This is the factor dc carries back from the direction's last step to c_t along the cell
    path alone (dc_t gets that times prod f plus whatever arrives through h): the constant
    error carousel when f ~ 1.
    """
    out = []
    for slot, layer in enumerate(trace.layers):
        reverse = slot % model.directions == 1
        f = layer["f"][::-1] if reverse else layer["f"]  # in the direction's own time order
        after = np.ones_like(f)
        # reverse cumulative product of f_{t+1..T}
        after[:-1] = np.cumprod(f[:0:-1], axis=0)[::-1]
        out.append(after[::-1] if reverse else after)
    return np.stack(out)


def saturation(cell: str, trace: Trace) -> tuple[np.ndarray, str]:
    """(T,): share of saturated units per step, over every layer; and what was counted."""
    blocks = SPECS[cell].sigmoid_blocks
    if blocks:
        gates = np.concatenate([layer[b] for layer in trace.layers for b in blocks], axis=1)
        sat = (gates < SATURATION_LOW) | (gates > SATURATION_HIGH)
        return sat.mean(axis=1), "sigmoid gates below 0.1 or above 0.9"
    h = np.concatenate([layer["h"] for layer in trace.layers], axis=1)
    return (np.abs(h) > TANH_SATURATION).mean(axis=1), "tanh units with |h| above 0.9 (an RNN has no gates)"


def recurrent_spectrum(model: Model) -> tuple[list[float], list[float]]:
    """Per layer: spectral radius (largest |eigenvalue|) and largest singular value of W_hh."""
    radius = [float(np.max(np.abs(np.linalg.eigvals(p.weight_hh)))) for p in model.layers]
    sigma = [float(np.linalg.norm(p.weight_hh, ord=2)) for p in model.layers]
    return radius, sigma


def param_grad_norm(trace: Trace) -> float:
    """Global Euclidean norm of every parameter gradient (recurrent layers and head)."""
    total = 0.0
    for g in trace.grads:
        for kind in (*PARAM_KINDS, PROJECTION):
            if kind in g:  # a bias-free layer has no bias gradients; only a projection has weight_hr
                total += float(np.sum(g[kind] ** 2))
    for name in ("grad_head.weight", "grad_head.bias"):
        if name in trace.output:
            total += float(np.sum(trace.output[name] ** 2))
    return float(np.sqrt(total))


def clip_factor(norm: float, threshold: float) -> float:
    """The scale gradient-norm clipping applies: 1 under the threshold, threshold/norm above."""
    return 1.0 if norm <= threshold else threshold / norm
