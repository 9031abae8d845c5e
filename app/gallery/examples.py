"""One example sequence per gallery task, as a complete request body for /api/forward and
/api/backward (the model's own `model_id` added by the caller): a sequence the model never
trained on and no measure reads (training draws seeds below 2**31, the measures
2**31 .. 2**31 + 10**6 + 999)."""

from __future__ import annotations

import numpy as np

from ..nn import tasks as registry
from . import tasks as G
from .measures import code_features

SEED = 2**31 + 2 * 10**6
CODE_EXAMPLE = 'def greet(name):\n    """Say hello."""\n    return "hello " + name  # a string\n'


def _rows(arr: np.ndarray) -> list:
    if arr.ndim == 2:
        return [[None if np.isnan(v) else float(v) for v in row] for row in arr]
    return [None if v == -1 else int(v) for v in arr]


def example(entry: dict) -> dict:
    task, steps = entry["task"], entry["sequence_steps"]
    if task == "adding":
        x, y = registry.adding(steps, SEED)
        return {"inputs": _rows(x), "loss": {"kind": "mse", "targets": _rows(y)}}
    if task == "temporal_order":
        x, y = registry.temporal_order(steps, SEED)
        return {"inputs": _rows(x), "loss": {"kind": "cross_entropy", "targets": _rows(y), "num_classes": 4}}
    if task == "copy":
        x, y = registry.copy((steps - entry["delay"]) // 2, entry["delay"], registry.COPY_SYMBOLS, SEED)
        return {"inputs": _rows(x), "loss": {"kind": "cross_entropy", "targets": _rows(y), "num_classes": 4}}
    if task == "dyck":
        d = G.dyck(steps + 1, SEED)  # text: its last symbol is only ever a target
        return {"text": d.text, "loss": {"kind": "mse", "targets": _rows(d.targets[:-1])}}
    if task == "reber":
        r = G.reber(SEED)
        n = len(r.text)
        return {"text": r.text, "loss": {"kind": "mse", "targets": _rows(r.targets[: n - 1])}}
    if task == "code":
        return {"text": CODE_EXAMPLE}
    raise ValueError(f"no example for task {task!r}")


def example_features(entry: dict) -> dict[str, list[float]]:
    """What the watched units track, per step of the example (the code model's units: inside a
    string, leading spaces, column, indentation), computed by the measures' own scanner so the
    page's guided path compares a unit with the same feature the tests do."""
    tracks = [w["tracks"] for w in entry.get("watch", []) if w.get("tracks")]
    if entry["task"] != "code" or not tracks:
        return {}
    features = code_features(CODE_EXAMPLE)
    return {name: features[name].tolist() for name in tracks if name in features}
