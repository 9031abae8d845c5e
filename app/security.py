"""Headers on every response, the request-body limit, and read-only mode.

Pure ASGI middleware: it sees every response (static files, docs, errors, streams) and can
refuse an oversized body from its Content-Length before a byte of it is read or parsed.
"""

from __future__ import annotations

import json
import os

from fastapi import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_ONLY_ENV = "LSTMVIS_READ_ONLY"

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


async def _json(send: Send, status: int, detail: object, extra: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *HEADERS, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """Security headers on every response, and a body-size limit enforced while reading."""

    def __init__(self, app: ASGIApp, max_body: int):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = [
            {
                "loc": ["body"],
                "msg": f"the request body is over the {self.max_body // 2**20} MiB limit",
                "type": "too_large",
            }
        ]
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
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
                if received > self.max_body:
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
