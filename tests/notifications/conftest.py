"""Real servers for the notification tests: aiosmtpd on loopback and pytest-httpserver with
the WeCom robot's address pointed at it. Every message any test sends is scanned for
unmasked phone and ID numbers when the test ends."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notifications.routing import Routing, load_routing
from notifications.settings import NotifySettings, ServiceLimits
from services.context import Context
from storage.records import enqueue_alert
from tests.cli.conftest import cli_env, tousu  # noqa: F401 - fixtures for test_cli.py
from tests.factories import cst

# Every message sent during the session, for the masking scan.
SENT: list[str] = []
_PII = [
    re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])"),
    re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])"),
    re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])"),
]
WORKING = cst(2026, 11, 23, 10, 0)  # a Monday, inside working hours


def unmasked(text: str) -> list[str]:
    return [m.group() for p in _PII for m in p.finditer(text)]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        SENT.append(_email_text(msg))  # type: ignore[arg-type]
        return "250 OK"


def _email_text(msg: email.message.EmailMessage) -> str:
    parts = [str(msg["Subject"])]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


@dataclass
class SMTP:
    port: int
    inbox: _Inbox
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.inbox.messages

    def url(self, to: str = "lead@example.com", **extra: str) -> str:
        q = "&".join(f"{k}={v}" for k, v in extra.items())
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=tousu@example.com&to={to}" + (
            f"&{q}" if q else ""
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[SMTP]:
    server = SMTP(port=free_port(), inbox=_Inbox())
    server.start()
    yield server
    server.stop()


@dataclass
class WeCom:
    server: HTTPServer
    posts: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def handler(self, request: Request) -> Response:
        if self.down:
            return Response("unavailable", status=503)
        body = json.loads(request.get_data())
        self.posts.append({"key": request.args.get("key"), **body})
        SENT.append(json.dumps(body, ensure_ascii=False))
        return Response(json.dumps({"errcode": 0, "errmsg": "ok"}), content_type="application/json")


@pytest.fixture
def wecom(httpserver: HTTPServer) -> Iterator[WeCom]:
    from notifications.routing import prepare_apprise

    prepare_apprise()
    from apprise.plugins.wecombot import NotifyWeComBot

    robot = WeCom(httpserver)
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_handler(robot.handler)
    saved = NotifyWeComBot.notify_url
    NotifyWeComBot.notify_url = httpserver.url_for("/cgi-bin/webhook/send") + "?key={key}"
    yield robot
    NotifyWeComBot.notify_url = saved


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield int(sock.getsockname()[1])
    stop.set()
    t.join()
    for c in held:
        c.close()
    sock.close()


# Short timeouts for the tests of a server that accepts and never answers.
SILENT = {"default": ServiceLimits(rate=0, cto=1.0, rto=1.0)}


def settings(**over: Any) -> NotifySettings:
    base: dict[str, Any] = {
        "apprise_file": Path("unused.yaml"),
        "secrets_file": None,
        "fallback_after": 2,
        "backoff_base": 60.0,
        "backoff_max": 600.0,
        "workers": 4,
        "quiet_hours": True,
        # Loopback servers answer in milliseconds, but a loaded CI machine can stall a thread
        # for a second; tests of a server that never answers pass SILENT instead.
        "services": {"default": ServiceLimits(rate=0, cto=5.0, rto=5.0)},
    }
    base.update(over)
    return NotifySettings(**base)


def routing(yaml: str, s: NotifySettings | None = None, **env: str) -> Routing:
    return load_routing(s or settings(), environ=env, text=yaml)


def alert(
    ctx: Context,
    key: str,
    *,
    kind: str = "deadline_warning",
    audience: str = "role:team_lead",
    urgent: bool = False,
    now: datetime = WORKING,
    **payload: Any,
) -> None:
    body = {
        "number": f"TS20261123{abs(hash(key)) % 10**7:07d}",
        "state": "investigating",
        "deadline": "decision",
        "due": "2026-11-30T16:00:00+00:00",
        **payload,
    }
    with ctx.engine.begin() as conn:
        enqueue_alert(
            conn,
            dedupe_key=key,
            kind=kind,
            audience=audience,
            complaint_id=None,
            event_id=None,
            payload=body,
            urgent=urgent,
            now=now,
        )


@pytest.fixture(autouse=True)
def _no_unmasked_personal_data() -> Iterator[None]:
    """The scan of every message sent in the suite: each test's messages, as it ends."""
    start = len(SENT)
    yield
    leaks = [(m, hit) for m in SENT[start:] for hit in unmasked(m)]
    assert not leaks, f"unmasked personal data sent: {leaks[:3]}"
