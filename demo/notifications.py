"""Demo step: the alerts the earlier steps wrote to the outbox, delivered to a mail server and a
WeCom-style robot that this step starts on loopback; quiet hours, masking and the daily digest
shown on the way."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rich.console import Console
from sqlalchemy import select

from notifications.digest import compose_digests
from notifications.dispatch import dispatch
from notifications.quiet import next_send_time
from notifications.routing import apprise_tag, load_routing, prepare_apprise
from notifications.settings import ServiceLimits, load_settings
from services.context import Context
from storage.models import Outbox
from storage.schema import table_of
from storage.timeutil import utcnow

KINDS = {
    "deadline_warning": "时限预警",
    "deadline_breach": "超时",
    "escalation": "升级督办",
    "immediate_escalation": "立即升级",
    "callback_overdue": "回访逾期",
    "mediation_follow_up": "调解跟进",
    "report_ready": "报告已生成",
    "consultation_invite": "会商邀请",
    "consultation_reminder": "会商提醒",
    "mediation_referral": "调解转介",
    "callback_due": "回访到期",
    "daily_digest": "每日汇总",
}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mailbox:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.subjects.append(str(msg["Subject"]))
        return "250 OK"


def _robot(posts: list[str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            posts.append(body["markdown"]["content"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode":0,"errmsg":"ok"}')

        def log_message(self, *args: Any) -> None:
            """Keep the demo's output to what a visitor should read."""

    server = ThreadingHTTPServer(("127.0.0.1", _port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(ctx: Context, console: Console) -> None:
    from aiosmtpd.controller import Controller

    console.rule("[bold]提醒发送: 待发提醒 → 邮件与企业微信机器人 (本机演示服务器)")
    now = utcnow()
    compose_digests(ctx, now)
    outbox = table_of(Outbox)
    with ctx.engine.connect() as conn:
        audiences = {a for (a,) in conn.execute(select(outbox.c.audience).distinct())}
        kinds = Counter(
            k for (k,) in conn.execute(select(outbox.c.kind).where(outbox.c.status == "pending"))
        )
    tags = sorted({apprise_tag(p) for a in audiences for p in a.split(",") if p.strip()})

    mailbox, posts = _Mailbox(), []  # type: ignore[var-annotated]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_port())
    smtp.start()
    robot = _robot(posts)
    prepare_apprise()
    from apprise.plugins.wecombot import NotifyWeComBot

    saved = NotifyWeComBot.notify_url
    NotifyWeComBot.notify_url = (
        f"http://127.0.0.1:{robot.server_address[1]}/cgi-bin/webhook/send?key={{key}}"
    )
    try:
        # The demo's routing file: WeCom for handlers and team leads, email for the rest.
        chat = [t for t in tags if t.startswith(("role-", "level-1", "level-2", "user-li"))]
        rest = [t for t in tags if t not in chat] + ["fallback"]
        yaml = (
            "version: 1\nurls:\n"
            + (f"  - wecombot://demorobot:\n      - tag: {', '.join(chat)}\n" if chat else "")
            + f"  - mailto://127.0.0.1:{smtp.port}?mode=insecure&from=tousu@example.com"
            f"&to=xiaobao@example.com:\n      - tag: {', '.join(rest)}\n"
        )
        # The local servers have no rate limit: no throttle here (production keeps the
        # configured 3 s between two posts to one WeCom robot).
        settings = dataclasses.replace(
            load_settings(ctx.config), services={"default": ServiceLimits(rate=0, cto=2, rto=5)}
        )
        routing = load_routing(settings, text=yaml)
        console.print(
            "待发提醒: "
            + (", ".join(f"{KINDS.get(k, k)} {v}" for k, v in sorted(kinds.items())) or "无")
        )
        first = dispatch(ctx, now=now, routing=routing, settings=settings)
        console.print(
            f"第一次发送: 成功 {first.sent} 条 (急件与工作时间内的提醒), "
            f"免打扰顺延 {first.deferred} 条, 无匹配渠道 {first.unrouted} 条"
        )
        if first.deferred:
            cal = ctx.config.calendar
            opening = next_send_time(
                now,
                urgent=False,
                cal=ctx.clock.calendar,
                start=cal.workday_start,
                end=cal.workday_end,
                tz=ctx.tz,
            )
            second = dispatch(ctx, now=opening, routing=routing, settings=settings)
            console.print(
                f"到下一个工作时段 {opening.astimezone(ctx.tz):%m-%d %H:%M} 再发送: "
                f"成功 {second.sent} 条"
            )
        again = dispatch(ctx, now=now, routing=routing, settings=settings)
        console.print(f"再次运行发送: {again.sent} 条 (每条提醒只发送一次)")
    finally:
        smtp.stop()
        robot.shutdown()
        NotifyWeComBot.notify_url = saved
    console.print(
        f"邮件服务器收到 {len(mailbox.subjects)} 封, 企业微信机器人收到 {len(posts)} 条。"
    )
    for subject in mailbox.subjects[:3]:
        console.print(f"  邮件: {subject}")
    if posts:
        console.print("  企业微信 (markdown, 个人信息已脱敏):")
        console.print("    " + posts[0].replace("\n", "\n    "), markup=False)
