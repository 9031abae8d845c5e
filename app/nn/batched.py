"""B sequences at once, forward and backward (BPTT): the engine training runs on.

`stack.run` takes one sequence and records every intermediate for the page.  Training needs
only the loss and the parameters' gradients, so here a batch of equal-length sequences goes
through together: each step of a layer is one (rows x D+1+H) @ (D+1+H x B) product (input,
bias and recurrent parts at once) instead of B vector products, and only what the backward
pass reads is kept, in arrays filled in place.

The maths is the trace engine's (`lstm.py`, `gru.py`, `rnn.py`, `losses.py`): each sequence's
loss is the mean over its own scored elements, as `stack.run` computes it for that sequence
alone, and the batch's loss is the mean of those; the gradients are those of that mean, so
they are the average of the per-sequence gradients `stack.run` gives, to rounding.

Layout: every per-step array is (T, features, B), so one step of one gate block is a
contiguous (H, B) matrix.  A layer's `z` holds, for each step, [x_t; 1; h_{t-1}], what its
product reads (row T's state part is the last state), so its weights' gradients, biases
included, are one sum over steps of (rows x B) @ (B x D+1+H) products.  The forward pass
leaves, in place of each step's gates, the factors that turn that step's dL/dh (and an
LSTM's dL/dc) into dL/d its pre-activations, and the backward pass turns them into those
gradients in place.  Inside, an LSTM's blocks are in the order g, i, f, o (the three
sigmoids side by side), and a sigmoid block's weights are negated so the products give -a
and sigmoid(a) = 1 / (1 + exp(-a)) needs no negation (negation is exact: the numbers are the
same); gradients come back in PyTorch's order and signs.

A batch whose arrays would pass `budget_bytes` runs in equal chunks, their gradients summed.
A `Workspace` keeps the arrays from one call to the next (a training run's batches all have
the same sizes), so their memory is not asked of the system at every step.  The per-step
products are small: numpy's OpenBLAS runs them on one thread (`single_blas_thread`), since
waking a second one costs more than it saves and, on a busy machine, many times more.

One direction, no projection: a bidirectional or projected stack is refused (ValueError).
"""

from __future__ import annotations

import ctypes
import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .losses import NO_CLASS, Loss
from .params import LayerParams
from .spec import EMBEDDING, HEAD_PARAMS, param_name

if TYPE_CHECKING:
    from .stack import Model

Arrays = dict[str, np.ndarray]
StopHook = Callable[[], None]  # as stack.run's: polled between layer passes, raises to abandon the run

BUDGET_BYTES = 64 << 20  # the arrays one chunk of a batch may hold
# PyTorch's LSTM blocks i, f, g, o -> the internal order g, i, f, o, and back.
_LSTM_IN = (2, 0, 1, 3)
_LSTM_OUT = (1, 2, 0, 3)
_BLOCKS_KEPT = {"lstm": 6, "gru": 5, "rnn": 1}  # (T, H, B) blocks a layer keeps for the backward pass


@dataclass
class Result:
    loss: float  # the mean over the batch of each sequence's loss
    losses: np.ndarray  # (B,) each sequence's loss, as stack.run gives it for that sequence
    # d(loss)/d every parameter by its PyTorch name (the head's and the whole embedding table's
    # too); None for a forward-only run.
    grads: Arrays | None


class Workspace:
    """Arrays reused from one call to the next; one per thread of work (a training run)."""

    def __init__(self) -> None:
        self._flat: dict[object, np.ndarray] = {}

    def get(self, key: object, shape: tuple[int, ...]) -> np.ndarray:
        """A C-contiguous float64 array of this shape, its contents undefined."""
        need = math.prod(shape)
        flat = self._flat.get(key)
        if flat is None or flat.size < need:
            flat = self._flat[key] = np.empty(need)
        return flat[:need].reshape(shape)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._flat.values())


# --- one BLAS thread --------------------------------------------------------------------


