"""GET /api/presets: named, complete request bodies to start from (the page's picker)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel

from ..nn import tasks
from ..nn.losses import NO_CLASS
from .schemas import TraceRequest

router = APIRouter(prefix="/api", tags=["presets"])


class Preset(BaseModel):
    name: str
    title: str
    description: str
    request: TraceRequest


class PresetList(BaseModel):
    default: str
    presets: list[Preset]


def _rows(arr: np.ndarray) -> list[Any]:
    """Plain lists for a request body: 6 significant digits, unscored targets as null."""
    if arr.ndim == 2:
        return [[None if np.isnan(v) else float(f"{v:.6g}") for v in row] for row in arr]
    return [None if v == NO_CLASS else int(v) for v in arr]


def _body(**fields: Any) -> dict[str, Any]:
    base = {"cell": "lstm", "hidden_size": 8, "num_layers": 1, "seed": 0, "forget_bias": 0.0}
    return base | fields


def presets() -> list[Preset]:
    sine_x, sine_y = tasks.sine(24)
    add_x, add_y = tasks.adding(20, seed=1)
    copy_x, copy_y = tasks.copy(length=4, delay=3, symbols=4, seed=2)
    order_x, order_y = tasks.temporal_order(24, seed=3)
    entries = [
        (
            "hello",
            "Text: hello world",
            "Next-character prediction on a short text, one-hot characters, cross-entropy.",
            _body(text="hello world"),
        ),
        (
            "sine",
            "Sine wave",
            "Predict the next value of a sine wave (24 steps, mean squared error).",
            _body(inputs=_rows(sine_x), loss={"kind": "mse", "targets": _rows(sine_y)}),
        ),
        (
            "adding",
            "Adding problem",
            "Two marked values among 20; the target, read at the last step only, is their sum.",
            _body(inputs=_rows(add_x), loss={"kind": "mse", "targets": _rows(add_y)}),
        ),
        (
            "copy",
            "Copy task",
            "See 4 symbols, wait 3 steps, then repeat them (cross-entropy on the recall steps).",
            _body(
                hidden_size=16,
                inputs=_rows(copy_x),
                loss={"kind": "cross_entropy", "targets": _rows(copy_y), "num_classes": 4},
            ),
        ),
        (
            "temporal_order",
            "Temporal order",
            "Which of X and Y came first, and which second? Scored at the last step (4 classes).",
            _body(inputs=_rows(order_x), loss={"kind": "cross_entropy", "targets": _rows(order_y), "num_classes": 4}),
        ),
    ]
    return [Preset(name=n, title=t, description=d, request=TraceRequest.model_validate(b)) for n, t, d, b in entries]


PRESETS = presets()


@router.get("/presets", response_model=PresetList, response_model_exclude_none=True)
def list_presets() -> PresetList:
    """Complete request bodies: POST any `request` as it is to /api/forward or /api/backward."""
    return PresetList(default=PRESETS[0].name, presets=PRESETS)
