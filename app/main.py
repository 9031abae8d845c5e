"""create_app(): routers, static files, templates and error handlers.  `app` is for uvicorn."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, web
from .api import compare, gallery, meta, models, presets, traces, train
from .api.errors import (
    FieldError,
    field_error_handler,
    http_error_handler,
    store_full_handler,
    validation_error_handler,
)
from .limits import MAX_BODY_BYTES
from .memory import tune_malloc
from .security import RemoteGZipMiddleware, SecurityMiddleware
from .store import StoreFull


def create_app() -> FastAPI:
    app = FastAPI(
        title="LSTM visualiser",
        version=__version__,
        description="Exact forward and backward (BPTT) traces of LSTM, GRU and RNN, gate by gate.",
        docs_url=None,  # served by web.docs from local assets
        redoc_url=None,
    )
    app.add_exception_handler(FieldError, field_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    # Any endpoint that writes to the store (uploads, training checkpoints) answers 507 alike.
    app.add_exception_handler(StoreFull, store_full_handler)
    # Level 1: a 26 MB trace compresses 2.6x in 0.2 s; the default level 9 takes 7 s for 3.1x.
    app.add_middleware(RemoteGZipMiddleware, minimum_size=2048, compresslevel=1)
    # Outermost: refuses foreign hosts, cross-site writes and oversized bodies before anything
    # reads them; headers on everything.
    app.add_middleware(SecurityMiddleware, max_body=MAX_BODY_BYTES)
    for r in (meta.router, presets.router, traces.router, compare.router, models.router, train.router, web.router):
        app.include_router(r)
    app.include_router(gallery.router)
    # The page's assets under a version (web.ASSET_PREFIX), cached for a year; a plain
    # /static/ URL redirects there (web.unversioned_static).  StaticFiles answers GET and HEAD.
    app.mount(
        f"{web.ASSET_PREFIX}/static",
        web.CachedStaticFiles(directory=web.STATIC_DIR, cache_control=web.IMMUTABLE),
        name="static",
    )
    app.mount("/vendor/swagger", StaticFiles(directory=web.SWAGGER_DIR), name="swagger")
    return app


# Every server process imports this module (uvicorn's workers too): tune its allocator first.
tune_malloc()
app = create_app()
