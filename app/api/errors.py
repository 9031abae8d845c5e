"""Client errors in the same shape FastAPI gives validation errors, so clients parse one format:

{"detail": [{"loc": ["body", "weights", "weight_ih_l0"], "msg": "...", "type": "..."}]}
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class FieldError(Exception):
    """A request the schema let through but that cannot be computed; names the field."""

    def __init__(self, loc: tuple[str | int, ...], msg: str, kind: str = "value_error", status: int = 422):
        super().__init__(msg)
        self.loc = ("body", *loc) if loc[:1] != ("body",) else loc
        self.msg = msg
        self.kind = kind
        self.status = status


async def field_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FieldError)
    return JSONResponse(
        status_code=exc.status,
        content={"detail": [{"loc": list(exc.loc), "msg": exc.msg, "type": exc.kind}]},
    )
