"""Messages to the complainant: SMS through a local HTTP server acting as the gateway, e-mail
through aiosmtpd, the retry queue (a failing gateway, the handler's queue, the recovery), each
outcome a contact, and the acceptance-notice deadline met by a send or swept when overdue."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from services.automatic import escalation
from services.casefile import contacts, messages
from services.context import Context, open_context
from services.lifecycle import actions as a
from services.lifecycle.queries import get_complaint, queue
from services.lifecycle.registration import Person
from states.errors import Conflict, InvalidInput
from storage import records
from tests.conftest import make_config, seed_users
from tests.factories import accepted, cst, registered
from tests.notifications.conftest import free_port, unmasked

pytestmark = pytest.mark.clock

PHONE = "13800138000"  # tests/factories.py's complainant
PRIVATE = [PHONE, "赵六", "11010519491231002X", "北京市朝阳区"]


class Gateway:
    """The SMS gateway: records every request, answers 503 while `down`."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.requests: list[bytes] = []
        self.down = False
        server.expect_request("/sms/send").respond_with_handler(self.handler)

    def handler(self, request: Request) -> Response:
        self.requests.append(request.get_data())
        if self.down:
            return Response("unavailable", status=503)
        return Response('{"code": 0}', content_type="application/json")

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(b) for b in self.requests]


class Inbox:
    """aiosmtpd's handler: keeps each message as received (raw bytes) and parsed."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.raw.append(envelope.content)
        return "250 OK"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(r, policy=email.policy.default)  # type: ignore[misc]
            for r in self.raw
        ]


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    yield port, inbox
    server.stop()


@pytest.fixture
def gateway(httpserver: HTTPServer) -> Gateway:
    return Gateway(httpserver)


def _open(
    tmp_path: Path, template: Path, routing: str, url: str | None = None, **env: str
) -> Context:
    """A context whose routing file is `routing`: on a copy of the migrated SQLite template,
    or on `url` (PostgreSQL, emptied and seeded by the `pg_ctx` fixture)."""
    if url is None:
        db = tmp_path / "messages.db"
        shutil.copy(template, db)
        url = f"sqlite:///{db}"
    path = tmp_path / "apprise.yaml"
    path.write_text(routing, encoding="utf-8")
    context = open_context(
        make_config(
            tmp_path,
            url,
            TOUSU__NOTIFICATIONS__APPRISE_FILE=str(path),
            TOUSU__DEADLINES__ACCEPTANCE_NOTICE__ENABLED="true",
            TOUSU__MESSAGES__HOTLINE="400-000-0000",
            **{"TOUSU__MESSAGES__SEND_HOURS": "[]", **env},
        )
    )
    if url.startswith("sqlite"):
        seed_users(context)
    return context


@pytest.fixture(params=["sqlite", "postgres"])
def mctx(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    gateway: Gateway,
    smtp: tuple[int, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Context]:
    """The same tests on SQLite and (when it answers) PostgreSQL."""
    port = gateway.server.port
    routing = f"""version: 1
urls:
  - json://127.0.0.1:{port}/sms/send?+X-Api-Key=${{TOUSU_TEST_SMS_KEY}}:
      - tag: complainant-sms
  - mailto://127.0.0.1:{smtp[0]}?mode=insecure&from=tousu@example.com:
      - tag: complainant-email
