"""Sequences from the literature, as numpy arrays (inputs, targets), made from a seed, and
the registry of tasks (TASKS) that the presets, the comparison and training all read.

Targets use the loss module's conventions: NaN (MSE) or NO_CLASS (cross-entropy) marks a
step that is not scored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def _sine_task(steps: int, delay: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # Seed 0 is the wave from phase 0 (the preset's); any other seed picks a random phase, so
    # a model trained on many seeds must read the wave rather than memorise one sequence.
    phase = 0.0 if seed == 0 else float(np.random.default_rng(seed).uniform(0, 2 * np.pi))
    return sine(steps, phase=phase)


def _copy_task(steps: int, delay: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # `steps` is the whole sequence: see `length` symbols, wait `delay`, recall `length`.
    return copy(max(1, (steps - delay) // 2), delay, COPY_SYMBOLS, seed)


COPY_SYMBOLS = 4


@dataclass(frozen=True)
class Task:
    """A task from the literature: the one registry presets, comparisons and training read.

    `make(steps, delay, seed)` gives one sequence (inputs, targets); `steps` is its length,
    `delay` matters to the copy task only.  Titles and descriptions are the API's (English);
    the page has its own words for them.
    """

    name: str
    title: str
    describe: Callable[[int, int], str]  # (steps, delay) -> a sentence
    loss_kind: str  # "mse" or "cross_entropy"
    input_size: int
    output_size: int
    make: Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]
    steps: int  # default length
    delay: int = 0  # default delay (copy)
    min_steps: int = 2

    def default_steps(self, delay: int) -> int:
        """The copy task's length follows its delay (4 symbols each side); the others have their own."""
        return 2 * 4 + delay if self.name == "copy" else self.steps


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "sine",
            "Sine wave",
            lambda s, d: f"Predict the next value of a sine wave ({s} steps, mean squared error).",
            "mse",
            1,
            1,
            _sine_task,
            24,
        ),
        Task(
            "adding",
            "Adding problem",
            lambda s, d: f"Two marked values among {s}; the target, read at the last step only, is their sum.",
            "mse",
            2,
            1,
            lambda steps, delay, seed: adding(steps, seed),
            20,
        ),
        Task(
            "copy",
            "Copy task",
            lambda s, d: f"See 4 symbols, wait {d} steps, then repeat them (cross-entropy on the recall steps).",
            "cross_entropy",
            COPY_SYMBOLS + 2,
            COPY_SYMBOLS,
            _copy_task,
            11,
            delay=3,
            min_steps=3,
        ),
        Task(
            "temporal_order",
            "Temporal order",
            lambda s, d: (
                f"X or Y appears twice among noise symbols ({s} steps in all): which came first and which second? "
                "Scored at the last step."
            ),
            "cross_entropy",
            4,
            4,
            lambda steps, delay, seed: temporal_order(steps, seed),
            24,
            min_steps=4,
        ),
    )
}
