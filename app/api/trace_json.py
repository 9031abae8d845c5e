"""A run of the engine as the JSON the API promises (see TraceResponse in schemas.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .. import limits
from ..nn.architecture import DIRECTIONS
from ..nn.losses import NO_CLASS
from ..nn.spec import EMBEDDING, SPECS
from ..nn.stack import Trace
from .errors import FieldError
from .numbers import prepare
from .problem import Problem
from .schemas import TraceRequest

STATE_GRADS = ("h0", "c0")


def _selected(names, fields: set[str] | None) -> list[str]:
    return [n for n in names if not n.startswith("_") and (fields is None or n in fields)]


# With a projection the LSTM records m = o * tanh(c), what W_hr projects to h.
PROJECTED = ("m",)


def array_names(req: TraceRequest) -> tuple[str, ...]:
    """The per-step arrays this request's layers record, in the order the API lists them."""
    names = SPECS[req.cell].array_names()
    return names + PROJECTED if req.proj_size else names


def check_fields(req: TraceRequest) -> set[str] | None:
    if req.fields is None:
        return None
    known = array_names(req)
    for k, name in enumerate(req.fields):
        if name not in known:
            raise FieldError(
                ("fields", k), f"unknown array {name!r} for a {req.cell}; expected some of {', '.join(known)}"
            )
    return set(req.fields)


def _width(prob: Problem, name: str, layer: int) -> int:
    """Numbers per step of one direction's array `name` in `layer`."""
    arch = prob.arch
    if name == "x":
        return prob.input_size if layer == 0 else arch.output_size
    if name == "a":
        return arch.hidden_size * SPECS[arch.cell].num_blocks
    if name in ("h", "h_from_above", "h_from_next"):
        return arch.state_size
    return arch.hidden_size


def full_output(prob: Problem) -> bool:
    """Whether the head's whole T x O matrices are sent (see TraceRequest.full_output)."""
    req = prob.request
    if req.full_output is not None:
        return req.full_output
    head = prob.model.head
    return head is None or head.bias.size <= limits.TOP_K_FULL_OUTPUTS


def step_window(prob: Problem) -> tuple[int, int]:
    """The steps (start, stop) whose rows the response holds: the request's `window` (its stop at
    most the sequence's end), else all."""
    window = prob.request.window
    if window is None:
        return 0, prob.steps
    stop = min(window.stop, prob.steps)  # past the end: to the end (a reader need not know T first)
    if window.start >= stop:
        raise FieldError(
            ("window", "start"),
            f"a window starts before it stops and before the sequence's end (start < {stop}; {prob.steps} steps)",
        )
    return window.start, stop


def estimate_numbers(prob: Problem, with_grad: bool) -> int:
    """Numbers the response will hold, known before any maths is done."""
    fixed, per_step = _numbers(prob, with_grad)
    start, stop = step_window(prob)
    return fixed + per_step * (stop - start) + _embedding_grad_numbers(prob, with_grad)


def _embedding_grad_numbers(prob: Problem, with_grad: bool) -> int:
    """An embedding's gradient is sent for the rows read only: at most one row per step of the whole sequence."""
    if not with_grad or prob.model.embedding is None or not prob.request.param_grads:
        return 0
    return (prob.input_size + 1) * prob.steps


def _numbers(prob: Problem, with_grad: bool) -> tuple[int, int]:
    """(numbers that do not grow with the sequence, numbers per step) of the response."""
    req, arch = prob.request, prob.arch
    spec = SPECS[req.cell]
    fields = check_fields(req)
    per_step = 0
    for layer in range(arch.num_layers):
        for name in _selected(array_names(req), fields):
            in_forward = name in spec.forward or name in PROJECTED
            per_step += (
                _width(prob, name, layer) * ((1 if in_forward else 0) + (1 if with_grad else 0)) * arch.directions
            )
        if arch.bidirectional:
            per_step += arch.output_size * (2 if with_grad else 1) + (_width(prob, "x", layer) if with_grad else 0)
    params = sum(v.size for v in prob.params.values())
    head = prob.model.head
    head_size = head.weight.size + head.bias.size if head is not None else 0
    full = full_output(prob)
    fixed = 0
    if with_grad:
        # An embedding's gradient is sent for the rows read only (_embedding_grad_numbers), not
        # the table; a large head's only with full_output; none of them without param_grads.
        table = prob.params[EMBEDDING].size if EMBEDDING in prob.params else 0
        if req.param_grads:
            fixed += params - table - (0 if full else head_size)
        fixed += (arch.state_size + arch.hidden_size) * arch.slots
    if req.return_params:
        fixed += params
    if full and head is not None:
        per_step += head.bias.size * (3 if with_grad else 2)
    elif head is not None and prob.loss.kind == "mse":
        per_step += head.bias.size
    per_step += 2 * req.top_k + 3
    return fixed, per_step


