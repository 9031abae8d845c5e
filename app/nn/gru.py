"""One GRU layer over time, forward and backward, in PyTorch's formulation.

    r = sigmoid(W_ir x + b_ir + W_hr h_{t-1} + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h_{t-1} + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z) * n + z * h_{t-1}

Note the reset gate multiplies the recurrent part *after* its bias (PyTorch, cuDNN and
Keras' reset_after=True), which is why the two biases cannot be merged here.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid
from .params import LayerParams

Arrays = dict[str, np.ndarray]


def forward(p: LayerParams, x: np.ndarray, h0: np.ndarray) -> Arrays:
    steps, hidden = x.shape[0], p.hidden_size
    h2 = 2 * hidden
    xp = x @ p.weight_ih.T
    if p.bias_ih is not None:  # a bias-free layer adds none (b_hn included)
        xp += p.bias_ih
    act = np.empty((steps, 3 * hidden))  # r | z | n
    hn = np.empty((steps, hidden))  # W_hn h_{t-1} + b_hn, kept for the backward pass
    h = np.empty((steps, hidden))
    w_hh_t = p.weight_hh.T
    h_prev = h0
    for t in range(steps):
        hp = h_prev @ w_hh_t
        if p.bias_hh is not None:
            hp += p.bias_hh
        act_t = act[t]
        np.add(xp[t, :h2], hp[:h2], out=act_t[:h2])
        sigmoid(act_t[:h2], out=act_t[:h2])
        hn[t] = hp[h2:]
        n_t = np.multiply(act_t[:hidden], hn[t], out=act_t[h2:])
        n_t += xp[t, h2:]
        np.tanh(n_t, out=n_t)
        # (1 - z) n + z h_prev, written as n + z (h_prev - n): one product fewer.
        h_t = np.subtract(h_prev, n_t, out=h[t])
        h_t *= act_t[hidden:h2]
        h_t += n_t
        h_prev = h_t
    return {
        "x": x,
        "r": act[:, :hidden],
        "z": act[:, hidden:h2],
        "n": act[:, h2:],
        "h": h,
        "_hn": hn,
    }


def backward(p: LayerParams, tr: Arrays, h0: np.ndarray, dh_above: np.ndarray) -> Arrays:
    x, r, z, n, h, hn = (tr[k] for k in ("x", "r", "z", "n", "h", "_hn"))
    steps, hidden = h.shape
    h_prev = np.vstack([h0[None, :], h[:-1]])

    # Per-step factors from dh_t to the pre-activations, for all steps at once.
    dan_per_dh = (1 - z) * (1 - n * n)
    dar_per_dan = hn * r * (1 - r)
    daz_per_dh = (h_prev - n) * z * (1 - z)

    dh = np.empty((steps, hidden))
    dxp = np.empty((steps, 3 * hidden))  # dL/d(W_ih x + b_ih), blocks r | z | n
    dhp = np.empty((steps, 3 * hidden))  # dL/d(W_hh h + b_hh), blocks r | z | n
    h_from_next = np.zeros((steps, hidden))
    dh0 = np.empty(hidden)
    w_hh = p.weight_hh
    h2 = 2 * hidden
    for t in range(steps - 1, -1, -1):
        dh_t = np.add(dh_above[t], h_from_next[t], out=dh[t])
        dxp_t, dhp_t = dxp[t], dhp[t]
        da_n = np.multiply(dh_t, dan_per_dh[t], out=dxp_t[h2:])
        np.multiply(da_n, dar_per_dan[t], out=dxp_t[:hidden])
        np.multiply(dh_t, daz_per_dh[t], out=dxp_t[hidden:h2])
        dhp_t[:h2] = dxp_t[:h2]
        np.multiply(da_n, r[t], out=dhp_t[h2:])
        out = h_from_next[t - 1] if t else dh0
        np.dot(dhp_t, w_hh, out=out)
        out += dh_t * z[t]

    grads = {
        "x": dxp @ p.weight_ih,
        "r": dxp[:, h2:] * hn,
        "z": dh * (h_prev - n),
        "n": dh * (1 - z),
        "h": dh,
        "h_from_above": dh_above,
        "h_from_next": h_from_next,
        "h0": dh0,
        "weight_ih": dxp.T @ x,
        "weight_hh": dhp.T @ h_prev,
    }
    if p.bias_ih is not None:
        grads["bias_ih"] = dxp.sum(axis=0)
        grads["bias_hh"] = dhp.sum(axis=0)
    return grads