"""
    monkeypatch.setenv("TOUSU_TEST_SMS_KEY", "k-test-sms-0001")
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_ctx").config.database_url
    context = _open(tmp_path, sqlite_template, routing, url)
    yield context
    context.close()


def _contacts(ctx: Context, number: str) -> list[dict]:
    return [e for e in get_complaint(ctx, number)["events"] if e["action"] == "contact"]


def _deadline(ctx: Context, number: str, name: str) -> dict | None:
    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        row = (
            conn.execute(
                select(records.DEADLINE).where(
                    records.DEADLINE.c.complaint_id == case["id"], records.DEADLINE.c.name == name
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def test_an_acceptance_sms_goes_to_the_gateway_with_nothing_personal_but_the_number(
    mctx: Context, gateway: Gateway, now: datetime
) -> None:
    number = accepted(mctx, now - timedelta(hours=5))
    sent = messages.send(mctx, number, "acceptance", actor="liaison", channel="sms", now=now)
    assert [(m["channel"], m["status"], m["attempts"]) for m in sent] == [("sms", "sent", 1)]
    assert len(gateway.requests) == 1
    raw = gateway.requests[0]
    body = gateway.bodies[0]
    assert body["to"] == PHONE  # the recipient, added at send time only
    text = body["message"]
    assert number in text and "400-000-0000" in text and "已受理" in text
    # The decision deadline's last day, from the stored clock (15 calendar days by default).
    due = _deadline(mctx, number, "decision")["due_at"]
    last = (due - timedelta(microseconds=1)).astimezone(mctx.tz)
    assert f"{last.year}年{last.month}月{last.day}日" in text
    others = {k: v for k, v in body.items() if k != "to"}
    for secret in PRIVATE:
        assert secret not in json.dumps(others, ensure_ascii=False)
    assert unmasked(text) == []
    # Short: within the configured SMS length, and a small request.
    assert len(text) <= messages.settings(mctx).sms_max_chars
    assert len(raw) < 600
    # The phone number is stored nowhere in the message row.
    row = messages.messages_of(mctx, number)[0]
    assert PHONE not in json.dumps(row, default=str, ensure_ascii=False)


def test_each_send_is_recorded_as_a_contact_with_its_outcome(
    mctx: Context, gateway: Gateway, now: datetime
) -> None:
    number = accepted(mctx, now - timedelta(hours=5))
    before = len(_contacts(mctx, number))
    messages.send(mctx, number, "acceptance", actor="liaison", channel="sms", now=now)
    events = _contacts(mctx, number)
    assert len(events) == before + 1
    event = events[-1]
    assert event["details"]["channel"] == "sms"
    assert event["details"]["direction"] == "out"
    assert event["details"]["outcome"] == "sent"
    assert event["details"]["template"] == "acceptance"
    assert PHONE not in json.dumps(event, default=str, ensure_ascii=False)
    listed = contacts.for_complaint(mctx, number)
    assert [(c["channel"], c["direction"]) for c in listed][-1] == ("sms", "out")
    assert PHONE not in listed[-1]["summary"]


def test_an_email_goes_through_smtp_in_utf8_to_the_recorded_address(
    mctx: Context, smtp: tuple[int, Inbox], gateway: Gateway, now: datetime
) -> None:
    inbox = smtp[1]
    number = accepted(mctx, now - timedelta(hours=5))
    with pytest.raises(InvalidInput):  # no address yet
        messages.send(mctx, number, "acceptance", actor="liaison", channel="email", now=now)
    messages.record_email(mctx, number, "zhao.liu@example.org", actor="liaison")
    history = json.dumps(get_complaint(mctx, number)["events"], default=str)
    assert "zhao.liu" not in history  # the history says an address was recorded, not which
    sent = messages.send(mctx, number, "acceptance", actor="liaison", channel="email", now=now)
    assert [m["status"] for m in sent] == ["sent"]
    assert len(inbox.raw) == 1
    raw = inbox.raw[0]
    mail = inbox.messages[0]
    assert mail["To"] == "zhao.liu@example.org"
    assert str(mail["Subject"]) == f"投诉受理告知 (编号 {number})"
    # The subject travels RFC 2047-encoded in UTF-8, never as raw 8-bit bytes.
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    subject = [line for line in head.splitlines() if line.lower().startswith(b"subject:")]
    assert subject and b"=?utf-8?" in subject[0].lower()
    assert all(byte < 128 for byte in head)
    # A plain-text part and Apprise's HTML alternative, both UTF-8.
    assert [p.get_content_type() for p in mail.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    parts = [p for p in mail.walk() if p.get_content_maintype() == "text"]
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    body = plain[0].get_content()
    assert number in body and "已受理" in body
    for secret in PRIVATE:
        assert secret not in body
    assert gateway.requests == []  # --channel email only
    assert _contacts(mctx, number)[-1]["details"]["channel"] == "email"


def test_without_a_channel_every_configured_one_the_complainant_has_is_used(
    mctx: Context, gateway: Gateway, smtp: tuple[int, Inbox], now: datetime
) -> None:
    inbox = smtp[1]
    number = accepted(mctx, now - timedelta(hours=5))
    sent = messages.send(mctx, number, "acceptance", actor="liaison", now=now)
    assert [m["channel"] for m in sent] == ["sms"]  # no e-mail recorded
    messages.record_email(mctx, number, "zhao.liu@example.org", actor="liaison")
    sent = messages.send(mctx, number, "acceptance", actor="liaison", now=now)
    assert sorted(m["channel"] for m in sent) == ["email", "sms"]
    assert len(gateway.requests) == 2 and len(inbox.raw) == 1


def test_an_extension_message_names_the_new_deadline(
    mctx: Context, gateway: Gateway, now: datetime
) -> None:
    number = accepted(mctx, now - timedelta(days=3))
    with pytest.raises(InvalidInput):  # not extended yet
        messages.send(mctx, number, "extension", actor="liaison", now=now)
    a.extend(mctx, number, actor="liaison", to=30, reason="需调取病历", at=now - timedelta(hours=1))
    messages.send(mctx, number, "extension", actor="liaison", now=now)
    due = _deadline(mctx, number, "decision")["due_at"]
    last = (due - timedelta(microseconds=1)).astimezone(mctx.tz)
    text = gateway.bodies[-1]["message"]
    assert f"延长至{last.year}年{last.month}月{last.day}日" in text
    assert "需调取病历" not in text  # the reason stays in the letter


def _web_queue_row(ctx: Context, username: str, number: str, now: datetime) -> str:
    """The case's row in the user's queue in the web workspace (web/pages/queue.py)."""
    import re

    from fastapi.testclient import TestClient

    from services import identity
    from web.app import create_app

    identity.reset_password(ctx, username, "Messages-web-2026!", actor="admin", must_change=False)
    _, token = identity.login(ctx, username, "Messages-web-2026!", client="test", now=now)
    with TestClient(create_app(ctx)) as client:
        client.cookies.set("tousu_session", token)
        page = client.get("/").text
    row = re.search(rf'<tr [^>]*data-number="{number}">(.*?)</tr>', page, re.S)
    assert row, page
    return row.group(1)


def test_a_failing_gateway_is_retried_then_queued_then_recovers(
    mctx: Context, gateway: Gateway, now: datetime
) -> None:
    cfg = messages.settings(mctx)
    number = accepted(mctx, now - timedelta(hours=5))
    gateway.down = True
    sent = messages.send(mctx, number, "acceptance", actor="liaison", channel="sms", now=now)
    assert [(m["status"], m["attempts"]) for m in sent] == [("pending", 1)]
    assert PHONE not in (sent[0]["last_error"] or "")
    assert "k-test-sms-0001" not in (sent[0]["last_error"] or "")
    # Not yet due: the back-off holds it.
    assert messages.deliver(mctx, now=now + timedelta(seconds=1)) == {"sent": 0, "failed": 0}
    when = now
    for n in range(2, cfg.failures_shown + 1):
        when = when + messages.backoff(cfg, n - 1)
        assert messages.deliver(mctx, now=when) == {"sent": 0, "failed": 1}
    row = messages.messages_of(mctx, number)[0]
    assert (row["status"], row["attempts"]) == ("failed", cfg.failures_shown)
    assert len(gateway.requests) == cfg.failures_shown
    # In the handler's queue, and one failed contact in the history.
    mine = queue(mctx, actor={"username": "liaison", "role": "liaison"})
    item = next(i for i in mine["items"] if i["number"] == number)
    assert item["message_failures"] == ["短信发送失败"]
    assert "短信发送失败" in _web_queue_row(mctx, "liaison", number, now)
    failed = [e for e in _contacts(mctx, number) if e["details"].get("outcome") == "failed"]
    assert len(failed) == 1
    assert _deadline(mctx, number, "acceptance_notice")["status"] == "running"
    # Still retried; the gateway is back.
    gateway.down = False
    when = when + messages.backoff(cfg, cfg.failures_shown)
    assert messages.deliver(mctx, now=when) == {"sent": 1, "failed": 0}
    row = messages.messages_of(mctx, number)[0]
    assert row["status"] == "sent"
    mine = queue(mctx, actor={"username": "liaison", "role": "liaison"})
    item = next(i for i in mine["items"] if i["number"] == number)
    assert item["message_failures"] == []
    outcomes = [e["details"].get("outcome") for e in _contacts(mctx, number)]
    assert outcomes[-2:] == ["failed", "sent"]
    assert _deadline(mctx, number, "acceptance_notice")["status"] == "met"


def test_a_failing_send_dismissed_leaves_the_queue_and_is_not_retried(
    mctx: Context, gateway: Gateway, now: datetime
) -> None:
    cfg = messages.settings(mctx)
    number = accepted(mctx, now - timedelta(hours=5))
    gateway.down = True
    messages.send(mctx, number, "acceptance", actor="liaison", channel="sms", now=now)
    far = now + timedelta(days=1)
    for _ in range(cfg.failures_shown):
        messages.deliver(mctx, now=far)
        far += timedelta(seconds=cfg.backoff_max + 1)
    assert messages.messages_of(mctx, number)[0]["status"] == "failed"
    done = messages.dismiss(mctx, number, actor="liaison", now=now)
    assert [m["status"] for m in done] == ["dismissed"]
    assert get_complaint(mctx, number)["events"][-1]["action"] == "message_dismissed"
    tried = len(gateway.requests)
    assert messages.deliver(mctx, now=far + timedelta(days=1)) == {"sent": 0, "failed": 0}
    assert len(gateway.requests) == tried
    mine = queue(mctx, actor={"username": "liaison", "role": "liaison"})
    assert next(i for i in mine["items"] if i["number"] == number)["message_failures"] == []
    with pytest.raises(Conflict):
        messages.dismiss(mctx, number, actor="liaison", now=now)


def test_bad_input_changes_nothing(mctx: Context, gateway: Gateway, now: datetime) -> None:
    number = accepted(mctx, now - timedelta(hours=5))
    version = get_complaint(mctx, number)["case"]["version"]
    for kind, channel in (("welcome", None), ("acceptance", "fax"), ("decision", None)):
        with pytest.raises(InvalidInput):
            messages.send(mctx, number, kind, actor="liaison", channel=channel, now=now)
    with pytest.raises(InvalidInput):
        messages.record_email(mctx, number, "not-an-address", actor="liaison")
    landline = accepted(
        mctx, now - timedelta(hours=5), complainant=Person(name="孙八", phone="010-62345678")
    )
    with pytest.raises(InvalidInput, match="固定电话"):
        messages.send(mctx, landline, "acceptance", actor="liaison", channel="sms", now=now)
    assert messages.messages_of(mctx, number) == []
    assert get_complaint(mctx, number)["case"]["version"] == version
    assert gateway.requests == []


def test_the_acceptance_notice_deadline_is_met_by_a_send(
    mctx: Context, gateway: Gateway, now: datetime
) -> None:
    received = now - timedelta(hours=5)
    number = accepted(mctx, received)
    clock = _deadline(mctx, number, "acceptance_notice")
    assert clock is not None and clock["status"] == "running"
    assert clock["due_at"] == received + timedelta(hours=24)
    messages.send(mctx, number, "acceptance", actor="liaison", channel="sms", now=now)
    clock = _deadline(mctx, number, "acceptance_notice")
    assert clock["status"] == "met" and clock["next_check_at"] is None
    # A later sweep has nothing to say about it.
    result = escalation.sweep(mctx, now=received + timedelta(days=3))
    fired = _fired(mctx, number)
    assert "acceptance_notice" not in fired, result


def test_the_acceptance_notice_deadline_is_met_by_a_contact_or_a_posted_letter(
    mctx: Context, now: datetime
) -> None:
    number = accepted(mctx, now - timedelta(hours=5))
    contacts.log(mctx, number, actor="liaison", channel="email", summary="邮件告知受理")
    assert _deadline(mctx, number, "acceptance_notice")["status"] == "running"
    contacts.log(
        mctx, number, actor="liaison", channel="email", summary="邮件告知受理", notice="acceptance"
    )
    assert _deadline(mctx, number, "acceptance_notice")["status"] == "met"
    someone = Person(name="钱七", phone="13900139000", address="上海市浦东新区")
    other = accepted(mctx, now - timedelta(hours=5), complainant=someone)
    with mctx.transaction() as conn:  # the letter's proof of notice, as letters.render writes it
        case = records.load_case(conn, other)
        user = records.load_user(conn, "liaison")
        contacts.record_in(
            conn,
            case,
            user,
            channel="letter",
            direction="out",
            text="寄出投诉受理告知书",
            ref=None,
            flagged=False,
            when=now,
            now=now,
            details={"letter": "acceptance"},
        )
    assert _deadline(mctx, other, "acceptance_notice")["status"] == "met"


def _fired(ctx: Context, number: str) -> set[str]:
    from services.automatic.alerts import ESCALATION

    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        return set(
            conn.execute(
                select(ESCALATION.c.deadline_name).where(ESCALATION.c.complaint_id == case["id"])
            ).scalars()
        )


def test_an_overdue_acceptance_notice_is_swept(mctx: Context, now: datetime) -> None:
    received = now - timedelta(hours=5)
    number = registered(mctx, received)
    clock = _deadline(mctx, number, "acceptance_notice")
    escalation.sweep(mctx, now=clock["due_at"] + timedelta(hours=1))
    assert "acceptance_notice" in _fired(mctx, number)


def test_the_acceptance_notice_deadline_is_off_unless_enabled(ctx: Context, now: datetime) -> None:
    number = registered(ctx, now - timedelta(hours=1))
    assert _deadline(ctx, number, "acceptance_notice") is None
    assert _deadline(ctx, number, "acceptance") is not None


def test_configured_auto_messages_are_queued_by_the_action_and_sent_by_the_next_pass(
    tmp_path: Path, sqlite_template: Path, gateway: Gateway, now: datetime
) -> None:
    port = gateway.server.port
    routing = f"""version: 1
