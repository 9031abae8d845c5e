"""POST /api/compare: one input and loss through an RNN, a GRU and an LSTM of the same size.

What it returns is what the vanishing-gradient story needs: per step, how much gradient is
left on h (and, for the LSTM, on the cell path c), the forget-gate products that carry it,
and the RNN's recurrent spectrum that decides whether it vanishes or explodes.

Like the trace endpoints it runs in a `workload` lane: the three problems are built and the
response's size checked before any run, and the runs poll the stop token.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..model_settings import RunConfig
from ..nn import flow, stack
from ..nn import params as P
from ..nn.architecture import DIRECTIONS, read
from ..nn.spec import CELLS
from ..store import ModelStore
from .deps import Store
from .errors import FieldError
from .numbers import NumpyJSONResponse, prepare
from .problem import Problem, build, refuse_settings_it_lacks
from .routing import Route
from .schemas import Finite, ForgetBias, Matrix, RecurrentScale, Seed, Tensor, TraceRequest
from .trace_json import check_finite, refuse_large_response
from .traces import BUDGET_LOC, ERRORS, SHRINK_TRACE
from .workload import Token, compare_cost, compute

router = APIRouter(prefix="/api", tags=["compare"], route_class=Route)

COMPARE_ORDER = ("rnn", "gru", "lstm")


class CellOverride(BaseModel):
    """Settings for one cell of the comparison that differ from the shared ones."""

    model_config = ConfigDict(extra="forbid")
    seed: Seed | None = None
    weights: dict[str, Tensor] | None = None
    h0: Matrix | None = None
    c0: Matrix | None = Field(None, description="LSTM only.")
    forget_bias: ForgetBias | None = Field(None, description="LSTM only.")
    recurrent_scale: RecurrentScale | None = None


class CompareRequest(TraceRequest):
    """The body of /api/backward (its `cell` and `fields` are ignored) plus comparison controls."""

    recurrent_scale: RecurrentScale = Field(
        1.0, description="Multiplies every W_hh (push the RNN from vanishing to exploding)."
    )
    hold_forget: bool = Field(False, description="LSTM what-if: the forget gate held at 1 at every step.")
    clip: Finite | None = Field(None, gt=0, le=1e6, description="Gradient-norm clipping threshold (global norm).")
    overrides: dict[Literal[CELLS], CellOverride] | None = None  # type: ignore[valid-type]

    # A comparison sends per-step norms for the whole run and no weight gradients, so a window
    # or param_grads would silently do nothing: refused by name instead.
    @field_validator("window")
    @classmethod
    def _no_window(cls, value: object) -> object:
        if value is not None:
            raise ValueError(
                "a comparison covers the whole run: leave out `window` (it is for /api/backward and /api/forward)"
            )
        return value

    @field_validator("param_grads")
    @classmethod
    def _no_param_grads(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("a comparison sends no weight gradients to leave out: leave out `param_grads`")
        return value


class GradNorm(BaseModel):
    before: float
    after: float
    factor: float
    threshold: float | None


class CompareCell(BaseModel):
    loss: float
    grad_norm_h: list[list[float]] = Field(description="num_layers x T: ||dL/dh_t|| (total gradient).")
    grad_norm_x: list[float] = Field(description="T: ||dL/dx_t|| at the bottom layer.")
    saturation: list[float] = Field(description="T: share of saturated units (see saturation_of).")
    saturation_of: str
    grad_norm_params: GradNorm
    grad_norm_c: list[list[float]] | None = Field(None, description="LSTM: num_layers x T, ||dL/dc_t||.")
    forget_product: list[list[float]] | None = Field(
        None, description="LSTM: num_layers x T, mean over units of prod f_s for s = t+1..T."
    )
    forget_product_units: list[list[list[float]]] | None = Field(None, description="LSTM: num_layers x T x H.")
    spectral_radius: list[float] | None = Field(None, description="RNN: per layer, max |eigenvalue| of W_hh.")
    max_singular_value: list[float] | None = Field(None, description="RNN: per layer, largest singular value of W_hh.")
    params: dict[str, Tensor] | None = None


class CompareResponse(BaseModel):
    steps: int
    hidden_size: int
    num_layers: int
    directions: list[str] = Field(
        description='["forward"], or ["forward", "reverse"] for bidirectional models: the per-layer rows of every '
        "measure are then (layer, direction) pairs, layer 0 forward, layer 0 reverse, layer 1 forward, ..."
    )
    loss_kind: str
    cells: dict[str, CompareCell]


def _default_loss(req: CompareRequest, width: int, vocab: list[str] | None = None) -> dict[str, Any] | None:
    """Score only the last step, so what reaches step 1 had to cross the whole sequence.

    With text, the target is the last character's index in the cell's vocabulary: a saved
    model's own (in its order), else the text's sorted characters (what build() encodes with).
    None when the request has its own loss, or no usable sequence (build() then says why).
    """
    if req.loss is not None:
        return None
    if req.text is not None and req.inputs is None and len(req.text) >= 2:
        order = vocab if vocab is not None else sorted(set(req.text))
        if req.text[-1] not in order:
            return None  # build() names the character
        return {"kind": "cross_entropy", "targets": [None] * (len(req.text) - 2) + [order.index(req.text[-1])]}
    if req.inputs and req.text is None:
        steps = len(req.inputs)
        return {"kind": "dh", "dh": [[0.0] * width] * (steps - 1) + [[1.0] * width]}
    return None


def _cell_request(req: CompareRequest, cell: str, model_cell: str | None = None) -> TraceRequest:
    """The shared request as one cell runs it: its cell type, its overrides, nothing else changed.

    Both parts were validated when the body was; the result is a new TraceRequest made from
    their fields (no dump and re-validation, no shared mutable state).
    """
    over = (req.overrides or {}).get(cell) or CellOverride()
    given = [name for name in ("c0", "forget_bias") if getattr(over, name) is not None]
    refuse_settings_it_lacks(cell, given, ("overrides", cell))
    lstm = cell == "lstm"
    update: dict[str, Any] = {
        "cell": cell,
        "fields": None,
        "forget_bias": (over.forget_bias if over.forget_bias is not None else req.forget_bias) if lstm else 0.0,
        "c0": (over.c0 if over.c0 is not None else req.c0) if lstm else None,
        "nonlinearity": req.nonlinearity if cell == "rnn" else None,  # the RNN's alone
        "proj_size": req.proj_size if lstm else 0,  # a projection is the LSTM's alone
    }
    # A saved model stands in for its own cell; the other two are seeded at its sizes.
    if req.model_id is not None and cell != model_cell:
        update["model_id"] = None
    update |= {name: getattr(over, name) for name in ("seed", "weights", "h0") if getattr(over, name) is not None}
    shared = {name: getattr(req, name) for name in TraceRequest.model_fields}
    return TraceRequest.model_construct(**(shared | update))


def _build(req: CompareRequest, store: ModelStore, cell: str, model_cell: str | None) -> Problem:
    """build() for one cell; an error in a field the cell's override gave is reported there."""
    over = (req.overrides or {}).get(cell)
    try:
        return build(_cell_request(req, cell, model_cell), store)
    except FieldError as err:
        name = err.loc[1] if len(err.loc) > 1 else None
        if over is not None and name in over.model_fields_set:
            err.loc = ("body", "overrides", cell, *err.loc[1:])
        raise


