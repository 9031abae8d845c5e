"""One LSTM layer over time, forward and backward (BPTT), recording every intermediate.

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (the slice node's input, 4H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)                 (without a projection)
    m_t = o * tanh(c_t),  h_t = W_hr m_t   (with one: PyTorch's proj_size; W_hh reads the P-wide h)

A bias-free layer (bias=False) adds no bias at all.

The input projection for all steps is one matrix product; only the recurrent product
loops over time.  Gate activations live side by side in one (T, 4H) array in the block
order i, f, g, o so `i`, `f`, `g`, `o` are views, not copies.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid
from .params import LayerParams

Arrays = dict[str, np.ndarray]


def _blocks(m: np.ndarray, hidden: int) -> tuple[np.ndarray, ...]:
    return tuple(m[:, k * hidden : (k + 1) * hidden] for k in range(4))


def forward(p: LayerParams, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, hold_forget: bool = False) -> Arrays:
    """hold_forget: the what-if with f = 1 at every step (the constant error carousel).

    Its backward needs no special case: f (1 - f) = 0 gives da_f = 0, and dc_{t-1} = dc_t.
    """
    steps, hidden = x.shape[0], p.hidden_size
    a = x @ p.weight_ih.T
    if p.bias_ih is not None:
        a += p.bias_ih + p.bias_hh
    act = np.empty_like(a)
    c = np.empty((steps, hidden))
    tanh_c = np.empty((steps, hidden))
    h = np.empty((steps, p.output_size))
    # With a projection, o * tanh(c) is m, and h is its image under W_hr.
    m = np.empty((steps, hidden)) if p.weight_hr is not None else h
    w_hr_t = p.weight_hr.T if p.weight_hr is not None else None
    w_hh_t = p.weight_hh.T
    h2, h3 = 2 * hidden, 3 * hidden
    h_prev, c_prev = h0, c0
    for t in range(steps):
        a_t, act_t = a[t], act[t]
        a_t += h_prev @ w_hh_t
        sigmoid(a_t[:h2], out=act_t[:h2])  # i, f
        if hold_forget:
            act_t[hidden:h2] = 1.0
        np.tanh(a_t[h2:h3], out=act_t[h2:h3])  # g
        sigmoid(a_t[h3:], out=act_t[h3:])  # o
        c_t = np.multiply(act_t[hidden:h2], c_prev, out=c[t])
        c_t += act_t[:hidden] * act_t[h2:h3]
        np.tanh(c_t, out=tanh_c[t])
        np.multiply(act_t[h3:], tanh_c[t], out=m[t])
        if w_hr_t is not None:
            np.dot(m[t], w_hr_t, out=h[t])
        h_prev, c_prev = h[t], c_t
    i, f, g, o = _blocks(act, hidden)
    out = {"x": x, "a": a, "i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": tanh_c, "h": h}
    if w_hr_t is not None:
        out["m"] = m
    return out


def backward(p: LayerParams, tr: Arrays, h0: np.ndarray, c0: np.ndarray, dh_above: np.ndarray) -> Arrays:
    """Gradients of the loss, given dL/dh_t arriving from the layer above (or the loss).

    Returns the total gradient for every forward array, the split of dh and dc by where
    it came from, dL/dh0, dL/dc0 and the parameter gradients summed over time.
    """
    x, i, f, g, o, c, tanh_c, h = (tr[k] for k in ("x", "i", "f", "g", "o", "c", "tanh_c", "h"))
    steps, hidden = c.shape
    width = h.shape[1]  # P with a projection, else H
    w_hr = p.weight_hr
    c_prev = np.vstack([c0[None, :], c[:-1]])
    h_prev = np.vstack([h0[None, :], h[:-1]])

    # Everything but dh and dc is local to a step, so the factors that turn (dc, dh) into
    # dL/da are computed for all steps at once; the loop does only what must be serial.
    da_per_dc = np.concatenate([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], axis=1)
    da_o_per_dh = tanh_c * o * (1 - o)
    dc_per_dh = o * (1 - tanh_c * tanh_c)

    dh = np.empty((steps, width))
    # dL/dm: with a projection dh_t goes back through W_hr first; without, m is h.
    dm = np.empty((steps, hidden)) if w_hr is not None else dh
    dc = np.empty((steps, hidden))
    da = np.empty((steps, 4 * hidden))
    h_from_next = np.zeros((steps, width))
    c_from_next = np.zeros((steps, hidden))
    dh0 = np.empty(width)
    dc0 = np.empty(hidden)
    w_hh = p.weight_hh
    h3 = 3 * hidden
    for t in range(steps - 1, -1, -1):
        dh_t = np.add(dh_above[t], h_from_next[t], out=dh[t])
        dm_t = np.dot(dh_t, w_hr, out=dm[t]) if w_hr is not None else dh_t
        dc_t = np.multiply(dm_t, dc_per_dh[t], out=dc[t])
        dc_t += c_from_next[t]
        da_t = da[t]
        np.multiply(da_per_dc[t].reshape(3, hidden), dc_t, out=da_t[:h3].reshape(3, hidden))
        np.multiply(da_o_per_dh[t], dm_t, out=da_t[h3:])
        # What flows to step t-1 (or to the initial state at t = 0).
        np.dot(da_t, w_hh, out=h_from_next[t - 1] if t else dh0)
        np.multiply(dc_t, f[t], out=c_from_next[t - 1] if t else dc0)

    grads = {
        "x": da @ p.weight_ih,
        "a": da,
        "i": dc * g,
        "f": dc * c_prev,
        "g": dc * i,
        "o": dm * tanh_c,
        "c": dc,
        "tanh_c": dm * o,
        "h": dh,
        "h_from_above": dh_above,
        "h_from_next": h_from_next,
        "c_from_next": c_from_next,
        "h0": dh0,
        "c0": dc0,
        "weight_ih": da.T @ x,
        "weight_hh": da.T @ h_prev,
    }
    if p.bias_ih is not None:
        grads["bias_ih"] = da.sum(axis=0)
        grads["bias_hh"] = grads["bias_ih"].copy()
    if w_hr is not None:
        grads["m"] = dm
        grads["weight_hr"] = dh.T @ tr["m"]
    return grads
