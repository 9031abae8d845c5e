"""Training over HTTP: POST /api/train, GET /api/train/{id}[/events], DELETE /api/train/{id}."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Header, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from .. import limits
from ..nn import train as T
from ..runs import TooManyRuns, TooManyStreams, get_board
from ..security import require_writable
from ..training import estimate_log_bytes, trainer
from .errors import FieldError, error_responses
from .models import MAX_NAME, check_model_name
from .problem import refuse_settings_it_lacks
from .routing import Route
from .schemas import Finite, ForgetBias, Int, Seed

router = APIRouter(prefix="/api", tags=["train"], route_class=Route)
log = logging.getLogger(__name__)
STREAM_POLL_S = 0.1  # a stream looks for new events this often
KEEPALIVE_S = 15.0

RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
NOT_FOUND = error_responses(404, 422)  # finished runs are kept 10 minutes


class TrainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"task": "text", "text": "hello world ", "steps": 300}]}
    )

    task: Literal[T.TASKS] = "text"  # type: ignore[valid-type]
    text: str | None = Field(
        None,
        min_length=2,
        max_length=limits.MAX_TRAIN_TEXT,
        description=f"For task text; default {T.DEFAULT_TEXT * 2!r}.",
    )
    seq_len: Int = Field(
        20, ge=2, le=limits.MAX_TRAIN_SEQ_LEN, description="Steps per training sequence (text: window length)."
    )
    delay: Int = Field(5, ge=1, le=limits.MAX_COPY_DELAY, description="Copy task: steps between seeing and recalling.")
    cell: Literal["lstm", "gru", "rnn"] = "lstm"
    hidden_size: Int = Field(32, ge=1, le=limits.MAX_TRAIN_HIDDEN)
    num_layers: Int = Field(1, ge=1, le=limits.MAX_LAYERS)
    optimizer: Literal["sgd", "adam"] = "adam"
    lr: Finite = Field(0.01, gt=0, le=10)
    momentum: Finite = Field(0.9, ge=0, lt=1, description="SGD only.")
    steps: Int = Field(500, ge=1, le=limits.MAX_TRAIN_STEPS)
    batch_size: Int = Field(16, ge=1, le=limits.MAX_TRAIN_BATCH)
    clip: Finite | None = Field(1.0, gt=0, le=1e6, description="Gradient-norm clipping threshold; null turns it off.")
    seed: Seed = 0
    time_limit_s: Finite = Field(
        30.0,
        gt=0,
        le=limits.MAX_TRAIN_SECONDS,
        description="Wall-clock cap; the run stops (and is saved) when it is reached.",
    )
    forget_bias: ForgetBias = Field(1.0, description="LSTM only: added to the forget-gate bias at initialisation.")
    checkpoints: Int = Field(
        10, ge=1, le=limits.MAX_TRAIN_CHECKPOINTS, description="Snapshots of the gate traces on the probe sequence."
    )
    name: str | None = Field(None, min_length=1, max_length=100)
    embedding_dim: Int | None = Field(
        None,
        ge=1,
        le=limits.MAX_TRAIN_HIDDEN,
        description="Text task: the model reads character ids through an embedding of this width "
        "(trained with it) instead of one-hot rows.",
    )


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
    _check_fields(req)
    data = _task_data(req)
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
        embedding_dim=req.embedding_dim,
    )
    log_bytes = estimate_log_bytes(settings, data, req.checkpoints)
    if log_bytes > limits.MAX_TRAIN_LOG_BYTES:
        raise FieldError(
            ("checkpoints",),
            f"{req.checkpoints} checkpoints of this model's gate traces come to about {log_bytes >> 20} MiB; "
            f"at most {limits.MAX_TRAIN_LOG_BYTES >> 20} MiB: take fewer checkpoints, a smaller model or shorter sequences",
        )
    name = check_model_name(req.name) if req.name is not None else default_name(req)
    try:
        run = trainer.start(settings, data, req.task, req.time_limit_s, req.checkpoints, name)
    except TooManyRuns as err:
        raise FieldError(("task",), str(err), kind="too_many_runs", status=429) from None
    return TrainStarted(
        id=run.id, events=f"/api/train/{run.id}/events", probe_steps=len(data.probe_x), vocab=data.vocab
    )


TASK_NAMES = {"text": "text", "sine": "sine wave", "adding": "adding problem", "copy": "copy task"}
NAME_TEXT_CHARS = 24


def default_name(req: TrainRequest) -> str:
    """A saved model's name when none was given, telling runs apart: cell, layers x hidden
    size, the task (a text's first characters), steps and seed."""
    what = TASK_NAMES.get(req.task, req.task)
    if req.task == "text":
        text = req.text if req.text is not None else T.DEFAULT_TEXT * 2
        # Line breaks and invisible characters would make the name unreadable in a list.
        shown = " ".join("".join(ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C").split())
        if shown:
            cut = shown[:NAME_TEXT_CHARS]
            what += f" “{cut}{'…' if len(shown) > NAME_TEXT_CHARS else ''}”"
    name = f"{req.cell.upper()} {req.num_layers}×{req.hidden_size} · {what} · {req.steps} steps, seed {req.seed}"
    return name[:MAX_NAME]


def _check_fields(req: TrainRequest) -> None:
    """Cross-field checks, before any data is built."""
    if req.text is not None and req.task != "text":
        raise FieldError(("text",), f"text is for the text task; task is {req.task!r}")
    if req.embedding_dim is not None and req.task != "text":
        raise FieldError(("embedding_dim",), f"an embedding reads token ids, for the text task; task is {req.task!r}")
    if req.task == "copy" and req.seq_len < req.delay + 2:
        raise FieldError(("seq_len",), f"the copy task needs seq_len >= delay + 2 = {req.delay + 2}")
    # forget_bias has a default (1.0, used by the LSTM only): refused only when it was given.
    refuse_settings_it_lacks(req.cell, [n for n in ("forget_bias",) if n in req.model_fields_set])
    # The one-hot data is characters x vocabulary: count the vocabulary before building it.
    distinct = len(set(req.text or T.DEFAULT_TEXT))
    if distinct > limits.MAX_INPUT_SIZE:
        raise FieldError(("text",), f"the text has {distinct} distinct characters; at most {limits.MAX_INPUT_SIZE}")


def _task_data(req: TrainRequest) -> T.TaskData:
    try:
        return T.make_task(req.task, req.seq_len, req.text, req.delay, embedding=req.embedding_dim is not None)
    except T.TaskError as err:
        raise FieldError((err.field,), str(err)) from None


def _status(run_id: RunId) -> dict:
    """The run's status, or 404 (a dependency, so an event stream never starts for a missing run)."""
    status = trainer.status(run_id)
    if status is None:
        raise HTTPException(404, f"no training run {run_id}")
    return status


def _position(last_event_id: Annotated[str | None, Header()] = None) -> int:
    """Where a stream resumes: after Last-Event-ID, which must be ASCII digits (what we send)."""
    if last_event_id is None or last_event_id == "":
        return 0
    # str.isdigit() and int() accept other scripts' digits ("٣") and more: be exact.
    if not re.fullmatch(r"[0-9]{1,9}", last_event_id):
        raise FieldError(
            ("header", "last-event-id"), "Last-Event-ID must be an event id: 1 to 9 ASCII digits", kind="value_error"
        )
    return int(last_event_id) + 1


@router.get("/train/{run_id}", responses=NOT_FOUND)
def training_status(status: Annotated[dict, Depends(_status)]) -> dict:
    """Where a run is: state, stop reason, and its latest progress or final event."""
    return status


@router.get(
    "/train/{run_id}/events",
    response_class=Response,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "Server-sent events"},
        **error_responses(404, 422, 429),
    },
)
def training_events(
    status: Annotated[dict, Depends(_status)], position: Annotated[int, Depends(_position)]
) -> Response:
    """Server-sent events: `progress` (step, loss, grad_norm, elapsed_s, steps_per_s),
    `checkpoint` (gate traces on the probe sequence) and a final `done` (done: true,
    final_loss, model_id or the reason it stopped). Replays from the start, or after
    Last-Event-ID (ASCII digits; anything else is a 422). At most
    MAX_TRAIN_STREAMS_PER_RUN streams per run and MAX_TRAIN_STREAMS in all (429)."""
    try:
        stream_id = get_board().open_stream(status["id"])
    except TooManyStreams as err:
        raise FieldError(("path", "run_id"), str(err), kind="too_many_streams", status=429) from None
    return EventStream(status["id"], stream_id, position)


class EventStream(StreamingResponse):
    """A run's events from the runs file, sent in CHUNK-sized pieces.

    Each piece is sent only once the previous one left (uvicorn waits for the socket to
    drain), so a reader that does not read makes the server hold about one piece, not the
    run's log; one that takes nothing for TRAIN_SEND_TIMEOUT_S is dropped.  A reader that
    goes away ends the stream quietly.
    """

    media_type = "text/event-stream"

    def __init__(self, run_id: str, stream_id: str, position: int):
        # StreamingResponse: no Content-Length header; its body iterator is unused (see _pump).
        super().__init__((), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.run_id, self.stream_id, self.position = run_id, stream_id, position

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch, receive, tg.cancel_scope)
                tg.start_soon(self._touch)
                await self._pump(send)
                tg.cancel_scope.cancel()
        except (OSError, ClientDisconnect):
            pass  # the reader went away mid-send: nothing to report
        except TimeoutError:
            log.info(
                "dropped an event stream of run %s: its reader took nothing for %s s",
                self.run_id,
                limits.TRAIN_SEND_TIMEOUT_S,
            )
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(get_board().close_stream, self.stream_id, self.run_id)

    async def _send(self, send: Send, body: bytes, more: bool = True) -> None:
        with anyio.fail_after(limits.TRAIN_SEND_TIMEOUT_S):
            await send({"type": "http.response.body", "body": body, "more_body": more})

    async def _pump(self, send: Send) -> None:
        board = get_board()
        with anyio.fail_after(limits.TRAIN_SEND_TIMEOUT_S):
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        idle = 0.0
        while True:
            rows = await anyio.to_thread.run_sync(board.events_after, self.run_id, self.position)
            for seq, kind, rowid, _size in rows:
                await self._send(send, f"id: {seq}\nevent: {kind}\ndata: ".encode())
                offset = 0
                while chunk := await anyio.to_thread.run_sync(board.read_chunk, rowid, offset):
                    await self._send(send, chunk)
                    offset += len(chunk)
                await self._send(send, b"\n\n")
                self.position = seq + 1
                if kind == "done":
                    await self._send(send, b"", more=False)
                    return
            if rows:
                idle = 0.0
                continue
            if await anyio.to_thread.run_sync(board.status, self.run_id) is None:
                await self._send(send, b"", more=False)  # forgotten under us: nothing more will come
                return
            await anyio.sleep(STREAM_POLL_S)
            idle += STREAM_POLL_S
            if idle >= KEEPALIVE_S:  # a comment line: keeps proxies from closing a quiet stream
                await self._send(send, b": keepalive\n\n")
                idle = 0.0

    @staticmethod
    async def _watch(receive: Receive, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    async def _touch(self) -> None:
        """Tell the run a reader is here (its owner cancels a run whose readers all left)."""
        board = get_board()
        while True:
            await anyio.sleep(min(1.0, limits.TRAIN_ORPHAN_GRACE_S / 3))
            await anyio.to_thread.run_sync(board.touch_stream, self.stream_id, self.run_id)


@router.delete(
    "/train/{run_id}",
    status_code=202,
    responses=error_responses(403, 404, 422),
    dependencies=[Depends(require_writable)],
)
def cancel_training(run_id: RunId) -> dict:
    """Ask a run to stop, on whichever worker trains it; it ends within one optimiser step
    (or one sequence of a large batch) and emits its `done` event."""
    state = trainer.cancel(run_id)
    if state is None:
        raise HTTPException(404, f"no training run {run_id}")
    return {"id": run_id, "state": state}