def _scaled(prob: Problem, scale: float, hold_forget: bool) -> Problem:
    """The problem with every W_hh times `scale` and the what-if applied: new arrays, a new model."""
    params = {name: value * scale if name.startswith("weight_hh_") else value for name, value in prob.params.items()}
    layers = P.layers_from(params, prob.request.num_layers)
    model = replace(prob.model, layers=layers, hold_forget=hold_forget)
    return replace(prob, model=model, params=params)


@router.post("/compare", response_model=CompareResponse, responses=ERRORS, response_class=NumpyJSONResponse)
async def compare(req: CompareRequest, request: Request, store: Store) -> Response:
    """Run RNN, GRU and LSTM on the same input and loss; report how the gradient travels back."""
    return await compute(request, compare_cost(req), partial(_compare, req, store), BUDGET_LOC, SHRINK_TRACE)


def problems_for(req: CompareRequest, store: ModelStore) -> dict[str, Problem]:
    """The three cells' engine inputs, every refusal raised before anything runs."""
    if req.weights is not None:
        raise FieldError(
            ("weights",), "the three cells need different weights: give them as overrides.rnn/gru/lstm.weights"
        )
    model_cell, model_vocab = None, None
    if req.model_id is not None:
        record = store.get(req.model_id)
        if record is None:
            raise FieldError(("model_id",), f"no saved model {req.model_id}", status=404)
        model_cell = record.cell
        config = RunConfig.from_meta(record.meta)
        if config.input_kind == "tokens" or any(len(token) != 1 for token in config.vocab or []):
            raise FieldError(
                ("model_id",),
                "the comparison runs three cells on the same one-hot characters or numbers; this model reads "
                "token ids or words, which the other two cells have no embedding for: trace it with /api/backward",
            )
        model_vocab = config.vocab
        params = store.params(req.model_id)
        arch = read(record.cell, params, record.num_layers, config.merge_mode) if params is not None else None
        own = {"hidden_size": record.hidden_size, "num_layers": record.num_layers}
        if arch is not None:  # the other two cells are built like the saved one (but for a projection)
            own |= {name: getattr(arch, name) for name in ("bidirectional", "merge_mode", "bias", "proj_size")}
        req = req.model_copy(update=own)
    problems = {}
    for cell in COMPARE_ORDER:
        # Each cell scores the same last step, as its own vocabulary numbers it.
        cell_req = req
        proj = req.proj_size if cell == "lstm" else 0
        both = req.bidirectional and req.merge_mode == "concat"
        width = (proj or req.hidden_size) * (2 if both else 1)
        default_loss = _default_loss(req, width, model_vocab if cell == model_cell else None)
        if default_loss is not None:
            cell_req = req.model_copy(update={"loss": TraceRequest.model_validate({"loss": default_loss}).loss})
        problems[cell] = _build(cell_req, store, cell, model_cell)
    return problems


