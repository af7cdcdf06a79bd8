"""Quiet hours at their edges, templates, masking and secrets."""

from __future__ import annotations

import logging
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from notifications.dispatch import dispatch
from notifications.quiet import next_send_time
from notifications.routing import RoutingError
from notifications.templates import SPECS, render, scrub
from services.context import Context
from states.calendar import WorkCalendar
from storage import records
from storage.records import enqueue_alert
from tests.factories import cst, registered
from tests.notifications.conftest import SMTP, WeCom, alert, routing, settings, unmasked

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
NINE, SIX = time(9, 0), time(18, 0)

pytestmark = pytest.mark.clock


def _next(at, urgent=False):  # type: ignore[no-untyped-def]
    return next_send_time(at, urgent=urgent, cal=CAL, start=NINE, end=SIX, tz=TZ)


def test_quiet_hours_hold_a_warning_until_nine_and_release_it_at_nine_sharp() -> None:
    assert _next(cst(2026, 11, 23, 8, 59)) == cst(2026, 11, 23, 9, 0)
    assert _next(cst(2026, 11, 23, 9, 0)) == cst(2026, 11, 23, 9, 0)
    assert _next(cst(2026, 11, 23, 17, 59)) == cst(2026, 11, 23, 17, 59)
    assert _next(cst(2026, 11, 23, 18, 0)) == cst(2026, 11, 24, 9, 0)


def test_quiet_hours_follow_the_holiday_calendar_including_make_up_saturdays() -> None:
    # Friday evening before the National Day holiday (10/1–10/7) → 10/8? 10/10 is a make-up
    # working Saturday in 2026 (RULES.md §1); 10/8 is the first working day after the break.
    assert _next(cst(2026, 9, 30, 19, 0)) == cst(2026, 10, 8, 9, 0)
    assert _next(cst(2026, 10, 9, 18, 30)) == cst(2026, 10, 10, 9, 0)
    # An ordinary Saturday waits for Monday.
    assert _next(cst(2026, 11, 21, 10, 0)) == cst(2026, 11, 23, 9, 0)


def test_urgent_alerts_ignore_quiet_hours() -> None:
    at = cst(2026, 10, 3, 2, 0)
    assert _next(at, urgent=True) == at


def test_a_warning_written_at_night_waits_while_a_breach_goes_at_once(
    ctx: Context, smtp: SMTP
) -> None:
    night = cst(2026, 11, 23, 22, 0)
    alert(ctx, "c1:warn", audience="supervisors", now=night)
    alert(ctx, "c2:breach", kind="deadline_breach", audience="supervisors", now=night)
    alert(
        ctx,
        "c3:media",
        kind="escalation",
        audience="supervisors",
        now=night,
        media_involved=True,
        level=3,
    )
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n")
    first = dispatch(ctx, now=night, routing=r, settings=settings())
    assert first.sent == 2 and first.deferred == 1
    assert dispatch(ctx, now=cst(2026, 11, 24, 8, 59), routing=r, settings=settings()).sent == 0
    assert dispatch(ctx, now=cst(2026, 11, 24, 9, 0), routing=r, settings=settings()).sent == 1
    assert len(smtp.messages) == 3


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_alert_type_names_case_state_deadline_and_what_to_do(kind: str) -> None:
    payload = {
        "number": "TS202611230000001",
        "state": "investigating",
        "deadline": "decision",
        "due": "2026-11-30T16:00:00+00:00",
        "level": 3,
        "meeting_at": "2026-11-25T02:00:00+00:00",
        "departments": ["理赔部", "法律合规部"],
        "organisation": "保险行业协会调解委员会",
        "items": [
            {
                "number": "TS202611230000001",
                "state": "investigating",
                "deadline": "decision",
                "due": "2026-11-30T16:00:00+00:00",
                "status": "已超时",
            }
        ],
    }
    m = render(kind, payload, deadline_labels={"decision": "处理决定告知时限"}, tz=TZ)
    for text in (m.text, m.html, m.markdown):
        assert "TS202611230000001" in text and "调查中" in text
        assert "处理决定告知时限" in text and "2026-11-30 24:00" in text
        assert "请您" in text or "请您" in m.text
    assert len(m.markdown.encode("utf-8")) <= 4096
    assert m.subject.startswith("【")


