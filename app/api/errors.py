"""Client errors in the same shape FastAPI gives validation errors, so clients parse one format:

{"detail": [{"loc": ["body", "weights", "weight_ih_l0"], "msg": "...", "type": "..."}]}
"""

from __future__ import annotations

import math

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..nn.losses import LOSS_KINDS


class FieldError(Exception):
    """A request the schema let through but that cannot be computed; names the field."""

    def __init__(self, loc: tuple[str | int, ...], msg: str, kind: str = "value_error", status: int = 422):
        super().__init__(msg)
        self.loc = loc if loc[:1] in (("body",), ("query",), ("path",)) else ("body", *loc)
        self.msg = msg
        self.kind = kind
        self.status = status


async def field_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FieldError)
    return JSONResponse(
        status_code=exc.status,
        content={"detail": [{"loc": list(exc.loc), "msg": exc.msg, "type": exc.kind}]},
    )


def _echo(value: object) -> bool:
    """Echo an offending input back only if it is a small, JSON-safe scalar.

    Pydantic reports the input with each error; a NaN there cannot be written as JSON
    (the error would become a 500) and a huge nested list would bloat the answer.
    """
    if isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= 200


def _plain_loc(loc: tuple) -> list:
    """Drop the tag pydantic inserts for a tagged union: body.loss.mse.targets -> body.loss.targets.

    Our own errors name fields without it, so clients see one path per field.
    """
    out = list(loc)
    for k in range(len(out) - 1):
        if out[k] == "loss" and out[k + 1] in LOSS_KINDS:
            del out[k + 1]
            break
    return out


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = []
    for err in exc.errors():
        item = {
            "loc": _plain_loc(err.get("loc", ())),
            "msg": err.get("msg", "invalid"),
            "type": err.get("type", "value_error"),
        }
        if "input" in err and _echo(err["input"]):
            item["input"] = err["input"]
        detail.append(item)
    return JSONResponse(status_code=422, content={"detail": detail})
