"""What every response and every request body goes through (pure ASGI, no per-route code):

- A body larger than `[web] max_body_bytes` (1 MiB: any form or JSON a person or a system
  sends) is refused with 413 before it is read, by its Content-Length or, sent in chunks,
  once the limit is passed; the upload routes (`UPLOADS`, the 12378 list) take up to
  `[web] max_upload_bytes` (their own code refuses a larger file by name).
- Every response says it may not be framed by another site (clickjacking: a framed case page
  with its reveal button), is not to be sniffed into another type, and sends no referrer off
  the site (case numbers are in the addresses).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOADS = ("/api/v1/transfers/",)
HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class TooLarge(Exception):
    """Raised from the counting receive() once a chunked body passes the limit."""


class Guard:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.max_upload if path.startswith(UPLOADS) else self.max_body
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server refuses a malformed length itself
            if too_big:
                await _refuse(scope, send, limit)
                return

        started = False
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge
            return message

        async def secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, counted, secured)
        except TooLarge:
            if not started:
                await _refuse(scope, send, limit)


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    message = f"请求内容过大: 最多 {limit // 1024} KB"
    api = str(scope.get("path", "")).startswith("/api/")
    if api:
        body = json.dumps(
            {"error": "too_large", "exit_code": 2, "message": message, "field": None},
            ensure_ascii=False,
        ).encode()
        kind = b"application/json"
    else:
        body = f"<!doctype html><meta charset=utf-8><title>413</title><p>{message}</p>".encode()
        kind = b"text/html; charset=utf-8"
    headers: list[Any] = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *HEADERS,
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
