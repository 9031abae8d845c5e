"""create_app(): routers, static files, templates and error handlers.  `app` is for uvicorn."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from . import __version__, web
from .api import meta, presets, traces
from .api.errors import FieldError, field_error_handler
from .limits import MAX_BODY_BYTES


def create_app() -> FastAPI:
    app = FastAPI(
        title="LSTM visualiser",
        version=__version__,
        description="Exact forward and backward (BPTT) traces of LSTM, GRU and RNN, gate by gate.",
        docs_url=None,  # served by web.docs from local assets
        redoc_url=None,
        max_body_size=MAX_BODY_BYTES,
    )
    app.add_exception_handler(FieldError, field_error_handler)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    for r in (meta.router, presets.router, traces.router, web.router):
        app.include_router(r)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount("/vendor/swagger", StaticFiles(directory=web.SWAGGER_DIR), name="swagger")
    return app


app = create_app()