urls:
  - json://127.0.0.1:{port}/sms/send:
      - tag: complainant-sms
"""
    ctx = _open(tmp_path, sqlite_template, routing, TOUSU__MESSAGES__AUTO='["acceptance"]')
    try:
        number = accepted(ctx, now - timedelta(hours=5))
        queued = messages.messages_of(ctx, number)
        assert [(m["kind"], m["channel"], m["status"]) for m in queued] == [
            ("acceptance", "sms", "pending")
        ]
        assert gateway.requests == []  # nothing leaves inside the action's transaction
        assert messages.deliver(ctx, now=now) == {"sent": 1, "failed": 0}
        assert number in gateway.bodies[0]["message"]
        assert _deadline(ctx, number, "acceptance_notice")["status"] == "met"
        # Extension is not in `auto`: extending queues nothing.
        a.extend(ctx, number, actor="liaison", to=30, reason="需调取病历", at=now)
        assert len(messages.messages_of(ctx, number)) == 1
        # A complainant who left only an address: the action goes on, nothing is queued.
        someone = Person(name="钱七", address="上海市浦东新区")
        other = accepted(ctx, now - timedelta(hours=5), complainant=someone)
        assert get_complaint(ctx, other)["case"]["state"] == "accepted"
        assert messages.messages_of(ctx, other) == []
    finally:
        ctx.close()


def test_outside_the_sending_hours_a_message_waits_for_the_morning(
    tmp_path: Path, sqlite_template: Path, gateway: Gateway
) -> None:
    port = gateway.server.port
    routing = f"""version: 1
