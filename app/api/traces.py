"""POST /api/forward, /api/backward, /api/gradcheck: one sequence through the engine.

The endpoints are `async` only to hand their work to `workload.compute`: everything from
building the numpy inputs to rendering the JSON runs in a worker thread of a bounded lane,
polls a stop token (time budget, client gone), and the event loop keeps serving meanwhile.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from fastapi import APIRouter, Request, Response

from .. import limits
from ..nn import gradcheck, stack
from ..nn.spec import EMBEDDING
from ..store import ModelStore
from . import tracecache
from .deps import Store
from .errors import FieldError, error_responses
from .numbers import NumpyJSONResponse
from .problem import build
from .routing import Route
from .schemas import GradCheckResponse, TraceRequest, TraceResponse
from .trace_json import build_response, check_response_size
from .workload import BUSY_RESPONSES, Token, compute, gradcheck_cost, trace_cost

router = APIRouter(prefix="/api", tags=["traces"], route_class=Route)

GRADCHECK_TOLERANCE = 1e-6

ERRORS = error_responses(400, 404, 413, 422) | BUSY_RESPONSES

# Where a computation that ran out of time points, and what to make smaller.
BUDGET_LOC = ("hidden_size",)
SHRINK_TRACE = "make it smaller: fewer steps, a smaller hidden_size or fewer num_layers"
SHRINK_GRADCHECK = "check a smaller model (hidden_size, num_layers) over a shorter sequence"


def _trace(req: TraceRequest, store: ModelStore, backward: bool, token: Token) -> NumpyJSONResponse:
    """In a worker thread: inputs, size check, the run, the JSON (rendering a large one takes time too).

    A `window` of a run computed a moment ago is cut from that run's trace (api/tracecache.py):
    the inputs are still built and checked afresh (a deleted model is a 404, a replaced one
    another key), only `stack.run` is skipped.
    """
    prob = build(req, store)
    check_response_size(prob, backward)
    cache = tracecache.cache
    cache.sweep()
    key = tracecache.key_for(req, prob, backward) if req.window is not None else None
    trace = cache.get(key) if key is not None else None
    if trace is None:
        with np.errstate(over="ignore", invalid="ignore"):
            trace = stack.run(prob.model, prob.x, prob.loss, prob.h0, prob.c0, backward=backward, stop=token.check)
        token.check()  # a run stopped (client gone, out of time) is neither kept nor sent
        if key is not None:
            cache.put(key, trace)
    return NumpyJSONResponse(build_response(prob, trace))


@router.post("/forward", response_model=TraceResponse, responses=ERRORS, response_class=NumpyJSONResponse)
async def forward(req: TraceRequest, request: Request, store: Store) -> Response:
    """Run the forward pass and return every intermediate of every layer and step."""
    work = partial(_trace, req, store, False)
    return await compute(request, trace_cost(req, backward=False), work, BUDGET_LOC, SHRINK_TRACE)


@router.post("/backward", response_model=TraceResponse, responses=ERRORS, response_class=NumpyJSONResponse)
async def backward(req: TraceRequest, request: Request, store: Store) -> Response:
    """Forward, loss, then backpropagation through time: every array and its gradient."""
    work = partial(_trace, req, store, True)
    return await compute(request, trace_cost(req, backward=True), work, BUDGET_LOC, SHRINK_TRACE)


@router.post("/gradcheck", response_model=GradCheckResponse, responses=ERRORS)
async def check_gradients(req: TraceRequest, request: Request, store: Store) -> GradCheckResponse | Response:
    """Compare BPTT with Richardson-extrapolated central differences for every tensor."""
    work = partial(_gradcheck, req, store)
    return await compute(request, gradcheck_cost(req), work, BUDGET_LOC, SHRINK_GRADCHECK)


def _gradcheck(req: TraceRequest, store: ModelStore, token: Token) -> GradCheckResponse:
    prob = build(req, store)
    req = prob.request
    # With an embedding only the rows the sequence reads are perturbed (gradcheck.check).
    table = prob.model.embedding
    read = np.unique(prob.x).size * table.shape[1] if table is not None else prob.x.size
    states = prob.arch.slots * (prob.arch.state_size + (prob.arch.hidden_size if req.cell == "lstm" else 0))
    scalars = sum(v.size for n, v in prob.params.items() if n != EMBEDDING) + read + states
    cost = scalars * prob.steps * prob.arch.slots
    if cost > limits.MAX_GRADCHECK_COST:
        raise FieldError(
            ("hidden_size",),
            f"a gradient check here perturbs {scalars} numbers over {prob.steps} steps and {prob.arch.slots} "
            "layers (and directions) "
            f"(cost {cost}); at most {limits.MAX_GRADCHECK_COST} (over by {cost - limits.MAX_GRADCHECK_COST}): "
            "use a smaller model or a shorter sequence",
        )
    with np.errstate(over="ignore", invalid="ignore"):
        checks = gradcheck.check(prob.model, prob.x, prob.loss, prob.h0, prob.c0, stop=token.check)
    worst = max(c.max_rel_error for c in checks)
    if not np.isfinite(worst):
        raise FieldError(("weights",), "float64 overflowed during the gradient check: inputs or weights too large")
    return GradCheckResponse(
        cell=req.cell,
        eps=gradcheck.DEFAULT_EPS,
        tolerance=GRADCHECK_TOLERANCE,
        passed=worst <= GRADCHECK_TOLERANCE,
        max_rel_error=worst,
        checks=[c.__dict__ for c in checks],
    )
