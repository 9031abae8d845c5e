"""Headers on every response, the request-body limit, read-only mode, and who may talk to us.

Pure ASGI middleware: it sees every response (static files, docs, errors, streams) and can
refuse an oversized body from its Content-Length before a byte of it is read or parsed.
Every request is held to one body limit (limits.MAX_BODY_BYTES) except the routes named in
BODY_LIMITS: the model upload, whose file may be a training checkpoint of hundreds of MB
(limits.MAX_UPLOAD_BYTES; the form parser spools it to disk).

A server on 127.0.0.1 is still reachable from every web page the user opens:
- DNS rebinding: a page at evil.example re-resolves its name to 127.0.0.1 and then reads
  and writes the API as "same origin". The browser still sends `Host: evil.example`, so
  only the configured host names are served (loopback names by default; `--host` and
  `--allow-host` add more), anything else gets 421.
- Cross-site writes: a foreign page can POST a form (multipart upload) without any CORS
  preflight. Every request that is not GET/HEAD/OPTIONS must come from this server's own
  origin: refused with 403 when the browser says `Sec-Fetch-Site: cross-site|same-site`, or
  sends an `Origin` other than an allowed host on this port. This also covers POST
  /api/forward and friends (computations, not state changes): one simple rule, and a
  foreign page cannot burn the CPU either. Requests with neither header (curl, scripts,
  tests) are not from a browser and pass.
"""

from __future__ import annotations

import json
import os
import re

from fastapi import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import MAX_UPLOAD_BYTES

READ_ONLY_ENV = "LSTMVIS_READ_ONLY"
# Comma-separated extra host names (from --host and --allow-host), read by every worker.
ALLOWED_HOSTS_ENV = "LSTMVIS_ALLOWED_HOSTS"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# (method, exact path) -> the body limit of that one route, instead of the middleware's own
# (not in read-only mode: the route refuses every request there).
BODY_LIMITS = {("POST", "/api/models"): MAX_UPLOAD_BYTES}

# Scripts only from this origin, never inline; Plotly and Swagger UI set inline styles,
# so styles allow 'unsafe-inline' (styles cannot run code). Nothing may frame the app.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def read_only() -> bool:
    return os.environ.get(READ_ONLY_ENV, "") not in ("", "0", "false")


def require_writable() -> None:
    """Dependency for uploads, deletes and training: refused in read-only mode (a public demo)."""
    if read_only():
        raise HTTPException(403, "this server runs read-only (--read-only): uploads, deletes and training are off")


def allowed_hosts() -> set[str]:
    """Host names this server answers to: loopback, plus $LSTMVIS_ALLOWED_HOSTS."""
    extra = os.environ.get(ALLOWED_HOSTS_ENV, "")
    return {*LOOPBACK_NAMES, *(h.strip().lower().strip("[]") for h in extra.split(",") if h.strip())}


# A Host header (or an Origin's authority): a name or a bracketed IPv6 address, an optional
# trailing dot, an optional port; nothing else (no userinfo, no path, no junk after "]").
_AUTHORITY = re.compile(
    r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9-]+(?:\.[a-z0-9-]+)*))\.?(?::(?P<port>[0-9]{1,5}))?"
)


def split_host(value: str) -> tuple[str, str]:
    """'Name:port' / '[::1]:port' -> ('name', 'port'); port '' when absent; ('', '') when malformed."""
    match = _AUTHORITY.fullmatch(value.strip().lower())
    if match is None:
        return "", ""
    return match["v6"] or match["name"], match["port"] or ""


def host_refusal(headers: dict[bytes, bytes]) -> tuple[int, list[dict]] | None:
    """421 for a Host header naming a host we do not serve (DNS rebinding), or not a host at all."""
    raw = headers.get(b"host")
    if raw is None:  # HTTP/1.0 without Host: not a browser
        return None
    host = raw.decode("latin-1")
    name = split_host(host)[0]
    if name and name in allowed_hosts():
        return None
    msg = (
        f"this server does not serve the host name {host[:100]!r}; "
        "start it with --allow-host NAME to serve that name (loopback names are always served)"
    )
    return 421, [{"loc": ["header", "host"], "msg": msg, "type": "host_not_allowed"}]


_ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<authority>[^/?#]*)")
_DEFAULT_PORT = {"http": "80", "https": "443"}


def _same_origin(origin: str, host: str, scheme: str) -> bool:
    """The origin's scheme is the request's, its host one we serve, on the port the request
    came to.  Anything malformed is not the same origin (and never an error)."""
    match = _ORIGIN.fullmatch(origin.strip().lower())
    if match is None or match["scheme"] != scheme:
        return False
    name, port = split_host(match["authority"])
    host_name, host_port = split_host(host)
    default = _DEFAULT_PORT[scheme]
    return bool(name) and bool(host_name) and name in allowed_hosts() and (port or default) == (host_port or default)


def origin_refusal(
    method: str, headers: dict[bytes, bytes], scheme: str = "http", repeated: frozenset[bytes] = frozenset()
) -> tuple[int, list[dict]] | None:
    """403 for a state-changing (non-GET) request a browser sent from another site."""
    if method in SAFE_METHODS:
        return None
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
    origin = headers.get(b"origin")
    if repeated & {b"origin", b"sec-fetch-site"}:
        # Browsers send each once; with two, which one counts would be a guess.
        why = "Origin or Sec-Fetch-Site is sent more than once"
    elif site in ("cross-site", "same-site"):
        why = f"Sec-Fetch-Site is {site}"
    elif origin is not None and not _same_origin(
        origin.decode("latin-1"),
        headers.get(b"host", b"").decode("latin-1"),
        scheme if scheme in _DEFAULT_PORT else "http",
    ):
        why = f"Origin {origin.decode('latin-1')[:100]!r} is not this server"
    else:
        return None
    msg = f"{method} requests must come from this server's own pages ({why})"
    return 403, [{"loc": ["header", "origin"], "msg": msg, "type": "cross_site"}]


async def _json(send: Send, status: int, detail: object, extra: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *HEADERS, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """Host and origin checks, security headers on every response, and a body-size limit:
    `max_body` for every route but those in `route_limits` (BODY_LIMITS unless given)."""

    def __init__(self, app: ASGIApp, max_body: int, route_limits: dict[tuple[str, str], int] | None = None):
        self.app = app
        self.max_body = max_body
        self.route_limits = BODY_LIMITS if route_limits is None else route_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("headers", [])
        headers = dict(raw)
        names = [name for name, _ in raw]
        repeated = frozenset(n for n in (b"origin", b"sec-fetch-site") if names.count(n) > 1)
        refusal = host_refusal(headers) or origin_refusal(
            scope["method"], headers, scope.get("scheme", "http"), repeated
        )
        if refusal is not None:
            await _json(send, *refusal)
            return
        # HEAD is GET without the body: the routes below see GET (FastAPI's routes do not
        # take HEAD), and the body is dropped on the way out, its headers kept.
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        # A read-only server refuses uploads (403), so their larger bodies are not taken either.
        route = (scope["method"], scope.get("path", ""))
        max_body = self.max_body if read_only() else self.route_limits.get(route, self.max_body)
        too_large = [
            {
                "loc": ["body"],
                "msg": f"the request body is over the {max_body // 2**20} MiB limit",
                "type": "too_large",
            }
        ]
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > max_body:
                await _json(send, 413, too_large, [(b"connection", b"close")])
                return

        started = False
        overflow = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if overflow:
                # The app saw a truncated body; whatever it answers, the answer is 413.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _json(send, 413, too_large, [(b"connection", b"close")])
                return
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in present]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        received = 0

        async def receive_limited() -> Message:
            # Chunked bodies carry no Content-Length: count while reading, and stop reading
            # (hand the app an empty last chunk) once over the limit.
            nonlocal received, overflow
            if overflow:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    overflow = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        await self.app(scope, receive_limited, send_with_headers)


LOOPBACK = {"127.0.0.1", "::1"}


class RemoteGZipMiddleware:
    """Gzip responses for clients on other machines only.

    Over loopback, compressing a 3 MB trace costs more time (about 30 ms at level 1) than
    sending it uncompressed; over a network it saves bytes. Precompressed files (plotly.js)
    keep their own Content-Encoding either way.
    """

    def __init__(self, app: ASGIApp, minimum_size: int, compresslevel: int):
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and client[0] in LOOPBACK:
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)
