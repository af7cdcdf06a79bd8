"""The application itself: health, and errors mapped to the CLI's codes (web/app.py)."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from states.errors import Conflict, InvalidInput, NotFound
from web.app import create_app


def test_health_answers_ok(ctx):
    with TestClient(create_app(ctx)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "worker": os.getpid()}


def test_errors_under_api_are_json_with_the_cli_exit_code(ctx):
    app = create_app(ctx)

    @app.get("/api/v1/_raise/{kind}")
    def boom(kind: str) -> None:
        raise {
            "bad": InvalidInput("phone", "手机号应为 11 位"),
            "none": NotFound("无此投诉"),
            "late": Conflict("他人已修改"),
        }[kind]

    with TestClient(app) as client:
        bad = client.get("/api/v1/_raise/bad")
        missing = client.get("/api/v1/_raise/none")
        late = client.get("/api/v1/_raise/late")
    assert (bad.status_code, bad.json()["error"], bad.json()["field"]) == (
        400,
        "invalid_input",
        "phone",
    )
    assert bad.json()["exit_code"] == 2 and bad.json()["message"] == "手机号应为 11 位"
    assert (missing.status_code, missing.json()["exit_code"]) == (404, 4)
    assert (late.status_code, late.json()["error"]) == (409, "conflict")


def test_errors_on_pages_are_a_chinese_page(ctx):
    app = create_app(ctx)

    @app.get("/x/{number}")
    def page(number: str) -> None:
        raise NotFound(f"投诉 {number} 不存在")

    with TestClient(app) as client:
        response = client.get("/x/TS1")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "投诉 TS1 不存在" in response.text and "不存在" in response.text


def test_the_socket_several_workers_share_sends_without_nagles_delay():
    """uvicorn binds the socket its workers share without naming TCP, so asyncio left Nagle's
    algorithm on and each two-part response waited ~40 ms for a delayed ACK (web/server.py)."""
    import socket

    from web.server import NoDelayConfig

    config = NoDelayConfig("web.app:create_app", factory=True, host="127.0.0.1", port=0)
    sock = config.bind_socket()
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        sock.listen()  # (the worker's server listens on it)
        client = socket.create_connection(sock.getsockname()[:2])
        accepted, _ = sock.accept()
        try:  # the option passes on to every connection accepted
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            accepted.close()
            client.close()
    finally:
        sock.close()
