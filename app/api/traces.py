"""POST /api/forward, /api/backward, /api/gradcheck: one sequence through the engine.

Endpoints are plain `def`, so FastAPI runs them in its thread pool and the event loop keeps
serving other requests while numpy works.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from .. import limits
from ..nn import gradcheck, stack
from .errors import FieldError, error_responses
from .numbers import NumpyJSONResponse
from .problem import Problem, build
from .routing import Route
from .schemas import GradCheckResponse, TraceRequest, TraceResponse
from .trace_json import build_response, check_response_size

router = APIRouter(prefix="/api", tags=["traces"], route_class=Route)

GRADCHECK_TOLERANCE = 1e-6

ERRORS = error_responses(400, 404, 413, 422)


def _run(req: TraceRequest, backward: bool) -> tuple[Problem, stack.Trace]:
    prob = build(req)
    check_response_size(prob, backward)
    with np.errstate(over="ignore", invalid="ignore"):
        trace = stack.run(prob.model, prob.x, prob.loss, prob.h0, prob.c0, backward=backward)
    return prob, trace


@router.post("/forward", response_model=TraceResponse, responses=ERRORS, response_class=NumpyJSONResponse)
def forward(req: TraceRequest) -> NumpyJSONResponse:
    """Run the forward pass and return every intermediate of every layer and step."""
    prob, trace = _run(req, backward=False)
    return NumpyJSONResponse(build_response(prob, trace))


@router.post("/backward", response_model=TraceResponse, responses=ERRORS, response_class=NumpyJSONResponse)
def backward(req: TraceRequest) -> NumpyJSONResponse:
    """Forward, loss, then backpropagation through time: every array and its gradient."""
    prob, trace = _run(req, backward=True)
    return NumpyJSONResponse(build_response(prob, trace))


@router.post("/gradcheck", response_model=GradCheckResponse, responses=ERRORS)
def check_gradients(req: TraceRequest) -> GradCheckResponse:
    """Compare BPTT with Richardson-extrapolated central differences for every tensor."""
    prob = build(req)
    req = prob.request
    scalars = sum(v.size for v in prob.params.values()) + prob.x.size + 2 * req.num_layers * req.hidden_size
    cost = scalars * prob.steps * req.num_layers
    if cost > limits.MAX_GRADCHECK_COST:
        raise FieldError(
            ("hidden_size",),
            f"a gradient check here perturbs {scalars} numbers over {prob.steps} steps and {req.num_layers} layers "
            f"(cost {cost}); at most {limits.MAX_GRADCHECK_COST} (over by {cost - limits.MAX_GRADCHECK_COST}): "
            "use a smaller model or a shorter sequence",
        )
    with np.errstate(over="ignore", invalid="ignore"):
        checks = gradcheck.check(prob.model, prob.x, prob.loss, prob.h0, prob.c0)
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
