"""The route class every API router uses: one place for what happens to a request before its endpoint.

Routers are made with `APIRouter(..., route_class=Route)`, so a change here (how JSON bodies
are parsed, budgets, cancellation) reaches every endpoint at once.

JSON bodies are read here and parsed in a worker thread, within a budget counted from the
raw bytes; the parsed value is handed to FastAPI through Starlette's cache
(`request._json`, which `Request.json()` returns when set), so FastAPI's own parse never
runs on the event loop.
"""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread
from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from .. import limits
from .errors import FieldError

# A \uD800-\uDFFF escape: only these can make a string that is not encodable as UTF-8
# (raw surrogate bytes already fail the strict UTF-8 decode).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# Python refuses to turn more digits than this into an int (sys.int_info.default_max_str_digits).
_INT_DIGITS = 4300


def json_budget_error(raw: bytes) -> FieldError | None:
    """413 when the body holds more lists or values than any accepted request needs.

    Counting bytes is a C loop over the buffer; parsing 10 million empty lists would take
    seconds and gigabytes. Commas inside strings count too, which the slack allows for.
    """
    containers = raw.count(b"[") + raw.count(b"{")
    if containers > limits.MAX_JSON_CONTAINERS:
        msg = f"the body holds about {containers} lists and objects; no request needs more than {limits.MAX_JSON_CONTAINERS}"
        return FieldError(("body",), msg, kind="too_many_elements", status=413)
    keys = raw.count(b":")
    if keys > limits.MAX_JSON_KEYS:
        msg = f"the body holds about {keys} object keys; no request needs more than {limits.MAX_JSON_KEYS}"
        return FieldError(("body",), msg, kind="too_many_elements", status=413)
    values = raw.count(b",") + 1
    if values > limits.MAX_JSON_VALUES:
        msg = f"the body holds about {values} values; no request needs more than {limits.MAX_JSON_VALUES}"
        return FieldError(("body",), msg, kind="too_many_elements", status=413)
    return None


def _long_int_as_float(digits: str) -> int | float:
    # Over Python's digit limit: a float (inf), which the schema then refuses naming the field.
    return float(digits) if len(digits.lstrip("-")) > _INT_DIGITS else int(digits)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        # The same answer FastAPI gives, naming the position.
        raise FieldError(("body", err.pos), f"JSON decode error: {err.msg}", kind="json_invalid") from None
    except RecursionError:
        raise FieldError(("body",), "the JSON is nested too deeply", kind="body_unparseable", status=400) from None
    except ValueError:
        # "Exceeds the limit (4300 digits) for integer string conversion": parse again,
        # keeping such integers as floats so that validation names the field.
        return json.loads(text, parse_int=_long_int_as_float)


def _lone_surrogate(value: Any, loc: tuple) -> tuple | None:
    """The location of the first string (or key) that cannot be encoded as UTF-8, if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return loc
        return None
    if isinstance(value, list):
        items = enumerate(value)
    elif isinstance(value, dict):
        for key in value:
            if _lone_surrogate(key, ()) is not None:
                return loc
        items = value.items()
    else:
        return None
    for key, item in items:
        found = _lone_surrogate(item, (*loc, key))
        if found is not None:
            return found
    return None


def read_json(raw: bytes) -> Any:
    """Budget, decode and parse a JSON body (called in a worker thread); FieldError if refused."""
    refused = json_budget_error(raw)
    if refused is not None:
        raise refused
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FieldError(
            ("body",), f"the body is not UTF-8 (byte {err.start})", kind="body_unparseable", status=400
        ) from None
    value = _loads(text)
    if _SURROGATE_ESCAPE.search(raw):
        try:
            loc = _lone_surrogate(value, ("body",))
        except RecursionError:
            raise FieldError(("body",), "the JSON is nested too deeply", kind="body_unparseable", status=400) from None
        if loc is not None:
            msg = "holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), which is not a character"
            raise FieldError(loc, msg, kind="string_unicode")
    return value


def _is_json(request: Request) -> bool:
    # FastAPI parses a body as JSON when its type is application/json or */*+json, or absent.
    content_type = request.headers.get("content-type")
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class Route(APIRoute):
    """FastAPI's route; the hardening of request handling lives here."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None and not isinstance(self.body_field.field_info, params.Form)
        if not takes_json:
            return handler

        async def parse_then_handle(request: Request) -> Response:
            raw = await request.body()
            if raw and _is_json(request):
                # Looked up at call time (not bound here) so tests can hold the parse.
                request._json = await anyio.to_thread.run_sync(read_json, raw)
            return await handler(request)

        return parse_then_handle
