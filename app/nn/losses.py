"""Losses on the top layer: an upstream gradient, or a linear head with MSE / cross-entropy.

Each returns (loss value, dL/d its input).  Targets may leave steps out (NaN for MSE, -1 for
cross-entropy): the mean runs over the targets that are present, so a task that is scored
only at its last step (the adding problem) uses the same loss as one scored everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOSS_KINDS = ("dh", "mse", "cross_entropy")
NO_CLASS = -1  # cross-entropy target meaning "this step is not scored"


@dataclass(frozen=True)
class Loss:
    kind: str
    dh: np.ndarray | None = None  # (T, H) for kind "dh"
    targets: np.ndarray | None = None  # (T, O) float with NaN gaps, or (T,) int with NO_CLASS
    num_classes: int | None = None

    @property
    def uses_head(self) -> bool:
        return self.kind != "dh"


def upstream(h: np.ndarray, dh: np.ndarray) -> tuple[float, np.ndarray]:
    """L = sum_t <dh_t, h_t>: its gradient by h is dh itself."""
    return float(np.sum(dh * h)), dh


def mse(y: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    present = ~np.isnan(targets)
    count = int(present.sum())
    diff = np.where(present, y - np.where(present, targets, 0.0), 0.0)
    return float(np.sum(diff * diff) / count), diff * (2.0 / count)


def log_softmax(y: np.ndarray) -> np.ndarray:
    shifted = y - y.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(y: np.ndarray) -> np.ndarray:
    """Probabilities over each row, computed as cross_entropy computes them."""
    return np.exp(log_softmax(y))


def cross_entropy(y: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean over scored steps of -log softmax(y_t)[target_t]; returns (loss, dy, probs)."""
    logp = log_softmax(y)
    probs = np.exp(logp)
    scored = np.flatnonzero(targets != NO_CLASS)
    count = scored.size
    loss = -float(logp[scored, targets[scored]].sum()) / count
    dy = np.zeros_like(y)
    dy[scored] = probs[scored]
    dy[scored, targets[scored]] -= 1.0
    dy /= count
    return loss, dy, probs
