"""GET /api/presets: named, complete request bodies to start from (the page's picker).

The tasks from the literature take a size: GET /api/presets/adding?steps=100 builds the
adding problem over 100 steps (copy: `delay`; all: `seed`).
"""

from __future__ import annotations

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


# The text preset: the page's default, a fixed sentence (no length, delay or data seed).
HELLO = "hello"
HELLO_TITLE = "Text: hello world"
HELLO_DESCRIPTION = "Next-character prediction on a short text: one-hot characters, cross-entropy."
NAMES = (HELLO, *tasks.TASKS)  # the page's picker, in this order
DEFAULT = HELLO


def _task_body(task: tasks.Task, steps: int, delay: int, seed: int) -> dict[str, Any]:
    """A complete request for one sequence of a task from the registry."""
    x, y = task.make(steps, delay, seed)
    loss: dict[str, Any] = {"kind": task.loss_kind, "targets": _rows(y)}
    if task.loss_kind == "cross_entropy":
        loss["num_classes"] = task.output_size
    # The copy task needs more units than the default to hold its symbols across the delay.
    extra = {"hidden_size": 16} if task.name == "copy" else {}
    return _body(seed=seed, inputs=_rows(x), loss=loss, **extra)


def make_preset(name: str, steps: int | None = None, delay: int | None = None, seed: int = 0) -> Preset:
    if name == HELLO:
        body = _body(text="hello world")
        return Preset(
            name=name, title=HELLO_TITLE, description=HELLO_DESCRIPTION, request=TraceRequest.model_validate(body)
        )
    task = tasks.TASKS[name]
    delay = task.delay if delay is None else delay
    steps = task.default_steps(delay) if steps is None else steps
    return Preset(
        name=name,
        title=task.title,
        description=task.describe(steps, delay),
        request=TraceRequest.model_validate(_task_body(task, steps, delay, seed)),
    )


PRESETS = [make_preset(name) for name in NAMES]


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
    if name not in NAMES:
        raise HTTPException(404, f"no preset {name!r}; there are {', '.join(NAMES)}")
    if name == HELLO and steps is not None:
        raise FieldError(("query", "steps"), "the hello preset is a fixed text; send your own `text` instead")
    if name != "copy" and delay is not None:
        raise FieldError(("query", "delay"), "only the copy task has a delay")
    if name == "copy" and steps is not None:
        raise FieldError(("query", "steps"), "the copy task's length is 4 + delay + 4: set `delay`")
    if name != HELLO and steps is not None and steps < tasks.TASKS[name].min_steps:
        raise FieldError(("query", "steps"), f"{name} needs at least {tasks.TASKS[name].min_steps} steps")
    return make_preset(name, steps, delay, seed)
