"""Alerts as they really arrive (issue 16): real SMTP and a local HTTP server answering like
the WeCom group robot, including its refusals (errcode 45009 over 20 a minute, 40058 over
4096 bytes, both with HTTP 200). Fixed instants only; the rate window is scaled down."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from werkzeug import Request, Response

from notifications.dispatch import dispatch
from notifications.plugins import WECOM_MARKDOWN_LIMIT, fit_bytes
from notifications.settings import ServiceLimits
from notifications.templates import render
from services.context import Context
from storage.models import Complaint, Outbox
from storage.schema import table_of
from tests.notifications.conftest import SENT, SMTP, WORKING, alert, routing, settings

TZ = ZoneInfo("Asia/Shanghai")
OutboxTable = table_of(Outbox)
ComplaintTable = table_of(Complaint)
LABELS = {"decision": "处理决定告知时限"}


@dataclass
class Robot:
    """A WeCom group robot: answers HTTP 200 with an errcode, as the real one does. It keeps
    its own sliding window of accepted posts and refuses the 21st within `window` seconds."""

    window: float = 60.0
    limit: int = 20
    posts: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    throttle_next: int = 0  # refuse this many posts with 45009 whatever the rate
    lock: threading.Lock = field(default_factory=threading.Lock)
    recent: deque[float] = field(default_factory=deque)

    def handler(self, request: Request) -> Response:
        data = request.get_data()
        body = json.loads(data)
        with self.lock:
            now = time.monotonic()
            while self.recent and self.recent[0] <= now - self.window:
                self.recent.popleft()
            code = 0
            content = (body.get("markdown") or body.get("text") or {}).get("content", "")
            limit = 4096 if "markdown" in body else 2048
            if self.throttle_next > 0:
                self.throttle_next -= 1
                code = 45009
            elif len(self.recent) >= self.limit:
                code = 45009
            elif len(content.encode("utf-8")) > limit:
                code = 40058
            if code:
                self.refused.append(code)
            else:
                self.recent.append(now)
                self.arrivals.append(now)
                self.raw.append(data)
                self.posts.append({"key": request.args.get("key"), **body})
                # The personal-data scan sees what people read; the mobiles a mention list
                # carries go to WeCom only (staff work mobiles, by design).
                SENT.append(content)
        return Response(
            json.dumps({"errcode": code, "errmsg": "ok" if not code else "refused"}),
            content_type="application/json",
        )


@pytest.fixture
def robot(httpserver: HTTPServer) -> Iterator[Robot]:
    from notifications.routing import prepare_apprise

    prepare_apprise()
    from apprise.plugins.wecombot import NotifyWeComBot

    bot = Robot()
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_handler(bot.handler)
    saved = NotifyWeComBot.notify_url
    NotifyWeComBot.notify_url = httpserver.url_for("/cgi-bin/webhook/send") + "?key={key}"
    yield bot
    NotifyWeComBot.notify_url = saved


class _Tables(HTMLParser):
    """The cells of every table in an HTML page, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _robot_yaml(**extra: str) -> str:
    options = "".join(f"\n        {k}: {v}" for k, v in extra.items())
    tags = "supervisors, role-handler, level-2"
    return f"version: 1\nurls:\n  - wecombot://robotkey123:\n      - tag: {tags}{options}\n"


def _robot_settings(per_window: int = 18, window: float = 60.0, **over: Any) -> Any:
    limits = ServiceLimits(rate=0, cto=5.0, rto=5.0, per_window=per_window, window=window)
    return settings(
        services={"default": ServiceLimits(rate=0, cto=5.0, rto=5.0), "wecombot": limits}, **over
    )


# ---- Mail that reads ---------------------------------------------------------------------


