"""Computations off the event loop, bounded, queued, and abandoned when nobody waits for them.

Every endpoint that runs the engine (forward, backward, gradcheck, compare) hands its work to
`compute()`, which

- estimates the request's cost from its sizes alone (no parsing into numpy, no store look-up)
  and picks a lane: light requests (the page's usual sizes) and heavy ones queue separately,
  so a small request is not stuck behind a gradient check;
- runs the work in a worker thread of the lane's own `CapacityLimiter` (one heavy slot per
  core, a few light ones), never AnyIO's shared 40-thread pool, so `/api/health` and the
  other plain `def` endpoints always find a thread;
- refuses with 503 and Retry-After once a lane's queue is full, instead of queueing forever;
- hands the work a `Token` that the engine polls between layers and perturbations: it raises
  `Stopped` when the client has gone (a watcher polls `request.is_disconnected()`) or the
  time budget `limits.MAX_COMPUTE_SECONDS` is spent.  A stopped computation frees its slot
  within one layer's pass; the client gets a clear 503, or nothing if it has left.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import HTTPException, Request, Response

from .. import limits
from ..nn.spec import EMBEDDING, SPECS
from .errors import FieldError
from .schemas import ErrorResponse, TraceRequest

T = TypeVar("T")

DISCONNECTED, TIME_BUDGET = "disconnected", "time_budget"
# How often the watcher asks whether the client is still there.
DISCONNECT_POLL_SECONDS = 0.1
# Suggested wait before retrying a request refused because its queue was full.
RETRY_AFTER_SECONDS = 5
# "Client Closed Request" (nginx's convention): logged, never received, since nobody listens.
CLIENT_CLOSED = 499
# numpy's per-call overhead, as multiply-adds, charged per layer and step: it dominates
# small sizes (a 10-step, 8-unit pass costs far more than its 4 000 multiply-adds).
STEP_OVERHEAD = 20_000

BUSY_RESPONSES: dict[int | str, dict] = {
    503: {
        "model": ErrorResponse,
        "description": "The server is busy (queue full; retry after Retry-After seconds), or the "
        "computation ran out of its time budget (make it smaller).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
}


class Stopped(Exception):
    """Raised inside the computation (by Token.check) to abandon it; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Token:
    """Shared by the event loop (which stops it) and the worker thread (which polls it)."""

    def __init__(self, budget_seconds: float):
        self.budget_seconds = budget_seconds
        self.deadline: float | None = None
        self.reason: str | None = None

    def start(self) -> None:
        """The budget counts from here: the time spent queued is not the request's fault."""
        self.deadline = time.monotonic() + self.budget_seconds

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def check(self) -> None:
        """The engine's stop hook: raise Stopped if stopped or out of time."""
        if self.reason is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self.stop(TIME_BUDGET)
        if self.reason is not None:
            raise Stopped(self.reason)


@dataclass
class Stats:
    """What the computations did, for tests and logs: counts since start, and what runs now."""

    admitted: int = 0
    running: int = 0
    queued: int = 0
    finished: int = 0
    refused_busy: int = 0
    stopped: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def add_stopped(self, reason: str) -> None:
        with self.lock:
            self.stopped[reason] += 1


stats = Stats()


# --- Cost: estimated multiply-adds, from the request's sizes --------------------------------


@dataclass(frozen=True)
class Sizes:
    steps: int
    width: int  # inputs per step D
    hidden: int
    layers: int  # layers x directions: a reverse direction costs what a forward one does


def sizes_of(req: TraceRequest) -> Sizes:
    """The sizes a request asks for, read off its fields (build() checks them properly later).

    A saved model's sizes are in the store; it counts as the largest allowed, which errs
    towards the heavy lane rather than reading the store on the event loop.
    """
    if req.text is not None:
        steps, width = max(len(req.text) - 1, 1), max(len(set(req.text)), 1)
    elif req.tokens is not None:
        table = (req.weights or {}).get(EMBEDDING)
        steps = max(len(req.tokens), 1)
        width = len(table[0]) if table and isinstance(table[0], list) and table[0] else limits.MAX_INPUT_SIZE
    else:
        rows = req.inputs or [[0.0]]
        steps, width = len(rows), max(len(rows[0]), 1)
    if req.model_id is not None:
        return Sizes(steps, width, limits.MAX_HIDDEN, limits.MAX_LAYERS * 2)
    return Sizes(steps, width, req.hidden_size, req.num_layers * (2 if req.bidirectional else 1))


def forward_cost(s: Sizes, cell: str) -> int:
    """Multiply-adds of one forward pass, plus numpy's per-step overhead."""
    blocks = SPECS[cell].num_blocks
    bottom = blocks * s.hidden * (s.width + s.hidden)
    above = (s.layers - 1) * blocks * s.hidden * 2 * s.hidden
    return s.steps * (bottom + above + s.layers * STEP_OVERHEAD)


def trace_cost(req: TraceRequest, backward: bool) -> int:
    # BPTT does about twice the forward's work again.
    return forward_cost(sizes_of(req), req.cell) * (3 if backward else 1)


