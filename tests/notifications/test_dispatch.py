"""The outbox dispatcher against real SMTP and HTTP servers on loopback."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from notifications.dispatch import dispatch
from services.context import Context
from storage.models import Outbox
from storage.notifications import DeliveryAttempt
from storage.schema import table_of
from tests.notifications.conftest import SILENT, SMTP, WORKING, WeCom, alert, routing, settings

pytestmark = pytest.mark.clock  # quiet hours, retries and leases against the suite's clock

OUTBOX = table_of(Outbox)
ATTEMPT = table_of(DeliveryAttempt)


def _yaml(smtp: SMTP) -> str:
    return f"""
version: 1
urls:
  - wecombot://robotkey123:
      - tag: role-team_lead, level-2
  - {smtp.url()}:
      - tag: role-team_lead, supervisors
"""


def _rows(ctx: Context, table: Any) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def test_an_alert_reaches_email_and_wecom_once_and_every_attempt_is_recorded(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    alert(ctx, "c1:e1:warn_80")
    r = routing(_yaml(smtp))
    report = dispatch(ctx, now=WORKING, routing=r, settings=settings())
    assert report.sent == 2 and report.failed == 0
    assert len(smtp.messages) == 1 and len(wecom.posts) == 1
    post = wecom.posts[0]
    assert post["key"] == "robotkey123" and post["msgtype"] == "markdown"
    assert "处理决定告知时限" in post["markdown"]["content"]
    msg = smtp.messages[0]
    assert "时限预警" in str(msg["Subject"])
    types = {p.get_content_type() for p in msg.walk()}
    assert {"text/plain", "text/html"} <= types
    # A second pass finds nothing to do: never twice.
    again = dispatch(ctx, now=WORKING + timedelta(minutes=5), routing=r, settings=settings())
    assert again.sent == 0 and len(smtp.messages) == 1 and len(wecom.posts) == 1
    assert [a["result"] for a in _rows(ctx, ATTEMPT)] == ["sent", "sent"]
    assert _rows(ctx, OUTBOX)[0]["status"] == "sent"


def test_two_audiences_resolving_to_one_channel_send_it_once(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    alert(ctx, "c1:e2:esc", kind="escalation", audience="role:team_lead,level:2", level=2)
    report = dispatch(ctx, now=WORKING, routing=routing(_yaml(smtp)), settings=settings())
    assert report.sent == 2
    assert len(wecom.posts) == 1 and len(smtp.messages) == 1


@pytest.mark.now(WORKING)  # after the case it registers
def test_a_second_alert_of_one_event_for_the_same_channel_is_kept_as_a_duplicate(
    ctx: Context, smtp: SMTP
) -> None:
    from storage.models import Event
    from storage.records import enqueue_alert
    from tests.factories import accepted, cst

    accepted(ctx, cst(2026, 11, 20, 10, 0))
    event = table_of(Event)
    with ctx.engine.begin() as conn:  # one event, alerts to two audiences sharing a mailbox
        cid, eid = conn.execute(select(event.c.complaint_id, event.c.id).limit(1)).one()
        for key, audience in (("imm:lead", "role:team_lead"), ("imm:sup", "supervisors")):
            enqueue_alert(
                conn,
                dedupe_key=key,
                kind="immediate_escalation",
                audience=audience,
                complaint_id=cid,
                event_id=eid,
                payload={"number": "TS1"},
                urgent=True,
                now=WORKING,
            )
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: role-team_lead, supervisors\n")
    assert dispatch(ctx, now=WORKING, routing=r, settings=settings()).sent == 1
    assert len(smtp.messages) == 1
    assert sorted(o["status"] for o in _rows(ctx, OUTBOX)) == ["duplicate", "sent"]


def test_a_channel_down_and_back_loses_nothing_and_sends_nothing_twice(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    for i in range(5):
        alert(ctx, f"c{i}:down", audience="supervisors")
    r = routing(_yaml(smtp))
    s = settings(fallback_after=10)
    smtp.stop()
    first = dispatch(ctx, now=WORKING, routing=r, settings=s)
    assert first.sent == 0 and first.failed == 1 and first.held == 4
    # Not yet due: backoff holds them.
    assert dispatch(ctx, now=WORKING + timedelta(seconds=10), routing=r, settings=s).failed == 0
    smtp.start()
    later = dispatch(ctx, now=WORKING + timedelta(minutes=15), routing=r, settings=s)
    assert later.sent == 5
    subjects = [str(m["Subject"]) for m in smtp.messages]
    assert len(subjects) == 5 and len({m["Message-ID"] for m in smtp.messages}) == 5
    attempts = _rows(ctx, ATTEMPT)
    assert sorted(a["result"] for a in attempts) == ["failed"] + ["sent"] * 5
    assert all(o["status"] == "sent" for o in _rows(ctx, OUTBOX))


def test_a_wecom_robot_answering_503_holds_alerts_until_it_recovers(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    alert(ctx, "c1:e9:breach", kind="deadline_breach", audience="level:2")
    r = routing(_yaml(smtp))
    wecom.down = True
    assert dispatch(ctx, now=WORKING, routing=r, settings=settings(fallback_after=5)).failed == 1
    wecom.down = False
    later = dispatch(
        ctx, now=WORKING + timedelta(hours=1), routing=r, settings=settings(fallback_after=5)
    )
    assert later.sent == 1 and len(wecom.posts) == 1
    assert "已超时" in wecom.posts[0]["markdown"]["content"]


def test_after_n_failures_the_fallback_channel_is_used_and_status_shows_it(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    from notifications.status import status

    yaml = f"""
version: 1
urls:
  - wecombot://robotkey123:
      - tag: 1:role-team_lead
  - {smtp.url()}:
      - tag: 2:role-team_lead
