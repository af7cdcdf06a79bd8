"""The outbox after a killed dispatcher, a sustained outage and a robot that answers oddly
(issue 14, "History and the outbox"), against real servers on loopback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from werkzeug import Request, Response

from notifications.dispatch import DispatchReport, claim, dispatch, fan_out
from services.context import Context
from storage.models import Outbox
from storage.notifications import DeliveryAttempt, NotifyDelivery
from storage.schema import table_of
from tests.notifications.conftest import SILENT, SMTP, WORKING, WeCom, alert, routing, settings

pytestmark = pytest.mark.clock

OUTBOX = table_of(Outbox)
DELIVERY = table_of(NotifyDelivery)
ATTEMPT = table_of(DeliveryAttempt)


def _rows(ctx: Context, table: Any) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_alerts_whose_deliveries_were_sent_before_a_dispatcher_died_are_closed_by_the_next_pass(
    ctx: Context, smtp: SMTP
) -> None:
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n")
    s = settings()
    alert(ctx, "c1:killed", audience="supervisors")
    # The pass that was killed: it fanned out, claimed and recorded the send, then died
    # before closing the alert.
    rep = DispatchReport()
    fan_out(ctx, r, s, WORKING, rep)
    (d,) = claim(ctx, s, WORKING, 10, rep)
    with ctx.engine.begin() as conn:
        conn.execute(update(DELIVERY).where(DELIVERY.c.id == d["id"]).values(status="sent"))
    assert _rows(ctx, OUTBOX)[0]["status"] == "routed"
    # The next pass has nothing of its own to claim, and still closes it.
    report = dispatch(ctx, now=WORKING + timedelta(minutes=1), routing=r, settings=s)
    assert report.sent == 0 and not smtp.messages
    assert _rows(ctx, OUTBOX)[0]["status"] == "sent"


def test_held_deliveries_on_a_failing_robot_fail_over_to_email_after_the_fallback_delay(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    yaml = f"""
version: 1
urls:
  - wecombot://robotkey123:
      - tag: 1:role-team_lead
  - {smtp.url()}:
      - tag: 2:role-team_lead
"""
    r = routing(yaml)
    s = settings(fallback_after=3, backoff_base=60, backoff_max=60, fallback_delay=600)
    for i in range(10):
        alert(ctx, f"c{i}:outage")
    wecom.down = True
    for n in range(8):  # a sustained outage: one pass every two minutes for 16 minutes
        dispatch(ctx, now=WORKING + timedelta(minutes=2 * n), routing=r, settings=s)
    dispatch(ctx, now=WORKING + timedelta(minutes=17), routing=r, settings=s)
    # Every team-lead alert reached the fallback mailbox, none twice; the robot got nothing.
    assert not wecom.posts
    assert len(smtp.messages) == 10
    assert len({str(m["Subject"]) + str(m["Message-ID"]) for m in smtp.messages}) == 10
    robot = [d for d in _rows(ctx, DELIVERY) if d["channel_id"] != _email_id(ctx)]
    assert {d["status"] for d in robot} == {"failed_over"}
    assert all(o["status"] == "sent" for o in _rows(ctx, OUTBOX))


def _email_id(ctx: Context) -> str:
    ids = {d["channel_id"] for d in _rows(ctx, DELIVERY) if d["fallback_of"] is not None}
    (only,) = ids
    return only


def test_alerts_wait_for_working_hours_without_failing_over_when_their_channel_is_healthy(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    yaml = f"""
version: 1
urls:
  - wecombot://robotkey123:
      - tag: 1:role-team_lead
  - {smtp.url()}:
      - tag: 2:role-team_lead
"""
    r = routing(yaml)
    s = settings(fallback_delay=60)
    alert(ctx, "c1:healthy")
    dispatch(ctx, now=WORKING, routing=r, settings=s)
    alert(ctx, "c2:healthy")
    dispatch(ctx, now=WORKING + timedelta(hours=2), routing=r, settings=s)
    assert len(wecom.posts) == 2 and not smtp.messages


def _robot(httpserver: HTTPServer, handler: Any) -> Any:
    from notifications.routing import prepare_apprise

    prepare_apprise()
    from apprise.plugins.wecombot import NotifyWeComBot

    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_handler(handler)
    saved = NotifyWeComBot.notify_url
    NotifyWeComBot.notify_url = httpserver.url_for("/cgi-bin/webhook/send") + "?key={key}"
    return saved


def test_a_wecom_answer_of_http_200_that_is_not_json_counts_as_a_failure(
    ctx: Context, httpserver: HTTPServer
) -> None:
    from apprise.plugins.wecombot import NotifyWeComBot

    from notifications.status import status

    posts: list[bytes] = []

    def portal(request: Request) -> Response:
        posts.append(request.get_data())
        return Response("<html>请先登录网络</html>", status=200, content_type="text/html")

    saved = _robot(httpserver, portal)
    try:
        r = routing("version: 1\nurls:\n  - wecombot://robotkey123:\n      - tag: supervisors\n")
        alert(ctx, "c1:portal", audience="supervisors")
        report = dispatch(ctx, now=WORKING, routing=r, settings=settings())
    finally:
        NotifyWeComBot.notify_url = saved
    assert len(posts) == 1
    assert report.sent == 0 and report.failed == 1
    assert [a["result"] for a in _rows(ctx, ATTEMPT)] == ["failed"]
    (d,) = _rows(ctx, DELIVERY)
    assert d["status"] == "pending" and "无法识别" in d["last_error"]
    assert _rows(ctx, OUTBOX)[0]["status"] == "routed"
    assert status(ctx)["troubled"][0]["id"] == d["id"]


def test_a_robot_request_that_timed_out_is_retried_visibly_as_possibly_delivered(
    ctx: Context, silent_server: int
) -> None:
    from apprise.plugins.wecombot import NotifyWeComBot

    from notifications.routing import prepare_apprise

    prepare_apprise()
    saved = NotifyWeComBot.notify_url
    NotifyWeComBot.notify_url = f"http://127.0.0.1:{silent_server}/send?key={{key}}"
    try:
        s = settings(services=SILENT)
        yaml = "version: 1\nurls:\n  - wecombot://robotkey123:\n      - tag: supervisors\n"
        alert(ctx, "c1:hung", audience="supervisors")
        report = dispatch(ctx, now=WORKING, routing=routing(yaml, s), settings=s)
    finally:
        NotifyWeComBot.notify_url = saved
    assert report.failed == 1
    (attempt,) = _rows(ctx, ATTEMPT)
    assert attempt["result"] == "uncertain" and "可能已送达" in attempt["error"]
    assert "可能重复" in _rows(ctx, DELIVERY)[0]["last_error"]


def test_status_as_json_exits_1_while_a_channel_fails(
    tousu: Any, ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "apprise.yaml"
    path.write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/closed:\n      - tag: supervisors\n",
        encoding="utf-8",
    )
    env = {"TOUSU_APPRISE_FILE": str(path)}
    alert(ctx, "c1:status-json", audience="supervisors")
    tousu("notifications", "dispatch", "--at", "2026-11-23T10:00", user="admin", env=env)
    r = tousu("notifications", "status", "--json", user="admin", env=env)
    assert r.exit_code == 1, r.output
    assert '"consecutive_failures": 1' in r.output