def _find_openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """get / set of the thread count of the OpenBLAS numpy loaded (as threadpoolctl finds it:
    the library mapped into this process), or None when there is none to be found."""
    try:
        with open("/proc/self/maps") as f:
            paths = {
                line.split(None, 5)[5].strip() for line in f if "openblas" in line.lower() and line.count(" ") >= 5
            }
    except (OSError, IndexError):
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    put.argtypes = [ctypes.c_int]
                    return get, put
    return None


_blas = _find_openblas()
_blas_lock = threading.Lock()
_blas_users = 0
_blas_before = 1


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """OpenBLAS on one thread while any caller is inside (process-wide: the setting is global;
    the count it had is restored when the last caller leaves).  A no-op without OpenBLAS."""
    global _blas_users, _blas_before
    if _blas is None:
        yield
        return
    get, put = _blas
    with _blas_lock:
        if _blas_users == 0:
            _blas_before = get()
            put(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                put(_blas_before)


# --- parameters -------------------------------------------------------------------------


def _blocks(rows: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """The array's blocks of rows (along axis 0) in the given order."""
    hidden = rows.shape[0] // len(order)
    return np.concatenate([rows[k * hidden : (k + 1) * hidden] for k in order])


def _outer_sum(a: np.ndarray, b: np.ndarray, ws: Workspace) -> np.ndarray:
    """sum over t of a[t] @ b[t].T: (T, m, B) and (T, n, B) -> (m, n), a sum over steps and sequences.

    Small: all steps' products in one call, then their sum; middling: one product per step,
    added up; large: both rearranged as (rows, T*B) for one product (what is quickest here).
    """
    steps, m, batch = a.shape
    n = b.shape[1]
    if steps * m * n <= 1 << 17:
        return np.matmul(a, b.transpose(0, 2, 1), out=ws.get("outer", (steps, m, n))).sum(axis=0)
    if m * n < 32768:
        out = np.matmul(a[0], b[0].T)
        part = np.empty_like(out)
        for t in range(1, steps):
            out += np.matmul(a[t], b[t].T, out=part)
        return out
    a2 = ws.get("outer_a", (m, steps, batch))
    np.copyto(a2, a.transpose(1, 0, 2))
    b2 = ws.get("outer_b", (n, steps, batch))
    np.copyto(b2, b.transpose(1, 0, 2))
    return a2.reshape(m, steps * batch) @ b2.reshape(n, steps * batch).T


@dataclass
class _Layer:
    """One layer's parameters as the loops use them, and what its forward pass keeps for BPTT.

    `z` (T+1, D+1+H, B) holds, for step t, [x_t; 1; h_{t-1}]: its input, a one (the biases
    are the weights' middle column) and the state it reads; row T's h part is the last state.
    So one product per step gives every pre-activation, and one per step (summed) every
    weight's gradient, biases included.
    """

    cell: str
    inputs: int  # D
    hidden: int
    w_ih: np.ndarray  # (blocks*H, D), internal block order: for dL/dx
    w_hh: np.ndarray  # (blocks*H, H), internal order (a GRU's: n, r, z): for dL/dh_{t-1}
    # The step's product: (rows, D+1+H) @ [x_t; 1; h_{t-1}], the sigmoid blocks' rows negated.
    # LSTM (4H rows: g, i, f, o), RNN (H); GRU (4H: W_hn h + b_hn, a_r, a_z, W_in x + b_in).
    w_fwd: np.ndarray
    bias: bool
    z: np.ndarray | None = None
    # (T, blocks*H, B): what the backward pass reads of each step, H rows a block, side by side:
    # LSTM g | i | f | o | o (1 - tanh² c) | f; GRU n(hp) | r | z | n(xp) | z; RNN its one block.
    factors: np.ndarray | None = None

    @property
    def h(self) -> np.ndarray:
        """(T+1, H, B): the states, row 0 the initial one."""
        return self.z[:, self.inputs + 1 :]


def _layer(cell: str, p: LayerParams) -> _Layer:
    hidden, inputs = p.hidden_size, p.input_size
    rows = p.weight_ih.shape[0]
    bias_ih = np.zeros(rows) if p.bias_ih is None else p.bias_ih
    bias_hh = np.zeros(rows) if p.bias_hh is None else p.bias_hh
    has_bias = p.bias_ih is not None
    if cell == "gru":
        # n's recurrent part is kept apart (r multiplies it, bias included), and so is its input part.
        r_z, n = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
        w = np.zeros((4 * hidden, inputs + 1 + hidden))
        w[:hidden, inputs] = bias_hh[n]
        w[:hidden, inputs + 1 :] = p.weight_hh[n]
        w[hidden : 3 * hidden, :inputs] = -p.weight_ih[r_z]
        w[hidden : 3 * hidden, inputs] = -(bias_ih[r_z] + bias_hh[r_z])
        w[hidden : 3 * hidden, inputs + 1 :] = -p.weight_hh[r_z]
        w[3 * hidden :, :inputs] = p.weight_ih[n]
        w[3 * hidden :, inputs] = bias_ih[n]
        return _Layer(cell, inputs, hidden, p.weight_ih, _blocks(p.weight_hh, (2, 0, 1)), w, has_bias)
    w_ih, w_hh, bias = p.weight_ih, p.weight_hh, bias_ih + bias_hh
    if cell == "lstm":
        w_ih, w_hh, bias = (_blocks(a, _LSTM_IN) for a in (w_ih, w_hh, bias))
    w = np.concatenate([w_ih, bias[:, None], w_hh], axis=1)
    if cell == "lstm":
        w[hidden:] *= -1.0  # i, f, o
    return _Layer(cell, inputs, hidden, w_ih, w_hh, w, has_bias)


# --- forward ----------------------------------------------------------------------------


def _sigmoid_of_negated(na: np.ndarray) -> None:
    """sigmoid(a) in place of na = -a: 1 / (1 + exp(-a)), activations.sigmoid's formula."""
    np.exp(na, out=na)
    na += 1.0
    np.reciprocal(na, out=na)


def _lstm_forward(L: _Layer, c0: np.ndarray, hold_forget: bool, ws: Workspace, key: int) -> None:
    z, hidden = L.z, L.hidden
    steps, batch = z.shape[0] - 1, z.shape[2]
    # Per step: the pre-activations -> gates -> factors (g, i, f, o), then dL/dc per dL/dh
    # through h = o tanh c, and f (dc_{t-1} = f dc_t): what the backward pass reads, together.
    a_all = ws.get(("a", key), (steps, 6 * hidden, batch))
    rows = 4 * hidden
    # Side by side, so that pairs of products are one call each: tanh c | g | c (c_{t-1}, then c_t).
    tgc = np.empty((3, hidden, batch))
    tgc[2] = c0
    tanh_c, g, c = tgc
    prods = np.empty((2, hidden, batch))  # i g | f c_{t-1}
    one_minus = np.empty((3, hidden, batch))  # 1 - i | 1 - f | 1 - o
    squares, g_c, h = tgc[:2], tgc[1:], L.h
    w = L.w_fwd
    blocks = a_all.reshape(steps, 6, hidden, batch)
    # Every step's views made at once (cheaper than indexing in the loop).
    per_block = blocks.transpose(1, 0, 2, 3)  # g, i, f, o, dc per dh, f: (T, H, B) each
    views = zip(
        a_all[:, :rows], z[:-1], h[1:], per_block[0], blocks[:, 1:4], blocks[:, 1:3], *per_block[1:], strict=True
    )
    for pre, x_t, h_t, g_slot, ifo, if_slots, i, f, o, fc, f_kept in views:
        np.matmul(w, x_t, out=pre)
        np.tanh(g_slot, out=g)
        _sigmoid_of_negated(ifo)  # i, f, o
        if hold_forget:
            f.fill(1.0)
        np.multiply(if_slots, g_c, out=prods)
        np.add(prods[0], prods[1], out=c)  # c_t = i g + f c_{t-1}
        np.tanh(c, out=tanh_c)
        np.multiply(o, tanh_c, out=h_t)
        np.copyto(f_kept, f)
        # The factors in place of the gates, as lstm.backward's da_per_dc and da_o_per_dh, and
        # dc_per_dh: da_g = dc i (1 - g²), da_i = dc g i (1 - i), da_f = dc c_{t-1} f (1 - f),
        # da_o = dh tanh(c) o (1 - o); dc = dh o (1 - tanh² c) + what step t+1 sends back.
        np.subtract(1.0, ifo, out=one_minus)
        np.multiply(squares, squares, out=squares)
        np.subtract(1.0, squares, out=squares)  # 1 - tanh² c, 1 - g²
        np.multiply(tanh_c, o, out=fc)
        np.multiply(g, i, out=g_slot)
        np.multiply(prods, one_minus[:2], out=if_slots)
        np.multiply(h_t, one_minus[2], out=o)
    L.factors = a_all


def _gru_forward(L: _Layer, ws: Workspace, key: int) -> None:
    z_all, hidden = L.z, L.hidden
    steps, batch = z_all.shape[0] - 1, z_all.shape[2]
    # Per step: [hn | -a_r | -a_z | xn] -> the factors, then z (dh_{t-1} gets z dh_t directly).
    a_all = ws.get(("a", key), (steps, 5 * hidden, batch))
    rows = 4 * hidden
    products = np.empty((2, hidden, batch))  # r hn | (h_prev - n) z, side by side as r | z
    rhn, diff = products
    one_minus = np.empty((2, hidden, batch))  # 1 - r | 1 - z
    w, h = L.w_fwd, L.h
    for t in range(steps):
        step = a_all[t].reshape(5, hidden, batch)
        np.matmul(w, z_all[t], out=a_all[t, :rows])
        a = step[:4]
        h_prev, h_t = h[t], h[t + 1]
        _sigmoid_of_negated(a[1:3])
        hn, r, z, n = a
        n += np.multiply(r, hn, out=rhn)
        np.tanh(n, out=n)
        # (1 - z) n + z h_prev, written as n + z (h_prev - n), as gru.forward does.
        np.subtract(h_prev, n, out=diff)
        diff *= z
        np.add(diff, n, out=h_t)
        np.copyto(step[4], z)
        np.subtract(1.0, a[1:3], out=one_minus)
        # The factors, per unit of dh, as gru.backward's: dL/da_n (x side) = (1 - z)(1 - n²) = dan,
        # and dL/d(W_hh h + b_hh) of n (through r *: dan r), of r (dan hn r (1 - r)), of z ((h_prev - n) z (1 - z)).
        dan = np.multiply(n, n, out=n)
        np.subtract(1.0, dan, out=dan)
        dan *= one_minus[1]
        np.multiply(dan, r, out=hn)
        np.multiply(products, one_minus, out=a[1:3])
        r *= dan
    L.factors = a_all


def _rnn_forward(L: _Layer, nonlinearity: str, ws: Workspace, key: int) -> None:
    z = L.z
    a_all = ws.get(("a", key), (z.shape[0] - 1, L.hidden, z.shape[2]))  # -> dL/da per dL/dh
    w, h = L.w_fwd, L.h
    tanh = nonlinearity == "tanh"
    for t in range(a_all.shape[0]):
        a = np.matmul(w, z[t], out=a_all[t])
        if tanh:
            np.tanh(a, out=h[t + 1])
        else:
            np.maximum(a, 0.0, out=h[t + 1])
    if tanh:
        np.multiply(h[1:], h[1:], out=a_all)
        np.subtract(1.0, a_all, out=a_all)  # tanh' = 1 - tanh²
    else:
        np.greater(a_all, 0.0, out=a_all)  # relu' = 1 where a > 0, 0 elsewhere (a = 0 too, as in PyTorch)
    L.factors = a_all


# --- backward ---------------------------------------------------------------------------
# Each takes dL/dh arriving from above, (T, H, B), and adds into it in place what comes back
# from the next step, so it ends holding each step's total dL/dh; the factors become dL/d the
# pre-activations.


def _lstm_backward(L: _Layer, dh_above: np.ndarray) -> None:
    steps, _, batch = L.factors.shape
    hidden = L.hidden
    h_next = np.zeros((hidden, batch))  # dL/dh_t through step t+1
    c_next = np.zeros((hidden, batch))
    w_hh_t = L.w_hh.T
    blocks = L.factors.reshape(steps, 6, hidden, batch)
    views = zip(
        dh_above, L.factors[:, : 4 * hidden], blocks[:, :3], blocks[:, 3:5], blocks[:, 4], blocks[:, 5], strict=True
    )
    for t, (dh, da, by_dc, by_dh, dc, f) in reversed(list(enumerate(views))):
        dh += h_next
        np.multiply(by_dh, dh, out=by_dh)  # da_o, and dL/dc through h
        dc += c_next
        np.multiply(by_dc, dc, out=by_dc)  # da_g, da_i, da_f
        if t:
            np.matmul(w_hh_t, da, out=h_next)
            np.multiply(dc, f, out=c_next)


def _gru_backward(L: _Layer, dh_above: np.ndarray) -> None:
    """Factors -> dL/d(W_hh h + b_hh) (rows n, r, z) and dL/d(W_ih x + b_ih) (rows r, z, n), overlapping."""
    steps, _, batch = L.factors.shape
    hidden = L.hidden
    h_next = np.zeros((hidden, batch))
    w_hh_t = L.w_hh.T
    blocks = L.factors.reshape(steps, 5, hidden, batch)
    views = zip(dh_above, L.factors[:, : 3 * hidden], blocks, blocks[:, 4], strict=True)
    for t, (dh, dhp, step, through_z) in reversed(list(enumerate(views))):
        dh += h_next
        step *= dh  # the four gradients, and z dh: what reaches h_{t-1} directly
        if t:
            np.matmul(w_hh_t, dhp, out=h_next)
            h_next += through_z


def _rnn_backward(L: _Layer, dh_above: np.ndarray) -> None:
    da = L.factors
    h_next = np.zeros(da.shape[1:])
    w_hh_t = L.w_hh.T
    for t in range(da.shape[0] - 1, -1, -1):
        dh = dh_above[t]
        dh += h_next
        da_t = da[t]
        da_t *= dh
        if t:
            np.matmul(w_hh_t, da_t, out=h_next)


def _layer_grads(L: _Layer, ws: Workspace) -> tuple[Arrays, np.ndarray]:
    """The layer's parameter gradients by kind (PyTorch's order), and dL/d(W_ih x + b_ih)."""
    d, hidden = L.inputs, L.hidden
    if L.cell == "gru":
        nrz, rzn = L.factors[:, : 3 * hidden], L.factors[:, hidden : 4 * hidden]
        g_in = _outer_sum(rzn, L.z[:-1, : d + 1], ws)  # [W_ih | b_ih], rows r, z, n
        g_rec = _blocks(_outer_sum(nrz, L.z[:-1, d:], ws), (1, 2, 0))  # [b_hh | W_hh] -> rows r, z, n
        named = {"weight_ih": g_in[:, :d], "weight_hh": g_rec[:, 1:], "bias_ih": g_in[:, d], "bias_hh": g_rec[:, 0]}
        dxp = rzn
    else:
        da = L.factors[:, : 4 * hidden] if L.cell == "lstm" else L.factors
        g = _outer_sum(da, L.z[:-1], ws)  # [W_ih | b | W_hh]
        if L.cell == "lstm":
            g = _blocks(g, _LSTM_OUT)
        named = {"weight_ih": g[:, :d], "weight_hh": g[:, d + 1 :], "bias_ih": g[:, d], "bias_hh": g[:, d]}
        dxp = da
    if not L.bias:
        del named["bias_ih"], named["bias_hh"]
    return {k: np.array(v) for k, v in named.items()}, dxp


# --- the loss ---------------------------------------------------------------------------


def _stacked(xs: Sequence[np.ndarray], what: str, dtype, axis: int, out: np.ndarray | None = None) -> np.ndarray:
    """Per-sequence arrays (T, ...) side by side along `axis` (1 or 2)."""
    arrays = [np.asarray(x) for x in xs]
    lengths = {len(a) if a.ndim else None for a in arrays}
    if len(lengths) != 1:
        raise ValueError(
            f"the batched engine needs sequences of one length; the {what} have lengths {sorted(lengths, key=str)}"
        )
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"the {what} differ in shape: {sorted(shapes)}")
    axis = min(axis, arrays[0].ndim)
    if out is None:
        return np.stack(arrays, axis=axis, dtype=dtype)
    return np.stack(arrays, axis=axis, out=out)  # a shape that does not fit is refused (ValueError)


def _loss(top: np.ndarray, model: Model, losses: Sequence[Loss], scale: float, backward: bool, ws: Workspace):
    """Each sequence's loss (B,); with `backward`, `scale` times the gradient of their sum: dL/d
    the top layer's h (T, H, B) and the head's gradients."""
    steps, hidden, batch = top.shape
    kind = losses[0].kind
    head = model.head
    if kind == "dh":  # L = sum_t <dh_t, h_t> per sequence
        dh = _stacked([lo.dh for lo in losses], "dh arrays", np.float64, axis=2, out=ws.get("dh", top.shape))
        per_seq = np.einsum("thb,thb->b", dh, top)
        if backward:
            dh *= scale
        return per_seq, dh, {}
    outputs = head.weight.shape[0]
    y = np.matmul(head.weight, top, out=ws.get("y", (steps, outputs, batch)))
    y += head.bias[:, None]
    if kind == "mse":
        targets = _stacked([lo.targets for lo in losses], "targets", np.float64, axis=2)
        if targets.shape != y.shape:
            raise ValueError(f"targets are {targets.shape[:2]} per sequence; the head gives {y.shape[:2]}")
        present = ~np.isnan(targets)
        count = present.sum(axis=(0, 1))
        dy = np.subtract(y, targets, out=y, where=present)
        np.copyto(dy, 0.0, where=~present)
        total = np.einsum("tob,tob->b", dy, dy)
        factor = 2.0
    else:
        targets = _stacked([lo.targets for lo in losses], "targets", np.int64, axis=1)
        if targets.shape != (steps, batch):
            raise ValueError("cross-entropy targets are one class id per step")
        scored = targets != NO_CLASS
        count = scored.sum(axis=0)
        # losses.log_softmax, per step and sequence (axis 1: the classes)
        y -= y.max(axis=1, keepdims=True)
        lse = np.log(np.exp(y, out=ws.get("e", y.shape)).sum(axis=1, keepdims=True))
        logp = np.subtract(y, lse, out=y)
        tt, bb = np.nonzero(scored)
        cls = targets[tt, bb]
        picked = np.zeros((steps, batch))
        picked[tt, bb] = logp[tt, cls, bb]
        total = -picked.sum(axis=0)
        dy, factor = logp, 1.0
        if backward:
            np.exp(logp, out=dy)  # the probabilities
            dy[tt, cls, bb] -= 1.0
            np.copyto(dy, 0.0, where=~scored[:, None, :])
    if np.any(count == 0):
        empty = np.flatnonzero(count == 0).tolist()
        raise ValueError(f"sequences {empty} have no scored targets: their loss would be a mean over nothing")
    per_seq = total / count
    if not backward:
        return per_seq, None, {}
    # d(scale * the sum of each sequence's mean)/dy: each sequence's by factor / its count.
    dy *= factor * scale / count
    head_grads = {HEAD_PARAMS[0]: _outer_sum(dy, top, ws), HEAD_PARAMS[1]: dy.sum(axis=(0, 2))}
    dh = np.matmul(head.weight.T, dy, out=ws.get("dh", (steps, hidden, batch)))
    return per_seq, dh, head_grads


# --- the whole stack --------------------------------------------------------------------


def check(model: Model) -> None:
    """Refuse what the batched engine does not compute (ValueError, naming it)."""
    if model.directions != 1:
        raise ValueError("the batched engine runs one direction; a bidirectional stack runs in stack.run")
    if any(p.weight_hr is not None for p in model.layers):
        raise ValueError("the batched engine has no LSTM projection (proj_size); such a stack runs in stack.run")
    if model.cell not in _BLOCKS_KEPT:
        raise ValueError(f"unknown cell {model.cell!r}")
    if model.cell == "rnn" and model.nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"unknown nonlinearity {model.nonlinearity!r}")