def compare_cost(req: TraceRequest) -> int:
    s = sizes_of(req)
    return sum(3 * forward_cost(s, cell) for cell in SPECS)


def gradcheck_cost(req: TraceRequest) -> int:
    """Two central differences (four forward passes) per perturbed number, and one backward."""
    s = sizes_of(req)
    blocks = SPECS[req.cell].num_blocks
    params = blocks * s.hidden * ((s.width + s.hidden + 2) + (s.layers - 1) * (2 * s.hidden + 2))
    scalars = params + s.steps * s.width + 2 * s.layers * s.hidden
    return (4 * scalars + 3) * forward_cost(s, req.cell)


# --- Lanes: a thread limiter and a bounded queue each ---------------------------------------


class Lane:
    def __init__(self, name: str, slots: int, queue: int):
        self.name = name
        self.limiter = anyio.CapacityLimiter(slots)
        self.queue = queue

    def full(self) -> bool:
        s = self.limiter.statistics()
        return s.borrowed_tokens >= s.total_tokens and s.tasks_waiting >= self.queue


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# AnyIO's limiters belong to one event loop; a server has one, tests start several.
_lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Lane]] = weakref.WeakKeyDictionary()


def lane_for(cost: int) -> Lane:
    loop = asyncio.get_running_loop()
    if loop not in _lanes:
        _lanes[loop] = {
            "heavy": Lane("heavy", cores() * limits.HEAVY_COMPUTES_PER_CORE, limits.MAX_HEAVY_QUEUE),
            "light": Lane("light", limits.MAX_LIGHT_COMPUTES, limits.MAX_LIGHT_QUEUE),
        }
    return _lanes[loop]["light" if cost <= limits.LIGHT_COMPUTE_COST else "heavy"]


# --- Running one computation --------------------------------------------------------------


def busy_error(lane: Lane) -> HTTPException:
    msg = (
        f"the server is busy: {lane.queue} {lane.name} computations are already waiting; "
        f"retry in {RETRY_AFTER_SECONDS} s"
    )
    return HTTPException(
        503,
        detail=[{"loc": ["body"], "msg": msg, "type": "server_busy"}],
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def budget_error(loc: tuple[str, ...], shrink: str) -> FieldError:
    return FieldError(
        loc,
        f"the computation ran out of its {limits.MAX_COMPUTE_SECONDS} s time budget and was stopped; {shrink}",
        kind="time_budget_exceeded",
        status=503,
    )


async def _watch(request: Request, token: Token, scope: anyio.CancelScope) -> None:
    """Stop the computation, queued or running, once the client has disconnected."""
    while not await request.is_disconnected():
        await anyio.sleep(DISCONNECT_POLL_SECONDS)
    token.stop(DISCONNECTED)
    scope.cancel()  # leaves the queue; a running thread finishes at its next check


def _in_thread(work: Callable[[Token], T], token: Token) -> T:
    stats.add(queued=-1, running=1)
    try:
        token.start()
        return work(token)
    finally:
        stats.add(running=-1)


async def compute(
    request: Request, cost: int, work: Callable[[Token], T], loc: tuple[str, ...], shrink: str
) -> T | Response:
    """Run `work(token)` in a worker thread of the lane `cost` picks, and answer for it.

    `work` must poll `token.check()` (stack.run and gradcheck.check take it as `stop`).
    Out of time: a 503 FieldError at `loc`, whose message ends with `shrink` (what to make
    smaller).  Queue full: 503 with Retry-After.  Client gone: an empty 499 nobody reads.
    Errors from `work` (FieldError: 4xx) propagate unchanged.
    """
    lane = lane_for(cost)
    if lane.full():
        stats.add(refused_busy=1)
        raise busy_error(lane)
    token = Token(limits.MAX_COMPUTE_SECONDS)
    outcome: list[T] = []
    failure: list[Exception] = []
    stats.add(admitted=1, queued=1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_watch, request, token, tg.cancel_scope)
        try:
            outcome.append(await anyio.to_thread.run_sync(_in_thread, work, token, limiter=lane.limiter))
        except Exception as exc:  # re-raised below, outside the task group (which would wrap it)
            failure.append(exc)
        finally:
            if token.deadline is None:  # cancelled while waiting for a slot: never started
                stats.add(queued=-1)
        tg.cancel_scope.cancel()
    return _answer(token, outcome, failure, loc, shrink)


def _answer(
    token: Token, outcome: list[T], failure: list[Exception], loc: tuple[str, ...], shrink: str
) -> T | Response:
    if outcome:
        stats.add(finished=1)
        return outcome[0]
    stopped = failure and isinstance(failure[0], Stopped)
    if failure and not stopped:
        stats.add(finished=1)
        raise failure[0]
    reason = token.reason or DISCONNECTED
    stats.add_stopped(reason)
    if reason == TIME_BUDGET:
        raise budget_error(loc, shrink)
    return Response(status_code=CLIENT_CLOSED)