def test_a_digest_of_many_cases_stays_within_wecom_size_limit() -> None:
    items = [
        {
            "number": f"TS2026112300{i:05d}",
            "state": "investigating",
            "deadline": "decision",
            "due": "2026-11-30T16:00:00+00:00",
            "status": "已超时",
        }
        for i in range(300)
    ]
    m = render(
        "daily_digest",
        {"items": items, "day": "2026-11-24"},
        deadline_labels={"decision": "处理决定告知时限"},
        tz=TZ,
    )
    assert len(m.markdown.encode("utf-8")) <= 4096
    assert "另有" in m.markdown
    assert all(it["number"] in m.html for it in items)  # the email lists every one


def test_phone_and_id_numbers_in_free_text_are_masked_but_case_numbers_stay() -> None:
    text = scrub(
        "客户 13812345678 / +86 13912345678, 身份证 11010519491231002X, 旧证 "
        "110105491231002, 座机 010-62345678, 案件 TS202611230000123"
    )
    assert not unmasked(text)
    assert "138****5678" in text and "110105********002X" in text
    assert "TS202611230000123" in text and "010****5678" in text


def test_messages_carrying_personal_data_reach_recipients_masked(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    alert(
        ctx,
        "c1:pii",
        kind="callback_due",
        audience="supervisors",
        complainant="赵六",
        reason="投诉人电话 13800138000,证件 11010519491231002X",
    )
    r = routing(f"""version: 1
urls:
  - {smtp.url()}:
      - tag: supervisors
  - wecombot://robotkey123:
      - tag: supervisors
""")
    assert dispatch(ctx, now=cst(2026, 11, 23, 10, 0), routing=r, settings=settings()).sent == 2
    md = wecom.posts[0]["markdown"]["content"]
    assert "赵*" in md and "赵六" not in md and "138****8000" in md


def test_secrets_come_from_the_environment_or_a_file_and_never_show(
    ctx: Context, tmp_path, caplog, capsys
) -> None:  # type: ignore[no-untyped-def]
    yaml = """version: 1
urls:
  - wecombot://${WECOM_KEY}:
      - tag: supervisors
  - json://127.0.0.1:9/hook?:token=${HOOK_TOKEN}:
      - tag: supervisors
"""
    none = routing(yaml)  # nothing set: both entries are left out, and say why
    assert none.channels == []
    assert [(u.scheme, u.missing) for u in none.unavailable] == [
        ("wecombot", ("WECOM_KEY",)),
        ("json", ("HOOK_TOKEN",)),
    ]
    secrets = tmp_path / "notify.env"
    secrets.write_text("HOOK_TOKEN=tok-9f8e7d6c5b\n")
    s = settings(secrets_file=secrets)
    r = routing(yaml, s, WECOM_KEY="SuperSecretRobotKey")
    assert {c.schema for c in r.channels} == {"wecombot", "json"}
    labels = " ".join(c.label for c in r.channels)
    assert "SuperSecretRobotKey" not in labels and "tok-9f8e7d6c5b" not in labels
    alert(ctx, "c1:secret", audience="supervisors")
    caplog.set_level(logging.DEBUG)
    dispatch(ctx, now=cst(2026, 11, 23, 10, 0), routing=r, settings=s)
    from notifications.status import status

    shown = str(status(ctx)) + caplog.text + capsys.readouterr().err
    assert "SuperSecretRobotKey" not in shown and "tok-9f8e7d6c5b" not in shown


def test_a_branch_channel_takes_its_branch_and_others_go_to_the_general_one(smtp: SMTP) -> None:
    r = routing(f"""version: 1
urls:
  - {smtp.url(to="bj@example.com")}:
      - tag: role-team_lead, branch-beijing
  - {smtp.url(to="hq@example.com")}:
      - tag: role-team_lead
""")
    bj = r.groups("role:team_lead", "beijing")[0][1]
    sh = r.groups("role:team_lead", "shanghai")[0][1]
    assert [c.label for c in bj] != [c.label for c in sh]
    assert "bj%40example.com" in bj[0].label and "hq%40example.com" in sh[0].label


def test_the_email_tls_context_is_built_only_when_used_and_keeps_its_settings() -> None:
    import ssl

    from notifications.plugins import _SslShim

    lazy = _SslShim().create_default_context()
    lazy.check_hostname = False
    lazy.verify_mode = ssl.CERT_NONE
    assert lazy.wrap_socket.__self__.verify_mode == ssl.CERT_NONE
    strict = _SslShim().create_default_context()
    assert strict.wrap_socket.__self__.verify_mode == ssl.CERT_REQUIRED
    assert strict.wrap_socket.__self__.check_hostname is True


def test_a_bare_username_audience_reaches_that_users_channel(ctx: Context, smtp: SMTP) -> None:
    alert(ctx, "callback_due:1", kind="callback_due", audience="liaison")
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: user-liaison\n")
    assert dispatch(ctx, now=cst(2026, 11, 23, 10, 0), routing=r, settings=settings()).sent == 1
    assert "回访到期" in str(smtp.messages[0]["Subject"])


def test_a_media_escalation_goes_at_night(ctx: Context, smtp: SMTP) -> None:
    night = cst(2026, 11, 23, 23, 0)
    alert(
        ctx,
        "imm:1:media",
        kind="immediate_escalation",
        audience="role:department_head",
        now=night,
        trigger="media",
        level=3,
        title="舆情投诉: 立即报高管",
    )
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: role-department_head\n")
    assert dispatch(ctx, now=night, routing=r, settings=settings()).sent == 1
    assert "舆情投诉" in str(smtp.messages[0]["Subject"])


def test_a_channel_whose_secret_is_missing_is_left_out_and_the_others_still_deliver(
    ctx: Context, smtp: SMTP, wecom: WeCom, caplog
) -> None:  # type: ignore[no-untyped-def]
    # One unset robot key must not silence every alert: the email channel sends, the alert
    # for the robot's tag falls back, and the gap is reported (never the other secrets).
    r = routing(f"""version: 1
urls:
  - wecombot://${{MISSING_ROBOT}}:
      - tag: 1:role-team_lead
  - {smtp.url()}:
      - tag: 2:role-team_lead, supervisors
""")
    assert [c.schema for c in r.channels] == ["mailto"]
    [gone] = r.unavailable
    assert (gone.scheme, gone.missing, gone.tags) == (
        "wecombot",
        ("MISSING_ROBOT",),
        ("1:role-team_lead",),
    )
    assert "MISSING_ROBOT" in caplog.text
    alert(ctx, "c1:lead", audience="role:team_lead")
    alert(ctx, "c2:sup", audience="supervisors")
    report = dispatch(ctx, now=cst(2026, 11, 23, 10, 0), routing=r, settings=settings())
    # The two alerts, and one to the administrators by the channel that works, naming the gap.
    assert (report.sent, report.unrouted) == (3, 0) and len(smtp.messages) == 3
    assert report.unavailable == [gone.describe()] and wecom.posts == []
    told = [m for m in smtp.messages if "提醒渠道不可用" in str(m["Subject"])]
    assert len(told) == 1 and "MISSING_ROBOT" in told[0].get_body(("plain",)).get_content()


def test_a_secret_missing_outside_the_urls_makes_the_file_unusable() -> None:
    with pytest.raises(RoutingError, match="ASSET_TOKEN"):
        routing("""version: 1
asset:
  app_id: ${ASSET_TOKEN}
urls:
  - json://127.0.0.1:9/hook:
      - tag: supervisors
""")


@pytest.mark.now(cst(2026, 11, 23, 22, 0))  # its case is registered that morning
@pytest.mark.parametrize(("priority", "sent", "deferred"), [("normal", 0, 1), ("major", 1, 0)])
def test_a_warning_goes_at_night_when_its_case_is_major_now_whatever_its_payload_said(
    ctx: Context, smtp: SMTP, priority: str, sent: int, deferred: int
) -> None:
    # Queued while the case was 一般; the case is 重大 by the time the dispatcher runs.
    night = cst(2026, 11, 23, 22, 0)
    number = registered(ctx, cst(2026, 11, 23, 9))
    with ctx.transaction() as conn:
        cid = records.load_case(conn, number)["id"]
        enqueue_alert(
            conn,
            dedupe_key=f"{number}:warn",
            kind="deadline_warning",
            audience="supervisors",
            complaint_id=cid,
            event_id=None,
            payload={"number": number, "priority": "normal", "deadline": "decision"},
            urgent=False,
            now=night,
        )
        conn.execute(
            update(records.COMPLAINT).where(records.COMPLAINT.c.id == cid).values(priority=priority)
        )
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n")
    report = dispatch(ctx, now=night, routing=r, settings=settings())
    assert (report.sent, report.deferred) == (sent, deferred)