def bytes_per_sequence(model: Model, steps: int) -> int:
    """What one sequence of `steps` adds to the arrays a call holds (the chunking's measure)."""
    hidden, cell = model.hidden_size, model.cell
    factors = _BLOCKS_KEPT[cell] * hidden
    widths = [model.layers[0].input_size] + [hidden] * (model.num_layers - 1)
    per_step = sum(2 * d + 1 + hidden + factors for d in widths)  # z, dL/dx, factors
    outputs = 0 if model.head is None else model.head.weight.shape[0]
    per_step += 2 * outputs + hidden  # the head's outputs, their exp, dL/dh at the top
    per_step += 0 if model.embedding is None else widths[0]  # the rows looked up
    per_step += factors + max(widths) + 1 + hidden  # a large product's rearranged operands
    return 8 * (steps + 1) * per_step


def run(
    model: Model,
    xs: Sequence[np.ndarray],
    losses: Sequence[Loss],
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    backward: bool = True,
    stop: StopHook | None = None,
    workspace: Workspace | None = None,
    budget_bytes: int = BUDGET_BYTES,
) -> Result:
    """Forward over B equal-length sequences, each one's loss, and (optionally) BPTT.

    `model` is a `stack.Model` (one direction, no projection).  `xs` holds B arrays of T x D
    numbers, or with an embedding B arrays of T token ids; `losses` one `Loss` per sequence,
    all of one kind.  `h0` / `c0`: (layers, B, H), zeros when left out.  `stop` is polled
    before each layer's pass either way; whatever it raises ends the run.
    """
    check(model)
    batch = len(xs)
    if batch == 0:
        raise ValueError("an empty batch has no mean loss")
    if len(losses) != batch:
        raise ValueError(f"{batch} sequences but {len(losses)} losses")
    kinds = {lo.kind for lo in losses}
    if len(kinds) != 1:
        raise ValueError(f"one kind of loss for the whole batch, please: got {sorted(kinds)}")
    if kinds != {"dh"} and model.head is None:
        raise ValueError(f"a {kinds.pop()} loss reads the head, and the model has none")
    steps = len(xs[0])
    if steps == 0 or any(len(x) != steps for x in xs):
        lengths = sorted({len(x) for x in xs})
        raise ValueError(f"the batched engine needs sequences of one length, at least 1; got lengths {lengths}")
    ws = workspace or Workspace()
    size = max(1, min(batch, budget_bytes // max(1, bytes_per_sequence(model, steps))))
    chunks = -(-batch // size)
    bounds = [batch * k // chunks for k in range(chunks + 1)]  # equal chunks, within one
    per_seq: list[np.ndarray] = []
    grads: Arrays | None = None
    with single_blas_thread(), np.errstate(over="ignore"):  # exp(-a) = inf gives sigmoid 0, its limit
        for lo, hi in itertools.pairwise(bounds):
            part = slice(lo, hi)
            chunk_h0 = None if h0 is None else np.asarray(h0, dtype=np.float64)[:, part]
            chunk_c0 = None if c0 is None else np.asarray(c0, dtype=np.float64)[:, part]
            values, g = _run_chunk(model, xs[part], losses[part], chunk_h0, chunk_c0, backward, stop, ws, 1.0 / batch)
            per_seq.append(values)
            if g is not None:
                grads = g if grads is None else {k: grads[k] + v for k, v in g.items()}
    every = np.concatenate(per_seq)
    loss = 0.0
    for value in every.tolist():  # summed in order, as train's loop summed them
        loss += value
    return Result(loss / batch, every, grads)


def _run_chunk(
    model: Model,
    xs: Sequence[np.ndarray],
    losses: Sequence[Loss],
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    backward: bool,
    stop: StopHook | None,
    ws: Workspace,
    scale: float,
) -> tuple[np.ndarray, Arrays | None]:
    """Each sequence's loss and `scale` times the gradient of their sum."""
    batch, steps = len(xs), len(xs[0])
    hidden, cell = model.hidden_size, model.cell
    layers = [_layer(cell, p) for p in model.layers]
    for k, L in enumerate(layers):
        L.z = ws.get(("z", k), (steps + 1, L.inputs + 1 + hidden, batch))
        L.z[:, L.inputs] = 1.0
        L.h[0] = 0.0 if h0 is None else h0[k].T
    width, x = layers[0].inputs, layers[0].z[:-1, : layers[0].inputs]
    ids = None
    if model.embedding is not None:
        ids = _stacked(xs, "token id sequences", np.int64, axis=1)  # (T, B)
        if ids.ndim != 2:
            raise ValueError("with an embedding each sequence is T token ids")
        rows = np.take(model.embedding, ids, axis=0, out=ws.get("rows", (steps, batch, width)))
        np.copyto(x, rows.transpose(0, 2, 1))
    else:
        if any(np.shape(a)[1:] != (width,) for a in xs):
            raise ValueError(f"each sequence must be T x {width} numbers (the model's input size)")
        _stacked(xs, "input sequences", np.float64, axis=2, out=x)

    for k, L in enumerate(layers):
        if stop is not None:
            stop()
        if k:
            below = layers[k - 1]
            np.copyto(L.z[:-1, : L.inputs], below.h[1:])
        if cell == "lstm":
            c_init = np.zeros((hidden, batch)) if c0 is None else np.ascontiguousarray(c0[k].T)
            _lstm_forward(L, c_init, model.hold_forget, ws, k)
        elif cell == "gru":
            _gru_forward(L, ws, k)
        else:
            _rnn_forward(L, model.nonlinearity, ws, k)

    per_seq, dh_above, grads = _loss(layers[-1].h[1:], model, losses, scale, backward, ws)
    if not backward:
        return per_seq, None

    for k in range(len(layers) - 1, -1, -1):
        if stop is not None:
            stop()
        L = layers[k]
        {"lstm": _lstm_backward, "gru": _gru_backward}.get(cell, _rnn_backward)(L, dh_above)
        named, dxp = _layer_grads(L, ws)
        grads |= {param_name(kind, k): g for kind, g in named.items()}
        if k or ids is not None:  # what layer k-1 (or the embedding) receives: (T, D, B)
            dh_above = np.matmul(L.w_ih.T, dxp, out=ws.get(("dx", k), (steps, L.inputs, batch)))
    if ids is not None:
        # Row r of E was read at every step whose id is r: its gradient sums theirs.
        table = np.zeros_like(model.embedding)
        np.add.at(table, ids.reshape(-1), dh_above.transpose(0, 2, 1).reshape(steps * batch, width))
        grads[EMBEDDING] = table
    return per_seq, grads
