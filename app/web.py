"""The HTML side: the page (its labels rendered in the chosen language), plotly.js from the
installed package, long-lived caching of versioned assets, and offline API docs."""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Annotated

import fastapi_offline
import plotly
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.staticfiles import StaticFiles

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=ROOT / "templates")
STATIC_DIR = ROOT / "static"
# plotly.js ships inside the plotly Python package: served from there, never from a CDN.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Swagger UI's assets, bundled by fastapi-offline, so /docs works with no internet.
SWAGGER_DIR = Path(fastapi_offline.__file__).parent / "static"

# The page's strings: one JSON object per language in a module the page imports
# (static/js/core/strings.<lang>.js, read by core/i18n.js); the server reads the same files.
STRINGS_DIR = STATIC_DIR / "js" / "core"
LANGUAGES = ("en", "ko")

router = APIRouter(include_in_schema=False)


def _asset_version() -> str:
    """A digest of every static file and of plotly.js's version: it changes whenever any
    asset does, so versioned URLs can be cached for a year and never go stale."""
    digest = hashlib.sha256(plotly.__version__.encode())
    for path in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


ASSET_VERSION = _asset_version()
# Everything under this prefix is immutable: static/ as /v/<version>/static/..., plotly.js as
# /v/<version>/vendor/plotly.min.js.  The ES modules import each other by relative paths, so
# the whole module graph inherits the version from the entry's URL.
ASSET_PREFIX = f"/v/{ASSET_VERSION}"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class CachedStaticFiles(StaticFiles):
    """StaticFiles (GET and HEAD, ETag, 304) with one Cache-Control for everything it serves."""

    def __init__(self, *args, cache_control: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cache_control = cache_control

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"])
def unversioned_static(path: str, request: Request) -> Response:
    """A plain /static/ URL (a bookmark, an old page, a test importing a module) is sent to
    the current version, so a module has one URL and the page one instance of it."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        return Response(status_code=404)
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(
        f"{ASSET_PREFIX}/static/{path}{query}", status_code=307, headers={"Cache-Control": REVALIDATE}
    )


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """The page's strings in `lang` (static/js/core/strings.<lang>.js: `export default {JSON};`)."""
    text = (STRINGS_DIR / f"strings.{lang}.js").read_text(encoding="utf-8")
    _, marker, body = text.partition("export default ")
    if not marker:
        raise ValueError(f"strings.{lang}.js: no `export default` object")
    return json.loads(body.strip().removesuffix(";"))


def translate(key: str, lang: str) -> str:
    """A string as core/i18n.js's t() finds it: the language's, else English, else the key."""
    return strings(lang).get(key) or strings("en").get(key) or key


# An opening tag, and its closing tag when the element is empty (as the template leaves every
# data-i18n element).
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>(</\1>)?")
_I18N_ATTR = re.compile(r'\sdata-i18n(-label|-title)?="([^"]+)"')


def fill_labels(page: str, lang: str) -> str:
    """What core/labels.js's applyLabels does in the browser, done on the server: data-i18n
    fills an empty element's text, data-i18n-label its aria-label, data-i18n-title its title.
    So the page reads in its language before any script runs, from the same strings."""

    def fill(m: re.Match) -> str:
        tag, attrs, close = m.group(1), m.group(2) or "", m.group(3)
        found = dict(((kind or ""), key) for kind, key in _I18N_ATTR.findall(attrs))
        if not found:
            return m.group(0)
        extra = ""
        if "-label" in found and " aria-label=" not in attrs:
            extra += f' aria-label="{html.escape(translate(found["-label"], lang))}"'
        if "-title" in found and " title=" not in attrs:
            extra += f' title="{html.escape(translate(found["-title"], lang))}"'
        text = html.escape(translate(found[""], lang), quote=False) if "" in found and close else ""
        return f"<{tag}{attrs}{extra}>{text}{close or ''}"

    return _TAG.sub(fill, page)


@functools.cache
def page(lang: str) -> str:
    """The page in `lang`: the same for every request, so made once per language."""
    rendered = TEMPLATES.get_template("index.html").render(
        lang=lang, title=translate("page.title", lang), asset=ASSET_PREFIX
    )
    return fill_labels(rendered, lang)


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def index(lang: Annotated[str, Query()] = "en") -> HTMLResponse:
    """The page, its labels in ?lang= (en or ko; anything else is English, as the page reads it)."""
    lang = lang if lang in LANGUAGES else "en"
    return HTMLResponse(page(lang), headers={"Cache-Control": REVALIDATE, "Content-Language": lang})


@functools.cache
def _plotly_gzip() -> bytes:
    """plotly.js compressed once (level 6: 4.8 MB -> about 1.4 MB), not on every request."""
    return gzip.compress(PLOTLY_JS.read_bytes(), compresslevel=6, mtime=0)


def _plotly_response(accept_encoding: str, cache_control: str) -> Response:
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding", "ETag": f'"plotly-{plotly.__version__}"'}
    if "gzip" in accept_encoding:
        return Response(_plotly_gzip(), media_type="text/javascript", headers=headers | {"Content-Encoding": "gzip"})
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)


@router.api_route(f"{ASSET_PREFIX}/vendor/plotly.min.js", methods=["GET", "HEAD"])
def plotly_js(accept_encoding: Annotated[str, Header()] = "") -> Response:
    """plotly.js as the page loads it: versioned, cached for a year."""
    return _plotly_response(accept_encoding, IMMUTABLE)


@router.api_route("/vendor/plotly.min.js", methods=["GET", "HEAD"])
def plotly_js_unversioned(accept_encoding: Annotated[str, Header()] = "") -> Response:
    return _plotly_response(accept_encoding, "public, max-age=86400")


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


@router.api_route("/docs", methods=["GET", "HEAD"], response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI from local assets, started by a script file (no inline script, no CDN)."""
    return HTMLResponse(DOCS_HTML)


@router.api_route("/vendor/swagger-init.js", methods=["GET", "HEAD"])
def swagger_init() -> FileResponse:
    return FileResponse(Path(__file__).parent / "docs_assets" / "swagger-init.js", media_type="text/javascript")
