"""The HTML side: the page, plotly.js from the installed package, and offline API docs."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
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


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


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
