"""GET /api/presets: named, complete request bodies to start from (the page's picker).

The tasks from the literature take a size: GET /api/presets/adding?steps=100 builds the
adding problem over 100 steps (copy: `delay`; all: `seed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from .. import limits
from ..nn import tasks
from ..nn.losses import NO_CLASS
from .errors import FieldError, error_responses
from .routing import Route
from .schemas import TraceRequest

router = APIRouter(prefix="/api", tags=["presets"], route_class=Route)


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
    return {"cell": "lstm", "hidden_size": 8, "num_layers": 1, "seed": 0, "forget_bias": 0.0} | fields


@dataclass(frozen=True)
class Task:
    title: str
    describe: Callable[[int, int], str]  # (steps, delay) -> description
    make: Callable[[int, int, int], dict[str, Any]]  # (steps, delay, seed) -> request body
    steps: int  # default length
    delay: int = 0  # default delay (copy task)
    min_steps: int = 2


def _hello(steps: int, delay: int, seed: int) -> dict[str, Any]:
    return _body(text="hello world")


def _sine(steps: int, delay: int, seed: int) -> dict[str, Any]:
    x, y = tasks.sine(steps)
    return _body(inputs=_rows(x), loss={"kind": "mse", "targets": _rows(y)})


def _adding(steps: int, delay: int, seed: int) -> dict[str, Any]:
    x, y = tasks.adding(steps, seed)
    return _body(seed=seed, inputs=_rows(x), loss={"kind": "mse", "targets": _rows(y)})


def _copy(steps: int, delay: int, seed: int) -> dict[str, Any]:
    x, y = tasks.copy(length=4, delay=delay, symbols=4, seed=seed)
    loss = {"kind": "cross_entropy", "targets": _rows(y), "num_classes": 4}
    return _body(hidden_size=16, seed=seed, inputs=_rows(x), loss=loss)


def _temporal_order(steps: int, delay: int, seed: int) -> dict[str, Any]:
    x, y = tasks.temporal_order(steps, seed)
    loss = {"kind": "cross_entropy", "targets": _rows(y), "num_classes": 4}
    return _body(seed=seed, inputs=_rows(x), loss=loss)


TASKS: dict[str, Task] = {
    "hello": Task(
        "Text: hello world",
        lambda s, d: "Next-character prediction on a short text: one-hot characters, cross-entropy.",
        _hello,
        10,
    ),
    "sine": Task(
        "Sine wave", lambda s, d: f"Predict the next value of a sine wave ({s} steps, mean squared error).", _sine, 24
    ),
    "adding": Task(
        "Adding problem",
        lambda s, d: f"Two marked values among {s}; the target, read at the last step only, is their sum.",
        _adding,
        20,
    ),
    "copy": Task(
        "Copy task",
        lambda s, d: f"See 4 symbols, wait {d} steps, then repeat them (cross-entropy on the recall steps).",
        _copy,
        11,
        delay=3,
    ),
    "temporal_order": Task(
        "Temporal order",
        lambda s, d: f"Which of X and Y came first and which second, among {s} noise symbols? Scored at the last step.",
        _temporal_order,
        24,
        min_steps=4,
    ),
}
DEFAULT = "hello"


def make_preset(name: str, steps: int | None = None, delay: int | None = None, seed: int = 0) -> Preset:
    task = TASKS[name]
    steps = task.steps if steps is None else steps
    delay = task.delay if delay is None else delay
    body = task.make(steps, delay, seed)
    return Preset(
        name=name, title=task.title, description=task.describe(steps, delay), request=TraceRequest.model_validate(body)
    )


PRESETS = [make_preset(name) for name in TASKS]


@router.get("/presets", response_model=PresetList, response_model_exclude_none=True)
def list_presets() -> PresetList:
    """Complete request bodies: POST any `request` as it is to /api/forward, /api/backward or /api/compare."""
    return PresetList(default=DEFAULT, presets=PRESETS)


@router.get(
    "/presets/{name}",
    response_model=Preset,
    response_model_exclude_none=True,
    responses=error_responses(404, 422),
)
def get_preset(
    name: str,
    steps: Annotated[
        int | None, Query(ge=1, le=limits.MAX_STEPS, description="Sequence length (sine, adding, temporal_order).")
    ] = None,
    delay: Annotated[
        int | None, Query(ge=1, le=limits.MAX_STEPS - 8, description="Copy task: steps between seeing and recalling.")
    ] = None,
    seed: Annotated[
        int, Query(ge=0, le=limits.MAX_SEED, description="Seeds the task's random data and the weights.")
    ] = 0,
) -> Preset:
    """One preset, optionally at another size: the tasks' length/delay controls."""
    if name not in TASKS:
        raise HTTPException(404, f"no preset {name!r}; there are {', '.join(TASKS)}")
    task = TASKS[name]
    if name == "hello" and steps is not None:
        raise FieldError(("query", "steps"), "the hello preset is a fixed text; send your own `text` instead")
    if name != "copy" and delay is not None:
        raise FieldError(("query", "delay"), "only the copy task has a delay")
    if name == "copy" and steps is not None:
        raise FieldError(("query", "steps"), "the copy task's length is 4 + delay + 4: set `delay`")
    if steps is not None and steps < task.min_steps:
        raise FieldError(("query", "steps"), f"{name} needs at least {task.min_steps} steps")
    return make_preset(name, steps, delay, seed)