def test_an_email_alert_is_multipart_alternative_with_an_html_table_and_a_readable_text_part(
    ctx: Context, smtp: SMTP
) -> None:
    alert(ctx, "mail:1", kind="deadline_breach", audience="supervisors", reason="理赔资料未齐")
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n")
    assert dispatch(ctx, now=WORKING, routing=r, settings=settings()).sent == 1
    [msg] = smtp.messages
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    parsed = _Tables()
    parsed.feed(html)
    facts = {row[0]: row[1] for row in parsed.rows if len(row) == 2}
    assert facts["当前状态"] == "调查中" and facts["时限"] == "处理决定告知时限"
    assert facts["到期时间"].startswith("2026-11-30 24:00") and "剩余" in facts["到期时间"]
    assert facts["说明"] == "理赔资料未齐"
    assert "<table" in html and "请您" in html
    lines = text.splitlines()
    assert len(lines) > 8 and "时限: 处理决定告知时限" in lines
    assert any(line.startswith("请您: 时限已届满") for line in lines)
    assert "<" not in text


def test_a_report_ready_mail_carries_its_files_or_says_where_they_are(
    ctx: Context, smtp: SMTP, tmp_path: Path
) -> None:
    excel, page = tmp_path / "tousu-report-2026-10.xlsx", tmp_path / "tousu-report-2026-10.html"
    excel.write_bytes(b"PK\x03\x04" + b"x" * 2000)
    page.write_text("<html>报告</html>", encoding="utf-8")
    payload = {
        "period": "2026-10",
        "excel": str(excel),
        "html": str(page),
        "volume": 321,
        "figures": {"volume": 321, "accepted_24h": 0.987, "backlog": 4},
    }
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: role-supervisor\n")
    for key, cap in (("report:small", 1_000_000), ("report:big", 1_000)):
        alert(ctx, key, kind="report_ready", audience="role:supervisor", **payload)
        dispatch(ctx, now=WORKING, routing=r, settings=settings(attach_max_bytes=cap))
    attached, too_big = smtp.messages
    names = sorted(p.get_filename() for p in attached.iter_attachments())
    assert names == sorted([excel.name, page.name])
    assert not list(too_big.iter_attachments())
    text = too_big.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert str(excel) in text and "投诉量: 321" in text and "24 小时受理率: 98.7%" in text
    assert "2026-10" in str(too_big["Subject"])


# ---- WeCom within its limits -------------------------------------------------------------


