"""The HTML side: the page, plotly.js from the installed package, and offline API docs."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path
from typing import Annotated

import fastapi_offline
import plotly
from fastapi import APIRouter, Header, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=ROOT / "templates")
STATIC_DIR = ROOT / "static"
# plotly.js ships inside the plotly Python package: served from there, never from a CDN.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Swagger UI's assets, bundled by fastapi-offline, so /docs works with no internet.
SWAGGER_DIR = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "index.html", {})


@functools.cache
def _plotly_gzip() -> bytes:
    """plotly.js compressed once (level 6: 4.8 MB -> about 1.4 MB), not on every request."""
    return gzip.compress(PLOTLY_JS.read_bytes(), compresslevel=6, mtime=0)


@router.get("/vendor/plotly.min.js")
def plotly_js(accept_encoding: Annotated[str, Header()] = "") -> Response:
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in accept_encoding:
        return Response(_plotly_gzip(), media_type="text/javascript", headers=headers | {"Content-Encoding": "gzip"})
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)


DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>LSTM visualiser API</title>
  <link rel="stylesheet" href="/vendor/swagger/swagger-ui.css">
  <link rel="icon" href="/vendor/swagger/favicon.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/vendor/swagger/swagger-ui-bundle.js"></script>
  <script src="/vendor/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI from local assets, started by a script file (no inline script, no CDN)."""
    return HTMLResponse(DOCS_HTML)


@router.get("/vendor/swagger-init.js")
def swagger_init() -> FileResponse:
    return FileResponse(Path(__file__).parent / "docs_assets" / "swagger-init.js", media_type="text/javascript")
