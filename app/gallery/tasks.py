"""The gallery's own tasks (balanced parentheses, the embedded Reber grammar, source code) and
every gallery task as the trainer sees it (`train.TaskData`).

These are not in `app/nn/tasks.py`'s registry: that registry's tasks are number sequences the
page offers as presets (each with its own strings on the page), while these read text through
a vocabulary, and the Reber strings vary in length.

Dyck-1 (Suzgun et al. 2019, "LSTM networks can perform dynamic counting"): the input is a
string of "(" and ")" whose nesting depth stays within 0..8 (a random walk: at depth 0 the next
symbol is "(", at depth 8 it is ")", in between "(" with a probability drawn per string).  After
each symbol the model predicts the SET of symbols that may come next, as three outputs read
with a threshold of 0.5 (k-hot targets, mean squared error):

    "("   may open      depth < 8
    ")"   may close     depth > 0
    "end" may stop here depth == 0 (the string read so far is balanced)

A step is right when all three thresholded outputs are; a string when all its steps are.

Embedded Reber grammar (Hochreiter & Schmidhuber 1997, §5.1; Fahlman's graph): B, then T or
P, then a Reber string (B ... E), then the same T or P again, then E.  After each symbol the
model predicts the set of symbols the grammar allows next, as seven outputs (B T P S X V E)
with a threshold of 0.5.  Strings are at most REBER_STEPS symbols long (longer ones are
drawn again) and padded with unscored zero steps to that length, so a batch is one length.

Source code: the project's own `app/**/*.py` files, read at training time, lines of printable
ASCII only (the others are left out), as one text; every CODE_HOLDOUT-th file is held out for
the mechanism's measures.  Next-character prediction (cross-entropy) over CODE_VOCAB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..nn import train as T
from ..nn.losses import Loss

# --- Dyck-1 ------------------------------------------------------------------------------

DYCK_VOCAB = ["(", ")"]
DYCK_LABELS = ["(", ")", "end"]
DYCK_MAX_DEPTH = 8


@dataclass
class Dyck:
    x: np.ndarray  # (T, 2) one-hot
    targets: np.ndarray  # (T, 3) 0/1: may open, may close, balanced
    depth: np.ndarray  # (T,) the depth after each symbol
    text: str


def dyck(steps: int, seed: int, max_depth: int = DYCK_MAX_DEPTH) -> Dyck:
    rng = np.random.default_rng([seed, 16])
    p_open = float(rng.uniform(0.4, 0.7))
    draws = rng.random(steps)
    depth = np.empty(steps, dtype=np.int64)
    ids = np.empty(steps, dtype=np.int64)
    d = 0
    for t in range(steps):
        opens = d == 0 or (d < max_depth and draws[t] < p_open)
        d += 1 if opens else -1
        ids[t] = 0 if opens else 1
        depth[t] = d
    x = np.zeros((steps, 2))
    x[np.arange(steps), ids] = 1.0
    targets = np.stack([depth < max_depth, depth > 0, depth == 0], axis=1).astype(np.float64)
    return Dyck(x, targets, depth, "".join(DYCK_VOCAB[i] for i in ids))


# --- embedded Reber grammar ----------------------------------------------------------------

REBER_VOCAB = ["B", "T", "P", "S", "X", "V", "E"]
REBER_STEPS = 30
# Fahlman's Reber graph: node -> [(symbol, next node)]; node 6 says E and ends.
_REBER = {
    1: [("T", 2), ("P", 3)],
    2: [("S", 2), ("X", 4)],
    3: [("T", 3), ("V", 5)],
    4: [("X", 3), ("S", 6)],
    5: [("P", 4), ("V", 6)],
}


def _reber_inner(rng: np.random.Generator) -> tuple[str, list[set[str]]]:
    """A Reber string and, after each of its symbols, the set the grammar allows next (the
    last one's set is left to the caller: it depends on what embeds the string)."""
    out, allowed, node = ["B"], [{"T", "P"}], 1
    while node != 6:
        symbol, node = _REBER[node][int(rng.integers(0, 2))]
        out.append(symbol)
        allowed.append({"E"} if node == 6 else {s for s, _ in _REBER[node]})
    out.append("E")
    allowed.append(set())
    return "".join(out), allowed


@dataclass
class Reber:
    x: np.ndarray  # (REBER_STEPS, 7) one-hot, zero rows after the string
    targets: np.ndarray  # (REBER_STEPS, 7) 0/1 sets, NaN where unscored
    text: str
    choice: str  # "T" or "P": the symbol the string must repeat before its last E
    inner_end: int  # the step of the inner string's E (where the choice decides the next symbol)


def reber(seed: int, steps: int = REBER_STEPS) -> Reber:
    rng = np.random.default_rng([seed, 17])
    while True:
        choice = "TP"[int(rng.integers(0, 2))]
        inner, inner_allowed = _reber_inner(rng)
        text = "B" + choice + inner + choice + "E"
        if len(text) <= steps:
            break
    allowed = [{"T", "P"}, {"B"}, *inner_allowed[:-1], {choice}, {"E"}, None]
    index = {s: k for k, s in enumerate(REBER_VOCAB)}
    x = np.zeros((steps, len(REBER_VOCAB)))
    targets = np.full((steps, len(REBER_VOCAB)), np.nan)
    for t, symbol in enumerate(text):
        x[t, index[symbol]] = 1.0
        if allowed[t] is not None:
            targets[t] = [float(s in allowed[t]) for s in REBER_VOCAB]
    return Reber(x, targets, text, choice, 2 + len(inner) - 1)


# --- source code ---------------------------------------------------------------------------

CODE_VOCAB = ["\n", *(chr(k) for k in range(32, 127))]
CODE_HOLDOUT = 8  # every 8th file (in path order) is held out of training
APP_DIR = Path(__file__).resolve().parents[1]


def code_files() -> list[Path]:
    return sorted(p for p in APP_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def _ascii_lines(text: str) -> str:
    keep = set(CODE_VOCAB)
    return "".join(line + "\n" for line in text.split("\n") if all(ch in keep for ch in line))


def code_corpus() -> tuple[str, str]:
    """(training text, held-out text) from the project's own source files."""
    train, held = [], []
    for k, path in enumerate(code_files()):
        text = _ascii_lines(path.read_text(encoding="utf-8"))
        (held if k % CODE_HOLDOUT == CODE_HOLDOUT - 1 else train).append(text)
    return "".join(train), "".join(held)


def corpus_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- every gallery task as the trainer sees it ---------------------------------------------


def _sampler(make: Callable[[int], tuple[np.ndarray, Loss]]) -> Callable[[np.random.Generator, int], T.Batch]:
    def sample(rng: np.random.Generator, size: int) -> T.Batch:
        pairs = [make(int(s)) for s in rng.integers(1, 2**31, size)]
        return T.Batch([p[0] for p in pairs], [p[1] for p in pairs])

    return sample


def task_data(task: str, steps: int, delay: int = 0, text: str | None = None) -> T.TaskData:
    """The trainer's view of a gallery task (seed 0 is the probe; training draws seeds from 1)."""
    if task in ("adding", "temporal_order", "copy"):
        return T.make_task(task, steps, delay=delay)
    if task == "dyck":

        def make(seed: int) -> tuple[np.ndarray, Loss]:
            d = dyck(steps, seed)
            return d.x, Loss("mse", targets=d.targets)

        return T.TaskData(2, 3, "mse", _sampler(make), *make(0))
    if task == "reber":

        def make(seed: int) -> tuple[np.ndarray, Loss]:
            r = reber(seed, steps)
            return r.x, Loss("mse", targets=r.targets)

        return T.TaskData(len(REBER_VOCAB), len(REBER_VOCAB), "mse", _sampler(make), *make(0))
    if task == "code":
        index = {ch: k for k, ch in enumerate(CODE_VOCAB)}
        ids = np.array([index[ch] for ch in text], dtype=np.int64)
        eye = np.eye(len(CODE_VOCAB))

        def window(start: int) -> tuple[np.ndarray, Loss]:
            return eye[ids[start : start + steps]], Loss(
                "cross_entropy", targets=ids[start + 1 : start + steps + 1], num_classes=len(CODE_VOCAB)
            )

        def sample(rng: np.random.Generator, size: int) -> T.Batch:
            pairs = [window(int(s)) for s in rng.integers(0, len(ids) - steps - 1, size)]
            return T.Batch([p[0] for p in pairs], [p[1] for p in pairs])

        return T.TaskData(len(CODE_VOCAB), len(CODE_VOCAB), "cross_entropy", sample, *window(0), CODE_VOCAB)
    raise ValueError(f"unknown gallery task {task!r}")
