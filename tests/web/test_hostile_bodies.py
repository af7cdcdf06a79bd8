"""Bodies sent to the API before anyone has proven who they are, or bigger than any request
of the API can be: refused before they are received. FastAPI reads (and spools to disk) a
request's whole body before its dependencies run, so without a check first an unauthenticated
client could push gigabytes at POST /api/v1/transfers/12378 and only then hear 401.

The ASGI application is called directly with a `receive` that counts what the application
pulls (the test client reads the whole body before the application sees any of it)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from services import identity
from web.app import create_app

CHUNK = b"x" * (1024 * 1024)
PART = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="12378.csv"\r\n'
    b"Content-Type: text/csv\r\n\r\n"
)


def call(app: Any, path: str, headers: dict[str, str], megabytes: int) -> tuple[int, int]:
    """(status, bytes of the body the application received) of one POST whose body is
    `megabytes` chunks of 1 MB."""
    first = PART if "multipart" in headers.get("content-type", "") else b""
    chunks: Iterator[bytes] = iter([first + CHUNK] + [CHUNK] * (megabytes - 1))
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.7.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status, pulled


MULTIPART = {
    "content-type": "multipart/form-data; boundary=b",
    "content-length": str(40 * 1024 * 1024),
}


def test_an_unauthenticated_upload_is_refused_before_its_body_is_received(ctx):
    status, pulled = call(create_app(ctx), "/api/v1/transfers/12378", MULTIPART, 40)
    assert status == 401
    assert pulled <= len(PART + CHUNK), f"{pulled // 2**20} MB received before the 401"


def test_an_invalid_or_readonly_token_is_refused_before_the_body_too(ctx):
    _, readonly = identity.create_token(
        ctx, username="clerk", name="看板", actor="clerk", scope="readonly"
    )
    for token, expected in (("tsk_forged", 401), (readonly, 403)):
        headers = {**MULTIPART, "authorization": f"Bearer {token}"}
        status, pulled = call(create_app(ctx), "/api/v1/transfers/12378", headers, 40)
        assert status == expected and pulled <= len(PART + CHUNK)


@pytest.mark.parametrize(
    ("path", "content_type", "megabytes"),
    [
        ("/api/v1/transfers/12378", "multipart/form-data; boundary=b", 60),
        ("/api/v1/complaints", "application/json", 4),
        ("/api/v1/complaints/TS1/accept", "application/json", 4),
    ],
)
def test_a_body_declared_bigger_than_any_request_is_refused_unread(
    ctx, path, content_type, megabytes
):
    _, raw = identity.create_token(ctx, username="clerk", name="脚本", actor="clerk")
    headers = {
        "content-type": content_type,
        "content-length": str(megabytes * 1024 * 1024),
        "authorization": f"Bearer {raw}",
    }
    status, pulled = call(create_app(ctx), path, headers, megabytes)
    assert status in (400, 413)
    assert pulled <= len(PART + CHUNK), f"{pulled // 2**20} MB received before the refusal"


URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("path", ["/register", "/cases/TS1/actions/accept", "/logout"])
def test_an_anonymous_page_post_is_refused_before_its_body_is_received(ctx, path):
    headers = {**MULTIPART}
    status, pulled = call(create_app(ctx), path, headers, 40)
    assert status in (303, 401, 403, 413)
    assert pulled <= len(PART + CHUNK), f"{pulled // 2**20} MB received before the refusal"


def test_a_login_body_bigger_than_any_login_is_refused_unread(ctx):
    headers = {**URLENCODED, "content-length": str(64 * 1024 * 1024)}
    status, pulled = call(create_app(ctx), "/login", headers, 64)
    assert status in (400, 413)
    assert pulled <= len(CHUNK), f"{pulled // 2**20} MB received before the refusal"
