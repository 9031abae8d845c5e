"""Client errors in the same shape FastAPI gives validation errors, so clients parse one format:

{"detail": [{"loc": ["body", "weights", "weight_ih_l0"], "msg": "...", "type": "..."}]}
"""

from __future__ import annotations

import json
import math

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..nn.losses import LOSS_KINDS
from ..store import StoreFull

ERROR_MEANINGS = {
    400: "The body could not be parsed (not UTF-8, or JSON nested too deeply).",
    403: "The server runs read-only (--read-only): uploads, deletes and training are off.",
    404: "No such model, run or preset.",
    421: "The Host header names a host this server does not serve (see --allow-host).",
    413: "The request body, or the response it asks for, is over a size limit.",
    422: "A field is invalid; `loc` names it and `msg` says what was expected.",
    429: "Too many training runs at once.",
    507: "The model store is over its size budget or its disk is full: delete models to free space.",
}


class ErrorJSONResponse(JSONResponse):
    """JSON whose text is always encodable: a lone surrogate that reached a message becomes U+FFFD.

    The parser refuses such strings in bodies, but a message can still quote a query
    value or a filename; an error must never itself become a 500.
    """

    def render(self, content: object) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", errors="replace")


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
        self.loc = loc if loc[:1] in (("body",), ("query",), ("path",), ("header",)) else ("body", *loc)
        self.msg = msg
        self.kind = kind
        self.status = status


async def field_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FieldError)
    return ErrorJSONResponse(
        status_code=exc.status,
        content={"detail": [{"loc": list(exc.loc), "msg": exc.msg, "type": exc.kind}]},
    )


def _echo(value: object) -> bool:
    """Echo an offending input back only if it is a small, JSON-safe scalar.

    Pydantic reports the input with each error; a NaN there cannot be written as JSON
    (the error would become a 500) and a huge nested list would bloat the answer.
    """
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2**64  # a 4000-digit integer is not worth echoing
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= 200 and _encodable(value)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


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
    return ErrorJSONResponse(status_code=422, content={"detail": detail})


# FastAPI answers a body it cannot decode (invalid UTF-8, JSON nested deeper than Python's
# parser recurses) with this bare 400; say what to fix instead.
_UNPARSEABLE = "There was an error parsing the body"


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {"Allow": ", ".join(allowed_methods(request))}
    if exc.status_code == 400 and exc.detail == _UNPARSEABLE:
        msg = "the body could not be parsed as JSON: it must be UTF-8, nested at most a few hundred levels, with integers of at most 4300 digits"
        return ErrorJSONResponse(
            status_code=400, content={"detail": [{"loc": ["body"], "msg": msg, "type": "body_unparseable"}]}
        )
    return ErrorJSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route offers for this path (Starlette's 405 names one route's, or none).

    FastAPI 0.165 nests included routers; `iter_route_contexts` flattens them into the
    routes as served, each with its full path pattern.
    """
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            methods |= set(route.methods)
    if "GET" in methods:
        methods.add("HEAD")  # answered as GET without a body (security.SecurityMiddleware)
    return sorted(methods)


async def store_full_handler(_request: Request, exc: Exception) -> JSONResponse:
    """507 for any write the store refuses (budget or full disk), whichever endpoint wrote."""
    assert isinstance(exc, StoreFull)
    return ErrorJSONResponse(
        status_code=507, content={"detail": [{"loc": ["store"], "msg": str(exc), "type": "store_full"}]}
    )