@pytest.mark.parametrize("size", [4095, 4096, 4097, 4098, 4099, 9000])
def test_fit_bytes_never_exceeds_the_limit_at_the_boundary(size: int) -> None:
    for unit in ("a", "调", "😀"):
        text = (unit * size)[: size // len(unit.encode("utf-8")) + 1]
        for tail in ("", "\n<@zhang.san> <@li.si>"):
            out = fit_bytes(text, WECOM_MARKDOWN_LIMIT, tail=tail)
            assert len(out.encode("utf-8")) <= WECOM_MARKDOWN_LIMIT
            assert out.endswith(tail)
            if len((text + tail).encode("utf-8")) <= WECOM_MARKDOWN_LIMIT:
                assert out == text + tail


def test_the_longest_possible_alert_reaches_wecom_within_4096_bytes(
    ctx: Context, robot: Robot
) -> None:
    from services.users import set_contact

    set_contact(ctx, "supervisor", wecom_userid="zhao.zhuguan")
    long_reason = "投诉人反映理赔时效过长、多次催办无果,要求说明原因并赔偿损失。" * 200
    alert(
        ctx,
        "esc:long",
        kind="escalation",
        audience="level:2",
        level=2,
        level_label="时限临近预警",
        reason=long_reason,
        title="时限临近预警" * 50,
    )
    s = _robot_settings(mentions={"level-2": ("supervisor",)})
    report = dispatch(ctx, now=WORKING, routing=routing(_robot_yaml(), s), settings=s)
    assert report.sent == 1 and robot.refused == []
    content = robot.posts[0]["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith("<@zhao.zhuguan>") and "已截断" in content


def test_a_robot_refusing_with_40058_fails_the_delivery_and_says_why(
    ctx: Context, robot: Robot
) -> None:
    from notifications.routing import load_routing
    from notifications.templates import Message

    r = load_routing(settings(), environ={}, text=_robot_yaml())
    server = r.channels[0].server
    from notifications.dispatch import send_message

    big = Message("s", "t", "h", "长" * 2000)
    # The plugin fits every post: only a post built by hand past the limit is refused.
    assert send_message(r.channels[0], big).ok
    result, _ = server._post({"msgtype": "markdown", "markdown": {"content": "长" * 2000}})
    assert not result.ok and "40058" in (result.error or "")
    assert robot.refused == [40058]


def test_a_throttled_alert_waits_and_is_sent_later_never_dropped_nor_failed_over(
    ctx: Context, robot: Robot, smtp: SMTP
) -> None:
    from notifications.status import status

    yaml = f"""version: 1
urls:
  - wecombot://robotkey123:
      - tag: 1:supervisors
  - {smtp.url()}:
      - tag: 2:supervisors
"""
    s = settings(fallback_after=1)
    r = routing(yaml, s)
    alert(ctx, "thr:1", audience="supervisors")
    robot.throttle_next = 3
    for minute in range(3):
        report = dispatch(ctx, now=WORKING + timedelta(minutes=minute), routing=r, settings=s)
        assert report.throttled == 1 and report.failed_over == 0
    assert dispatch(ctx, now=WORKING + timedelta(minutes=3), routing=r, settings=s).sent == 1
    assert len(robot.posts) == 1 and robot.refused == [45009] * 3 and not smtp.messages
    st = status(ctx)
    assert st["deliveries"] == {"sent": 1} and st["troubled"] == []


def test_two_dispatchers_at_once_hold_a_robot_to_its_rate_with_every_alert_once(
    any_ctx: Context, robot: Robot
) -> None:
    # 20 a minute scaled to 20 per 0.8 s; the budget grants 18 (a margin); 60 alerts need
    # more than three windows, so two full windows are observed.
    robot.window = 0.8
    s = _robot_settings(per_window=18, window=0.8, batch=30)
    r = routing(_robot_yaml(), s)
    for i in range(60):
        alert(any_ctx, f"rate:{i}", audience="supervisors")
    done: list[int] = []

    def run() -> None:
        for _ in range(20):
            done.append(dispatch(any_ctx, now=WORKING, routing=r, settings=s).sent)
            if sum(done) >= 60:
                return

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert robot.refused == [], robot.refused  # never a 45009
    contents = [p["markdown"]["content"].split("\n", 1)[0] for p in robot.posts]
    assert len(contents) == 60 and len(set(contents)) == 60  # each alert exactly once
    times = robot.arrivals
    assert times[-1] - times[0] >= 2 * robot.window  # spread over at least two windows
    busiest = max(sum(1 for t in times if a <= t < a + robot.window) for a in times)
    assert busiest <= 20


@pytest.mark.now(WORKING)  # its case is registered at a fixed instant
def test_people_an_alert_is_for_are_mentioned_by_wecom_id_or_by_mobile(
    ctx: Context, robot: Robot
) -> None:
    from services.users import list_users, set_contact
    from tests.factories import accepted, cst

    number = accepted(ctx, cst(2026, 11, 20, 10, 0))
    with ctx.engine.begin() as conn:
        cid = conn.execute(
            select(ComplaintTable.c.id).where(ComplaintTable.c.number == number)
        ).scalar_one()
        conn.execute(
            update(ComplaintTable).where(ComplaintTable.c.id == cid).values(owner="investigator")
        )
    set_contact(ctx, "investigator", wecom_userid="li.diaocha")
    shown = set_contact(ctx, "supervisor", mobile="13912345678")
    assert shown["mobile"] == "139****5678"
    stored = next(u for u in list_users(ctx) if u["username"] == "supervisor")
    assert "13912345678" not in str(stored)  # encrypted at rest
    from storage.records import enqueue_alert

    with ctx.engine.begin() as conn:
        for key, audience in (("m:handler", "role:handler"), ("m:lead", "level:2")):
            enqueue_alert(
                conn,
                dedupe_key=key,
                kind="deadline_breach",
                audience=audience,
                complaint_id=cid,
                event_id=None,
                payload={"number": number, "deadline": "decision", "title": key},
                urgent=True,
                now=WORKING,
            )
    s = _robot_settings(mentions={"role-handler": ("owner",), "level-2": ("supervisor",)})
    assert dispatch(ctx, now=WORKING, routing=routing(_robot_yaml(), s), settings=s).sent == 2
    markdown = [p for p in robot.posts if p["msgtype"] == "markdown"]
    texts = [p for p in robot.posts if p["msgtype"] == "text"]
    assert any(p["markdown"]["content"].endswith("<@li.diaocha>") for p in markdown)
    assert [t["text"]["mentioned_mobile_list"] for t in texts] == [["13912345678"]]
    assert number in texts[0]["text"]["content"]
    # `mention: no` on the routing-file entry: nobody is mentioned by that robot.
    robot.posts.clear()
    alert(ctx, "m:quiet", kind="deadline_breach", audience="level:2", urgent=True)
    quiet = routing(_robot_yaml(mention="no"), s)
    dispatch(ctx, now=WORKING + timedelta(minutes=1), routing=quiet, settings=s)
    assert robot.posts and all("<@" not in json.dumps(p) for p in robot.posts)
    assert all(p["msgtype"] == "markdown" for p in robot.posts)


# ---- Every alert from the case as it is now, and every kind its own content --------------


@pytest.mark.now(WORKING)  # its case is registered at a fixed instant
def test_priority_state_and_due_come_from_the_case_row_when_sent_not_from_the_payload(
    ctx: Context, smtp: SMTP
) -> None:
    from storage.records import enqueue_alert
    from tests.factories import accepted, cst

    number = accepted(ctx, cst(2026, 11, 20, 10, 0))
    with ctx.engine.begin() as conn:
        cid = conn.execute(
            select(ComplaintTable.c.id).where(ComplaintTable.c.number == number)
        ).scalar_one()
        enqueue_alert(
            conn,
            dedupe_key="imm:stale",
            kind="immediate_escalation",
            audience="supervisors",
            complaint_id=cid,
            event_id=None,
            payload={
                "number": number,
                "state": "registered",
                "priority": "normal",
                "deadline": "decision",
                "due": "2020-01-01T00:00:00+00:00",
                "title": "重大投诉: 立即报消委会",
            },
            urgent=True,
            now=WORKING,
        )
        conn.execute(
            update(ComplaintTable).where(ComplaintTable.c.id == cid).values(priority="major")
        )
    r = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n")
    assert dispatch(ctx, now=WORKING, routing=r, settings=settings()).sent == 1
    text = smtp.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "优先级: 重大" in text and "当前状态: 已受理" in text
    assert "2020-01-01" not in text and "到期时间: 2026-12-05 24:00" in text
    assert str(smtp.messages[0]["Subject"]).count(number) == 1


def _render(kind: str, **payload: Any) -> Any:
    return render(kind, payload, deadline_labels=LABELS, tz=TZ, now=WORKING)


def test_the_weekly_ledger_summary_carries_its_figures() -> None:
    m = _render(
        "ledger_weekly",
        week="2026-W48",
        open=7,
        new_this_week=2,
        resolved_this_week=1,
        overdue=3,
        unowned=1,
        regulator_items=2,
        by_kind={"repeat": 5, "backlog": 2, "dissatisfied": 0},
        by_class={"reasonable": 4, "": 3},
        by_branch=[{"branch": "beijing", "branch_label": "北京分公司", "open": 4}],
        top=[{"matter": "M000012", "kind": "repeat", "complaints": 6, "owner": "zhao"}],
    )
    for text in (m.text, m.html, m.markdown):
        for shown in ("2026-W48", "重复投诉", "积案", "北京分公司", "M000012"):
            assert shown in text
    assert "在册未化解事项: 7 件" in m.text and "逾期未化解(超过积案期限): 3 件" in m.text
    assert "案件编号" not in m.text and "—" not in m.subject


def test_consultation_mediation_callback_and_digest_each_say_their_own_things() -> None:
    invite = _render(
        "consultation_invite",
        number="TS202611230000001",
        state="consulting",
        meeting_at="2026-11-25T02:00:00+00:00",
        place="总部 12 楼消保会议室",
        departments=["理赔部", "法律部"],
        owner="investigator",
        reason="重大消费投诉, 自动提请会商(seed 002/004)",
        title="会商通知: 2026-11-25 10:00 会商投诉 TS202611230000001(重大消费投诉)",
    )
    assert (
        "会商时间: 2026-11-25 10:00" in invite.text and "地点: 总部 12 楼消保会议室" in invite.text
    )
    assert "参会人员: 理赔部、法律部、经办人 investigator" in invite.text
    assert "会商议程" in invite.text and "seed" not in invite.text + invite.subject
    assert invite.subject.count("TS202611230000001") == 1
    follow = _render(
        "mediation_follow_up",
        number="TS202611230000002",
        state="mediating",
        organisation="北京银行业保险业消费纠纷调解中心",
        days=30,
        title="调解跟进: 投诉 TS202611230000002 已在北京银行业保险业消费纠纷调解中心调解 30 日,"
        " 请跟进结果",
    )
    assert follow.subject.count("TS202611230000002") == 1 and "调解组织" in follow.text
    referral = _render(
        "mediation_referral",
        number="TS202611230000003",
        organisation="人民调解委员会",
        channel="人民调解",
        summary={"claim": "退还保费", "facts": "销售误导", "category": "销售纠纷"},
    )
    assert "已发送调解组织的摘要" in referral.text and "退还保费" in referral.text
    due = _render(
        "callback_due",
        number="TS202611230000004",
        due="2026-11-26T01:00:00+00:00",
        attempt=2,
        window_end="2026-11-26T10:00:00+00:00",
    )
    assert "回访次数: 第 2 次" in due.text and "回访窗口截止: 2026-11-26 18:00" in due.text
    late = _render("callback_overdue", number="TS5", assignee="liaison", overdue_since=None)
    assert "回访人: liaison" in late.text
    digest = _render(
        "daily_digest",
        day="2026-11-23",
        items=[{"number": "TS6", "state": "accepted", "deadline": "decision", "status": "已超时"}],
    )
    assert "其中已超时: 1 件" in digest.text and "TS6" in digest.html
    urgent = _render("immediate_escalation", number="TS7", priority="major", title="重大投诉")
    assert "优先级: 重大" in urgent.text


# ---- Operators can tell --------------------------------------------------------------------


def test_with_no_usable_channel_a_pass_touches_nothing_and_says_so(ctx: Context) -> None:
    alert(ctx, "none:1", audience="supervisors")
    r = routing("version: 1\nurls:\n  - wecombot://${UNSET_KEY}:\n      - tag: supervisors\n")
    report = dispatch(ctx, now=WORKING, routing=r, settings=settings())
    assert report.nothing_usable and report.admins_told and report.unavailable
    again = dispatch(ctx, now=WORKING + timedelta(minutes=1), routing=r, settings=settings())
    assert again.nothing_usable and not again.admins_told  # once (a day)
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(OutboxTable.c.kind, OutboxTable.c.attempts)).all()
    assert sorted(rows) == [("deadline_warning", 0), ("notify_unavailable", 0)]
