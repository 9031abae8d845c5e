"""Training over HTTP: POST /api/train, GET /api/train/{id}[/events], DELETE /api/train/{id}."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from .. import limits
from ..nn import train as T
from ..security import require_writable
from ..training import Run, TooManyRuns, trainer
from .errors import FieldError, error_responses
from .routing import Route
from .schemas import Finite, Int

router = APIRouter(prefix="/api", tags=["train"], route_class=Route)

RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
MAX_TRAIN_HIDDEN = 128
MAX_TRAIN_STEPS = 20_000
MAX_TRAIN_SECONDS = 300
MAX_SEQ_LEN = 200
MAX_TRAIN_TEXT = 5000
NOT_FOUND = error_responses(404, 422)  # finished runs are kept 10 minutes


class TrainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"task": "text", "text": "hello world ", "steps": 300}]}
    )

    task: Literal["text", "sine", "adding", "copy"] = "text"
    text: str | None = Field(
        None, min_length=2, max_length=MAX_TRAIN_TEXT, description=f"For task text; default {T.DEFAULT_TEXT * 2!r}."
    )
    seq_len: Int = Field(20, ge=2, le=MAX_SEQ_LEN, description="Steps per training sequence (text: window length).")
    delay: Int = Field(5, ge=1, le=100, description="Copy task: steps between seeing and recalling.")
    cell: Literal["lstm", "gru", "rnn"] = "lstm"
    hidden_size: Int = Field(32, ge=1, le=MAX_TRAIN_HIDDEN)
    num_layers: Int = Field(1, ge=1, le=limits.MAX_LAYERS)
    optimizer: Literal["sgd", "adam"] = "adam"
    lr: Finite = Field(0.01, gt=0, le=10)
    momentum: Finite = Field(0.9, ge=0, lt=1, description="SGD only.")
    steps: Int = Field(500, ge=1, le=MAX_TRAIN_STEPS)
    batch_size: Int = Field(16, ge=1, le=64)
    clip: Finite | None = Field(1.0, gt=0, le=1e6, description="Gradient-norm clipping threshold; null turns it off.")
    seed: Int = Field(0, ge=0, le=limits.MAX_SEED)
    time_limit_s: Finite = Field(
        30.0, gt=0, le=MAX_TRAIN_SECONDS, description="Wall-clock cap; the run stops (and is saved) when it is reached."
    )
    forget_bias: Finite = Field(
        1.0, ge=-100, le=100, description="LSTM only: added to the forget-gate bias at initialisation."
    )
    checkpoints: Int = Field(10, ge=1, le=50, description="Snapshots of the gate traces on the probe sequence.")
    name: str | None = Field(None, min_length=1, max_length=100)


class TrainStarted(BaseModel):
    id: str
    events: str
    probe_steps: int
    vocab: list[str] | None


@router.post(
    "/train",
    status_code=202,
    response_model=TrainStarted,
    responses=error_responses(400, 403, 413, 422, 429),
    dependencies=[Depends(require_writable)],
)
def start_training(req: TrainRequest) -> TrainStarted:
    """Start a run in the background; follow it at /api/train/{id}/events."""
    if req.text is not None and req.task != "text":
        raise FieldError(("text",), f"text is for the text task; task is {req.task!r}")
    if req.task == "copy" and req.seq_len < req.delay + 2:
        raise FieldError(("seq_len",), f"the copy task needs seq_len >= delay + 2 = {req.delay + 2}")
    if req.cell != "lstm" and "forget_bias" in req.model_fields_set:
        raise FieldError(("forget_bias",), "forget_bias applies to the LSTM only")
    data = T.make_task(req.task, req.seq_len, req.text, req.delay)
    if data.input_size > limits.MAX_INPUT_SIZE:
        raise FieldError(
            ("text",), f"the text has {data.input_size} distinct characters; at most {limits.MAX_INPUT_SIZE}"
        )
    settings = T.Settings(
        cell=req.cell,
        hidden_size=req.hidden_size,
        num_layers=req.num_layers,
        optimizer=req.optimizer,
        lr=req.lr,
        momentum=req.momentum,
        steps=req.steps,
        batch_size=req.batch_size,
        clip=req.clip,
        seed=req.seed,
        forget_bias=req.forget_bias if req.cell == "lstm" else 0.0,
    )
    name = req.name or f"{req.cell} trained on {req.task}"
    try:
        run = trainer.start(settings, data, req.task, req.time_limit_s, req.checkpoints, name)
    except TooManyRuns as err:
        raise FieldError(("task",), str(err), kind="too_many_runs", status=429) from None
    return TrainStarted(
        id=run.id, events=f"/api/train/{run.id}/events", probe_steps=len(data.probe_x), vocab=data.vocab
    )


def _run(run_id: RunId) -> Run:
    """The run, or 404 (a dependency, so an SSE stream never starts for a missing run)."""
    run = trainer.get(run_id)
    if run is None:
        raise HTTPException(404, f"no training run {run_id}")
    return run


@router.get("/train/{run_id}", responses=NOT_FOUND)
def training_status(run_id: RunId) -> dict:
    """Where a run is: state, stop reason, and its latest progress or final event."""
    return _run(run_id).status()


@router.get("/train/{run_id}/events", response_class=EventSourceResponse, responses=NOT_FOUND)
async def training_events(
    run: Annotated[Run, Depends(_run)], request: Request, last_event_id: Annotated[str | None, Header()] = None
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: `progress` (step, loss, grad_norm, elapsed_s, steps_per_s),
    `checkpoint` (gate traces on the probe sequence) and a final `done` (done: true,
    final_loss, model_id or the reason it stopped). Replays from the start, or after
    Last-Event-ID."""
    position = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else 0
    run.listen(+1)
    try:
        while True:
            with run.lock:
                fresh = run.events[position:]
            for event in fresh:
                yield ServerSentEvent(raw_data=event["raw"], event=event["event"], id=str(event["id"]))
                position += 1
                if event["event"] == "done":
                    return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.05)
    finally:
        run.listen(-1)


@router.delete(
    "/train/{run_id}",
    status_code=202,
    responses=error_responses(403, 404, 422),
    dependencies=[Depends(require_writable)],
)
def cancel_training(run_id: RunId) -> dict:
    """Ask a run to stop; it ends within one optimiser step and emits its `done` event."""
    run = trainer.cancel(run_id)
    if run is None:
        raise HTTPException(404, f"no training run {run_id}")
    return {"id": run.id, "state": run.state}
