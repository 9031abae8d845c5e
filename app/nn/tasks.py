"""Sequences from the literature, as numpy arrays (inputs, targets), made from a seed.

Targets use the loss module's conventions: NaN (MSE) or NO_CLASS (cross-entropy) marks a
step that is not scored.
"""

from __future__ import annotations

import numpy as np

from .losses import NO_CLASS


def sine(steps: int, omega: float = 0.3, phase: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """x_t = sin(omega t + phase); the target is the next value."""
    t = np.arange(steps + 1)
    wave = np.sin(omega * t + phase)
    return wave[:-1, None].copy(), wave[1:, None].copy()


def adding(steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter & Schmidhuber's adding problem.

    Two channels: a value U(0, 1) and a marker that is 1 at two steps (one in each half).
    The target, read at the last step only, is the sum of the two marked values.
    """
    if steps < 2:
        raise ValueError("the adding problem needs at least 2 steps")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, steps)
    half = steps // 2
    marks = [int(rng.integers(0, half)), int(rng.integers(half, steps))]
    x = np.zeros((steps, 2))
    x[:, 0] = values
    x[marks, 1] = 1.0
    targets = np.full((steps, 1), np.nan)
    targets[-1, 0] = values[marks].sum()
    return x, targets


def copy(length: int, delay: int, symbols: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The copy (memory) task: see `length` symbols, wait `delay` steps, then repeat them.

    Channels: one per symbol, then "blank", then "go" (set on the last waiting step).
    Steps: length + delay + length.  Targets: the symbols during the recall phase only.
    """
    rng = np.random.default_rng(seed)
    seq = rng.integers(0, symbols, length)
    steps = 2 * length + delay
    blank, go = symbols, symbols + 1
    x = np.zeros((steps, symbols + 2))
    x[np.arange(length), seq] = 1.0
    x[length:, blank] = 1.0
    x[length + delay - 1, blank] = 0.0
    x[length + delay - 1, go] = 1.0
    targets = np.full(steps, NO_CLASS, dtype=np.int64)
    targets[length + delay :] = seq
    return x, targets


def temporal_order(steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter & Schmidhuber's temporal-order task (2 symbols, 4 classes).

    Noise symbols c, d fill the sequence; X or Y appears once early and once later.  The
    class, read at the last step, is the order: XX, XY, YX or YY.
    Channels: X, Y, c, d.
    """
    if steps < 4:
        raise ValueError("the temporal-order task needs at least 4 steps")
    rng = np.random.default_rng(seed)
    x = np.zeros((steps, 4))
    x[np.arange(steps), rng.integers(2, 4, steps)] = 1.0
    first = int(rng.integers(0, max(1, steps // 3)))
    second = int(rng.integers(max(first + 1, steps // 2), steps))
    a, b = (int(v) for v in rng.integers(0, 2, 2))
    for pos, sym in ((first, a), (second, b)):
        x[pos] = 0.0
        x[pos, sym] = 1.0
    targets = np.full(steps, NO_CLASS, dtype=np.int64)
    targets[-1] = 2 * a + b
    return x, targets
