"""One vanilla (Elman) RNN layer over time, forward and backward.

a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
h_t = tanh(a_t)  or  relu(a_t)   (PyTorch's `nonlinearity`, Keras' SimpleRNN `activation`)
"""

from __future__ import annotations

import numpy as np

from .params import LayerParams

Arrays = dict[str, np.ndarray]
NONLINEARITIES = ("tanh", "relu")


def _relu(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0, out=out)


def forward(p: LayerParams, x: np.ndarray, h0: np.ndarray, nonlinearity: str = "tanh") -> Arrays:
    steps, hidden = x.shape[0], p.hidden_size
    a = x @ p.weight_ih.T
    if p.bias_ih is not None:  # a bias-free layer adds none
        a += p.bias_ih + p.bias_hh
    h = np.empty((steps, hidden))
    w_hh_t = p.weight_hh.T
    act = np.tanh if nonlinearity == "tanh" else _relu
    h_prev = h0
    for t in range(steps):
        a[t] += h_prev @ w_hh_t
        h_prev = act(a[t], out=h[t])
    return {"x": x, "a": a, "h": h}


def backward(p: LayerParams, tr: Arrays, h0: np.ndarray, dh_above: np.ndarray, nonlinearity: str = "tanh") -> Arrays:
    x, h = tr["x"], tr["h"]
    steps, hidden = h.shape
    h_prev = np.vstack([h0[None, :], h[:-1]])
    # tanh' = 1 - tanh²; relu' = 1 where a > 0 and 0 elsewhere (at a = 0 too, as in PyTorch).
    da_per_dh = 1 - h * h if nonlinearity == "tanh" else (tr["a"] > 0).astype(np.float64)
    dh = np.empty((steps, hidden))
    da = np.empty((steps, hidden))
    h_from_next = np.zeros((steps, hidden))
    dh0 = np.empty(hidden)
    w_hh = p.weight_hh
    for t in range(steps - 1, -1, -1):
        dh_t = np.add(dh_above[t], h_from_next[t], out=dh[t])
        np.multiply(dh_t, da_per_dh[t], out=da[t])
        np.dot(da[t], w_hh, out=h_from_next[t - 1] if t else dh0)
    grads = {
        "x": da @ p.weight_ih,
        "a": da,
        "h": dh,
        "h_from_above": dh_above,
        "h_from_next": h_from_next,
        "h0": dh0,
        "weight_ih": da.T @ x,
        "weight_hh": da.T @ h_prev,
    }
    if p.bias_ih is not None:
        grads["bias_ih"] = da.sum(axis=0)
        grads["bias_hh"] = grads["bias_ih"].copy()
    return grads