"""
    r = routing(yaml)
    alert(ctx, "c1:e3:warn")
    wecom.down = True
    s = settings(fallback_after=2, backoff_base=60)
    assert dispatch(ctx, now=WORKING, routing=r, settings=s).failed == 1
    assert not smtp.messages
    second = dispatch(ctx, now=WORKING + timedelta(minutes=2), routing=r, settings=s)
    assert second.failed_over == 1
    third = dispatch(ctx, now=WORKING + timedelta(minutes=3), routing=r, settings=s)
    assert third.sent == 1 and len(smtp.messages) == 1 and not wecom.posts
    st = status(ctx)
    assert st["deliveries"] == {"failed_over": 1, "sent": 1}
    assert st["troubled"][0]["status"] == "failed_over"
    robot = next(c for c in st["channels"] if c["service"] == "wecombot")
    assert robot["consecutive_failures"] == 2
    assert "robotkey123" not in str(st)


def test_a_server_that_never_answers_costs_bounded_time(ctx: Context, silent_server: int) -> None:
    yaml = f"""
version: 1
urls:
  - mailto://127.0.0.1:{silent_server}?mode=insecure&from=a@example.com&to=b@example.com:
      - tag: supervisors
  - json://127.0.0.1:{silent_server}/hook:
      - tag: supervisors
"""
    alert(ctx, "c1:silent", audience="supervisors")
    alert(ctx, "c2:silent", audience="supervisors")
    t0 = time.perf_counter()
    s = settings(services=SILENT)
    report = dispatch(ctx, now=WORKING, routing=routing(yaml, s), settings=s)
    elapsed = time.perf_counter() - t0
    # Two channels in parallel, each fails once (cto/rto = 1 s) and holds its second alert.
    assert report.failed == 2 and report.held == 2 and report.sent == 0
    assert elapsed < 5, elapsed


def test_a_second_dispatcher_finds_claimed_deliveries_taken(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    from notifications.dispatch import DispatchReport, claim, fan_out

    alert(ctx, "c1:claim", audience="supervisors")
    r, s = routing(_yaml(smtp)), settings()
    rep = DispatchReport()
    fan_out(ctx, r, s, WORKING, rep)
    assert len(claim(ctx, s, WORKING, 10, rep)) == 1
    assert claim(ctx, s, WORKING, 10, rep) == []
    # Its lease runs out (the first dispatcher died): taken again, recorded as interrupted.
    late = WORKING + timedelta(seconds=s.lease_seconds + 1)
    assert len(claim(ctx, s, late, 10, rep)) == 1
    assert [a["result"] for a in _rows(ctx, ATTEMPT)] == ["interrupted"]


def test_an_alert_with_no_matching_channel_goes_to_the_fallback_tag_or_waits_visibly(
    ctx: Context, smtp: SMTP
) -> None:
    from notifications.status import status

    alert(ctx, "c1:nobody", audience="user:nobody")
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n")
    report = dispatch(ctx, now=WORKING, routing=r, settings=settings())
    assert report.unrouted == 1 and not smtp.messages
    assert "user:nobody" in status(ctx)["unrouted"][0]["last_error"]
    r2 = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: fallback\n")
    later = dispatch(ctx, now=WORKING + timedelta(hours=2), routing=r2, settings=settings())
    assert later.sent == 1 and len(smtp.messages) == 1


def test_json_webhook_and_dingtalk_get_plain_text_and_markdown(ctx: Context, httpserver) -> None:  # type: ignore[no-untyped-def]
    import json

    from apprise.plugins.dingtalk import NotifyDingTalk

    from tests.notifications.conftest import SENT

    got: list[dict[str, Any]] = []

    def keep(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        body = json.loads(request.get_data())
        got.append(body)
        SENT.append(json.dumps(body, ensure_ascii=False))
        return Response('{"errcode":0}', content_type="application/json")

    httpserver.expect_request("/hook").respond_with_handler(keep)
    httpserver.expect_request("/robot/send").respond_with_handler(keep)
    saved = NotifyDingTalk.notify_url
    NotifyDingTalk.notify_url = httpserver.url_for("/robot/send")
    try:
        r = routing(f"""version: 1
urls:
  - json://{httpserver.host}:{httpserver.port}/hook:
      - tag: supervisors
  - dingtalk://dingtoken123?format=markdown:
      - tag: supervisors
""")
        alert(ctx, "c1:json", audience="supervisors", reason="来电 13912345678")
        report = dispatch(ctx, now=WORKING, routing=r, settings=settings())
    finally:
        NotifyDingTalk.notify_url = saved
    assert report.sent == 2, report
    hook = next(b for b in got if "message" in b)
    assert "时限预警" in hook["title"] and "139****5678" in hook["message"]
    ding = next(b for b in got if "msgtype" in b)
    assert "<font" not in json.dumps(ding, ensure_ascii=False)


def test_a_throttled_channel_stops_before_its_lease_runs_out_and_leaves_the_rest_due(
    ctx: Context, smtp: SMTP
) -> None:
    from notifications.settings import ServiceLimits

    for i in range(4):
        alert(ctx, f"c{i}:slow", audience="supervisors")
    s = settings(lease_seconds=2, services={"default": ServiceLimits(rate=1.0, cto=1, rto=1)})
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n", s)
    first = dispatch(ctx, now=WORKING, routing=r, settings=s)
    assert first.sent == 2 and first.held == 2
    for _ in range(3):  # the rest are due at once and go in the next passes
        dispatch(ctx, now=WORKING, routing=r, settings=s)
    assert len(smtp.messages) == 4
    assert len({str(m["Subject"]) for m in smtp.messages}) == 4