SUGGESTED_PRECISION = 4


def check_response_size(prob: Problem, with_grad: bool) -> None:
    req = prob.request
    numbers = estimate_numbers(prob, with_grad)
    if numbers * limits.bytes_per_number(req.precision) <= limits.MAX_RESPONSE_BYTES:
        return
    loc, hint = _what_would_fit(prob, with_grad, numbers)
    steps = window_steps(prob, with_grad)
    if steps >= 1:
        hint += f"; or fetch it as `window`s of up to {steps} steps each with `param_grads` false"
    refuse_large_response(numbers, req.precision, loc, hint)


def window_steps(prob: Problem, with_grad: bool) -> int:
    """The most steps one window of this request holds under the cap, without the weights'
    gradients, at the request's precision (0: not even one)."""
    req = prob.request.model_copy(update={"param_grads": False, "window": None})
    fixed, per_step = _numbers(replace(prob, request=req), with_grad)
    return max(0, (limits.MAX_RESPONSE_BYTES // limits.bytes_per_number(req.precision) - fixed) // per_step)


def _mib(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:.1f}" if mib < 10 else f"{mib:.0f}"


def _what_would_fit(prob: Problem, with_grad: bool, numbers: int) -> tuple[tuple[str, ...], str]:
    """The smallest change that brings the response under the limit, said with its size."""
    req = prob.request
    here = limits.bytes_per_number(req.precision)
    if req.full_output:
        # The head's whole matrices were asked for: without them, each step's top k remain.
        compact = estimate_numbers(replace(prob, request=req.model_copy(update={"full_output": False})), with_grad)
        if compact * here <= limits.MAX_RESPONSE_BYTES:
            return ("full_output",), (
                f"leave out `full_output` (each step's top-{req.top_k} and the target remain; about "
                f"{_mib(compact * here)} MiB)"
            )
    digits = req.precision or SUGGESTED_PRECISION
    per = limits.bytes_per_number(digits)
    if req.precision is None and numbers * per <= limits.MAX_RESPONSE_BYTES:
        return ("precision",), f"set `precision` to {digits} (about {_mib(numbers * per)} MiB)"
    states = ["h", "c"] if SPECS[req.cell].has_cell_state else ["h"]
    fewer = replace(prob, request=req.model_copy(update={"fields": states}))
    few = estimate_numbers(fewer, with_grad)
    if few * per <= limits.MAX_RESPONSE_BYTES:
        return ("fields",), (
            f"ask for `fields` {states}" + (f" with `precision` {digits}" if req.precision is None else "")
            + f" (about {_mib(few * per)} MiB), or shorten the sequence"
        )  # fmt: skip
    fixed, per_step = _numbers(fewer, with_grad)
    if with_grad and prob.model.embedding is not None and req.param_grads:
        per_step += prob.input_size + 1  # the embedding's rows read: at most one per step
    steps = (limits.MAX_RESPONSE_BYTES // per - fixed) // per_step
    if steps >= 1:
        return ("fields",), (
            f"even `fields` {states} with `precision` {digits} would be about {_mib(few * per)} MiB: ask for "
            f"those over at most {steps} steps"
        )
    return ("precision",), (
        f"the parameters' gradients alone are about {_mib(fixed * per)} MiB at {digits} digits: run "
        "/api/forward, which sends no gradients, or set a lower `precision`"
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


def _direction(prob: Problem, trace: Trace, slot: int, fields: set[str] | None, cut: slice) -> dict[str, Any]:
    """One direction of one layer: its forward arrays and, with grads, `grad` (rows `cut`)."""
    spec = SPECS[prob.request.cell]
    names = array_names(prob.request)
    arrays = trace.layers[slot]
    out: dict[str, Any] = {n: arrays[n][cut] for n in _selected(names, fields) if n in spec.forward or n in PROJECTED}
    if trace.grads is not None:
        g = trace.grads[slot]
        grad = {n: g[n][cut] for n in _selected(names, fields)}
        for n in spec.state_names:
            grad[n] = g[n]
        if prob.request.param_grads:
            for kind in prob.model.layers[slot].tensors():
                grad[kind] = g[kind]
        out["grad"] = grad
    return out


def _layers(prob: Problem, trace: Trace, fields: set[str] | None, cut: slice) -> list[dict[str, Any]]:
    arch = prob.arch
    layers = []
    for k in range(arch.num_layers):
        if not arch.bidirectional:
            layers.append({"direction": DIRECTIONS[0], **_direction(prob, trace, k, fields, cut)})
            continue
        layer: dict[str, Any] = {"direction": "bidirectional", "merge_mode": arch.merge_mode}
        for d, name in enumerate(DIRECTIONS):
            layer[name] = {"direction": name, **_direction(prob, trace, 2 * k + d, fields, cut)}
        if fields is None or "h" in fields:
            layer["h"] = trace.outputs[k][cut]
        if trace.grads is not None:
            grad = {}
            if fields is None or "x" in fields:
                grad["x"] = (trace.grads[2 * k]["x"] + trace.grads[2 * k + 1]["x"])[cut]
            if fields is None or "h" in fields:
                grad["h"] = trace.output_grads[k][cut]  # dL/d(the merged output), before the split
            layer["grad"] = grad
        layers.append(layer)
    return layers


# The head's weight gradients among a trace's `output` (the rest are per-step rows).
HEAD_GRADS = ("grad_head.weight", "grad_head.bias")


def _output(prob: Problem, trace: Trace, cut: slice) -> dict[str, Any] | None:
    """The head's answer: whole matrices when `full_output`, each step's top k with softmax
    probabilities, and the target's probability and gradient under cross-entropy (rows `cut`)."""
    if not trace.output:
        return None
    full = full_output(prob)
    out: dict[str, Any] = {"full": full}
    if full:
        for name, value in trace.output.items():
            if name not in HEAD_GRADS:
                out[name] = value[cut]
            elif prob.request.param_grads:
                out[name] = value
    elif prob.loss.kind == "mse":
        out["y"] = trace.output["y"][cut]  # regression is read whole: its targets were sent whole
    probs = trace.output.get("probs")
    if probs is not None:
        probs = probs[cut]
        k = min(prob.request.top_k, probs.shape[1])
        top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(probs, top, axis=1), axis=1, kind="stable")
        ids = np.take_along_axis(top, order, axis=1)
        # Indices as JSON integers (prepare() makes every array float64).
        out["top_k"] = {"ids": ids.tolist(), "probs": np.take_along_axis(probs, ids, axis=1)}
        if prob.loss.kind == "cross_entropy":
            targets = prob.loss.targets[cut]
            scored = targets != NO_CLASS
            rows = np.arange(targets.size)
            safe = np.where(scored, targets, 0)
            target: dict[str, Any] = {"ids": targets.tolist(), "probs": _gaps(probs[rows, safe], scored)}
            if "grad_y" in trace.output:
                target["grad_y"] = _gaps(trace.output["grad_y"][cut][rows, safe], scored)
            out["target"] = target
    return out


def _gaps(values: np.ndarray, present: np.ndarray) -> list[float | None]:
    return [float(v) if p else None for v, p in zip(values, present, strict=True)]


def build_response(prob: Problem, trace: Trace) -> dict[str, Any]:
    req, arch = prob.request, prob.arch
    spec = SPECS[req.cell]
    fields = check_fields(req)
    start, stop = step_window(prob)
    cut = slice(start, stop)
    body: dict[str, Any] = {
        "cell": req.cell,
        "hidden_size": req.hidden_size,
        "num_layers": req.num_layers,
        "bidirectional": arch.bidirectional,
        "merge_mode": arch.merge_mode,
        "proj_size": arch.proj_size,
        "bias": arch.bias,
        "output_size": arch.output_size,
        "input_size": prob.input_size,
        "steps": prob.steps,
        "gate_order": list(spec.blocks),
        "tokens": prob.tokens,
        "vocab": prob.vocab,
        "loss_kind": prob.loss.kind,
        "loss": trace.loss,
        "layers": _layers(prob, trace, fields, cut),
        "output": _output(prob, trace, cut),
    }
    if req.window is not None:
        body["window"] = {"start": start, "stop": stop}
    if trace.model_grads and req.param_grads:
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
