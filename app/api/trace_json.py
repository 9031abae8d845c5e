"""A run of the engine as the JSON the API promises (see TraceResponse in schemas.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import limits
from ..nn.spec import EMBEDDING, PARAM_KINDS, SPECS
from ..nn.stack import Trace
from .errors import FieldError
from .numbers import prepare
from .problem import Problem
from .schemas import TraceRequest

STATE_GRADS = ("h0", "c0")


def _selected(names, fields: set[str] | None) -> list[str]:
    return [n for n in names if not n.startswith("_") and (fields is None or n in fields)]


def check_fields(req: TraceRequest) -> set[str] | None:
    if req.fields is None:
        return None
    known = SPECS[req.cell].array_names()
    for k, name in enumerate(req.fields):
        if name not in known:
            raise FieldError(
                ("fields", k), f"unknown array {name!r} for a {req.cell}; expected some of {', '.join(known)}"
            )
    return set(req.fields)


def estimate_numbers(prob: Problem, with_grad: bool) -> int:
    """Numbers the response will hold, known before any maths is done."""
    req = prob.request
    spec = SPECS[req.cell]
    fields = check_fields(req)
    steps, hidden = prob.steps, req.hidden_size
    per_layer = 0
    for name in _selected(spec.array_names(), fields):
        width = prob.input_size if name == "x" else hidden * (spec.num_blocks if name == "a" else 1)
        in_forward = name in spec.forward
        per_layer += steps * width * ((1 if in_forward else 0) + (1 if with_grad else 0))
    total = per_layer * req.num_layers
    params = sum(v.size for v in prob.params.values())
    if with_grad:
        # An embedding's gradient is sent for the rows read only (counted below), not the table.
        table = prob.params[EMBEDDING].size if EMBEDDING in prob.params else 0
        total += params - table + 2 * hidden * req.num_layers
    if req.return_params:
        total += params
    if prob.loss.uses_head:
        total += steps * prob.loss.num_classes * (3 if with_grad else 2)
    elif prob.model.head is not None:
        total += steps * prob.model.head.bias.size * 2  # y and probs
    if with_grad and prob.model.embedding is not None:
        total += steps * (prob.input_size + 1)  # at most one row per step
    return total


def check_response_size(prob: Problem, with_grad: bool) -> None:
    req = prob.request
    refuse_large_response(
        estimate_numbers(prob, with_grad),
        req.precision,
        ("precision",) if req.precision is None else ("fields",),
        "set `precision` (e.g. 4), ask for fewer `fields`, or shorten the sequence",
    )


def refuse_large_response(numbers: int, precision: int | None, loc: tuple[str, ...], hint: str) -> None:
    """413 before any maths if `numbers` at `precision` would exceed MAX_RESPONSE_BYTES."""
    size = numbers * limits.bytes_per_number(precision)
    if size > limits.MAX_RESPONSE_BYTES:
        mib = 1024 * 1024
        raise FieldError(
            loc,
            f"the response would hold {numbers} numbers, about {size / mib:.0f} MiB, over the "
            f"{limits.MAX_RESPONSE_BYTES // mib} MiB limit by {(size - limits.MAX_RESPONSE_BYTES) / mib:.0f} MiB; "
            + hint,
            kind="response_too_large",
            status=413,
        )


def build_response(prob: Problem, trace: Trace) -> dict[str, Any]:
    req = prob.request
    spec = SPECS[req.cell]
    fields = check_fields(req)
    layers = []
    for k, arrays in enumerate(trace.layers):
        layer: dict[str, Any] = {n: arrays[n] for n in _selected(spec.forward, fields)}
        if trace.grads is not None:
            g = trace.grads[k]
            grad = {n: g[n] for n in _selected(spec.array_names(), fields)}
            for n in spec.state_names:
                grad[n] = g[n]
            for kind in PARAM_KINDS:
                grad[kind] = g[kind]
            layer["grad"] = grad
        layers.append(layer)
    body: dict[str, Any] = {
        "cell": req.cell,
        "hidden_size": req.hidden_size,
        "num_layers": req.num_layers,
        "input_size": prob.input_size,
        "steps": prob.steps,
        "gate_order": list(spec.blocks),
        "tokens": prob.tokens,
        "vocab": prob.vocab,
        "loss_kind": prob.loss.kind,
        "loss": trace.loss,
        "layers": layers,
        "output": dict(trace.output) if trace.output else None,
    }
    if trace.model_grads:
        body["grad"] = {
            EMBEDDING: {"rows": trace.model_grads["embedding.rows"].tolist(), "values": trace.model_grads[EMBEDDING]}
        }
    if req.return_params:
        body["params"] = prob.params
    body = prepare(body, req.precision)
    check_finite(body)
    return body


def check_finite(tree: Any, path: tuple = ()) -> None:
    """Overflow (say weights near 1e300) would turn into NaN; refuse rather than emit null."""
    if isinstance(tree, dict | list):
        items = tree.items() if isinstance(tree, dict) else enumerate(tree)
        for k, v in items:
            check_finite(v, (*path, k))
    elif isinstance(tree, np.ndarray | float) and not np.all(np.isfinite(tree)):
        where = ".".join(map(str, path))
        raise FieldError(("weights",), f"float64 overflowed computing {where}: inputs or weights too large")