def estimate_numbers(problems: dict[str, Problem], req: CompareRequest) -> int:
    """Numbers in the response (see CompareCell), known before any run."""
    prob = problems["lstm"]
    steps, layers, hidden = prob.steps, prob.arch.slots, prob.request.hidden_size
    total = 3  # steps, hidden_size, num_layers
    for cell, p in problems.items():
        # loss, grad_norm_h, grad_norm_x, saturation, and grad_norm_params' before/after/factor/threshold
        total += 1 + layers * steps + 2 * steps + 3 + (req.clip is not None)
        if cell == "lstm":
            total += layers * steps * (2 + hidden)  # grad_norm_c, forget_product, forget_product_units
        if cell == "rnn":
            total += 2 * layers  # spectral_radius, max_singular_value
        if req.return_params:
            total += sum(v.size for v in p.params.values())
    return total


def _compare(req: CompareRequest, store: ModelStore, token: Token) -> NumpyJSONResponse:
    """In a worker thread: build, check the response size, run the three cells, the JSON."""
    problems = problems_for(req, store)
    refuse_large_response(
        estimate_numbers(problems, req),
        req.precision,
        ("precision",) if req.precision is None else ("return_params",) if req.return_params else ("inputs",),
        "set `precision` (e.g. 4), leave out `return_params`, or use fewer steps",
    )
    cells: dict[str, Any] = {}
    for cell, prob in problems.items():
        token.check()
        over = (req.overrides or {}).get(cell)
        scale = over.recurrent_scale if over is not None and over.recurrent_scale is not None else req.recurrent_scale
        prob = _scaled(prob, scale, req.hold_forget and cell == "lstm")
        with np.errstate(over="ignore", invalid="ignore"):
            trace = stack.run(prob.model, prob.x, prob.loss, prob.h0, prob.c0, stop=token.check)
        cells[cell] = _measures(cell, prob.model, trace, req)
        if req.return_params:
            cells[cell]["params"] = prob.params
    token.check()
    body = {
        "steps": prob.steps,
        "hidden_size": prob.request.hidden_size,
        "num_layers": prob.request.num_layers,
        "directions": list(DIRECTIONS[: prob.arch.directions]),
        "loss_kind": prob.loss.kind,
        "cells": cells,
    }
    body = prepare(body, req.precision)
    check_finite(body)
    return NumpyJSONResponse(body)


def _measures(cell: str, model: stack.Model, trace: stack.Trace, req: CompareRequest) -> dict[str, Any]:
    norm = flow.param_grad_norm(trace)
    factor = flow.clip_factor(norm, req.clip) if req.clip is not None else 1.0
    sat, sat_of = flow.saturation(cell, trace)
    entry: dict[str, Any] = {
        "loss": trace.loss,
        "grad_norm_h": flow.grad_norms(trace, "h"),
        "grad_norm_x": flow.input_grad_norm(trace, model),
        "saturation": sat,
        "saturation_of": sat_of,
        "grad_norm_params": {"before": norm, "after": norm * factor, "factor": factor, "threshold": req.clip},
    }
    if cell == "lstm":
        products = flow.forget_products(trace, model)
        entry["grad_norm_c"] = flow.grad_norms(trace, "c")
        entry["forget_product"] = products.mean(axis=2)
        entry["forget_product_units"] = products
    if cell == "rnn":
        entry["spectral_radius"], entry["max_singular_value"] = flow.recurrent_spectrum(model)
    return entry
