"""Engine forward+backward against a minimal numpy LSTM doing the same maths, in one run.

The engine records every intermediate and gradient (what the API returns); the baseline
keeps only what its own backward pass needs.  Both use the same tricks a careful numpy
author would: one matmul for the input projection, one per step for the recurrence,
parameter gradients as matmuls after the loop.  Prints medians and the ratio.

    python -m benchmarks.engine_vs_numpy [--steps 100 --inputs 32 --hidden 128 --rounds 30]
"""

from __future__ import annotations

import argparse

import numpy as np

from app.nn import params as P
from app.nn import stack
from app.nn.losses import Loss
from benchmarks.common import interleaved, machine, median


def sigmoid(v: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


def minimal_lstm(w: dict[str, np.ndarray], x: np.ndarray, dh_top: np.ndarray) -> tuple[np.ndarray, ...]:
    """The least work that yields h, dW_ih, dW_hh, db and dx for one LSTM layer."""
    W_ih, W_hh = w["weight_ih_l0"], w["weight_hh_l0"]
    steps, hidden = x.shape[0], W_hh.shape[1]
    xp = x @ W_ih.T + (w["bias_ih_l0"] + w["bias_hh_l0"])
    h = np.zeros((steps + 1, hidden))
    c = np.zeros((steps + 1, hidden))
    gates = np.empty((steps, 4 * hidden))
    for t in range(steps):
        a = xp[t] + h[t] @ W_hh.T
        gates[t, : 2 * hidden] = sigmoid(a[: 2 * hidden])
        gates[t, 2 * hidden : 3 * hidden] = np.tanh(a[2 * hidden : 3 * hidden])
        gates[t, 3 * hidden :] = sigmoid(a[3 * hidden :])
        i, f, g, o = np.split(gates[t], 4)
        c[t + 1] = f * c[t] + i * g
        h[t + 1] = o * np.tanh(c[t + 1])
    da = np.empty((steps, 4 * hidden))
    dh_next = np.zeros(hidden)
    dc_next = np.zeros(hidden)
    for t in range(steps - 1, -1, -1):
        i, f, g, o = np.split(gates[t], 4)
        tc = np.tanh(c[t + 1])
        dh = dh_top[t] + dh_next
        dc = dc_next + dh * o * (1 - tc * tc)
        da[t] = np.concatenate(
            [dc * g * i * (1 - i), dc * c[t] * f * (1 - f), dc * i * (1 - g * g), dh * tc * o * (1 - o)]
        )
        dh_next = da[t] @ W_hh
        dc_next = dc * f
    return h[1:], da.T @ x, da.T @ h[:-1], da.sum(axis=0), da @ W_ih


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--inputs", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    w = P.init_params("lstm", args.inputs, args.hidden, 1, seed=0)
    x = rng.normal(size=(args.steps, args.inputs))
    dh = rng.normal(size=(args.steps, args.hidden))
    model = stack.Model("lstm", P.layers_from(w, 1))
    loss = Loss("dh", dh=dh)

    # Same maths, same answers: check before timing.
    tr = stack.run(model, x, loss)
    h, dW_ih, dW_hh, db, dx = minimal_lstm(w, x, dh)
    np.testing.assert_allclose(tr.layers[0]["h"], h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tr.grads[0]["weight_ih"], dW_ih, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tr.grads[0]["weight_hh"], dW_hh, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tr.grads[0]["bias_ih"], db, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tr.grads[0]["x"], dx, rtol=1e-10, atol=1e-12)

    times = interleaved(
        {"engine": lambda: stack.run(model, x, loss), "minimal": lambda: minimal_lstm(w, x, dh)},
        rounds=args.rounds,
    )
    engine, minimal = median(times["engine"]), median(times["minimal"])
    print(f"machine: {machine()}")
    print(
        f"LSTM forward+backward, T={args.steps} D={args.inputs} H={args.hidden}, batch 1, float64, {args.rounds} rounds A B A B"
    )
    print(f"engine (records every intermediate): median {engine * 1e3:.2f} ms")
    print(f"minimal numpy loop:                  median {minimal * 1e3:.2f} ms")
    print(f"ratio engine / minimal: {engine / minimal:.2f}")


if __name__ == "__main__":
    main()
