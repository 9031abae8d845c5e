"""Client errors in the same shape FastAPI gives validation errors, so clients parse one format:

{"detail": [{"loc": ["body", "weights", "weight_ih_l0"], "msg": "...", "type": "..."}]}
"""

from __future__ import annotations

import math

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..nn.losses import LOSS_KINDS

ERROR_MEANINGS = {
    400: "The body could not be parsed (not UTF-8, or JSON nested too deeply).",
    403: "The server runs read-only (--read-only): uploads, deletes and training are off.",
    404: "No such model, run or preset.",
    413: "The request body, or the response it asks for, is over a size limit.",
    422: "A field is invalid; `loc` names it and `msg` says what was expected.",
    429: "Too many training runs at once.",
}


def error_responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI entries for the 4xx answers an operation can give, all as JSON `{"detail": ...}`.

    The content type is spelled out so that routes streaming another type (server-sent
    events) still document their errors as JSON.
    """
    from .schemas import ErrorResponse

    return {
        code: {
            "model": ErrorResponse,
            "description": ERROR_MEANINGS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        }
        for code in codes
    }


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
        # The bound that was crossed ({"le": 256}), for clients that show it; not exceptions.
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if _echo(v)}
        if ctx:
            item["ctx"] = ctx
        detail.append(item)
    return JSONResponse(status_code=422, content={"detail": detail})


# FastAPI answers a body it cannot decode (invalid UTF-8, JSON nested deeper than Python's
# parser recurses) with this bare 400; say what to fix instead.
_UNPARSEABLE = "There was an error parsing the body"


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; list every method the path has.
        allowed = sorted(
            {
                m
                for r in request.app.routes
                if getattr(r, "methods", None) and r.matches(request.scope)[0] != Match.NONE
                for m in r.methods
            }
        )
        headers = {"Allow": ", ".join(allowed)}
    if exc.status_code == 400 and exc.detail == _UNPARSEABLE:
        msg = "the body could not be parsed as JSON: it must be UTF-8, nested at most a few hundred levels, with integers of at most 4300 digits"
        return JSONResponse(
            status_code=400, content={"detail": [{"loc": ["body"], "msg": msg, "type": "body_unparseable"}]}
        )
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=headers)