urls:
  - json://127.0.0.1:{port}/sms/send:
      - tag: complainant-sms
"""
    hours = '["08:00", "21:00"]'
    ctx = _open(tmp_path, sqlite_template, routing, TOUSU__MESSAGES__SEND_HOURS=hours)
    try:
        received = cst(2026, 9, 1, 18, 0)
        number = accepted(ctx, received)
        night = cst(2026, 9, 1, 22, 30)
        sent = messages.send(ctx, number, "acceptance", actor="liaison", now=night)
        assert [(m["status"], m["attempts"]) for m in sent] == [("pending", 0)]
        cfg = messages.settings(ctx)
        assert messages.opens_at(ctx, cfg, night) == cst(2026, 9, 2, 8, 0)
        early = cst(2026, 9, 2, 7, 59)
        assert messages.opens_at(ctx, cfg, early) == cst(2026, 9, 2, 8, 0)
        assert messages.deliver(ctx, now=early) == {"sent": 0, "failed": 0}
        assert gateway.requests == []
        assert messages.deliver(ctx, now=cst(2026, 9, 2, 8, 0)) == {"sent": 1, "failed": 0}
        assert len(gateway.requests) == 1
        assert messages.opens_at(ctx, cfg, cst(2026, 9, 2, 20, 59)) == cst(2026, 9, 2, 20, 59)
    finally:
        ctx.close()
