"""Demo step: messages to the complainant. An SMS gateway that this step starts on loopback
receives the acceptance message (only the case number, the deadline and the hotline in it);
then the gateway goes down, the extension message is retried with back-off, shows in the
handler's queue as 短信发送失败, and goes out once the gateway is back. Each outcome is a
contact in the timeline."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rich.console import Console

from demo import staff
from demo.staff import CLERK, HANDLER
from notifications.routing import load_routing
from notifications.settings import ServiceLimits, load_settings
from services.casefile import messages
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.queries import get_complaint, queue
from services.lifecycle.registration import Person, Registration, register
from storage.timeutil import utcnow


class _Gateway(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []
    down = False

    def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if _Gateway.down:
            self.send_response(503)
            self.end_headers()
            return
        _Gateway.bodies.append(json.loads(data))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"code": 0}')

    def log_message(self, *args: Any) -> None:
        """Silent: the demo prints its story, not the stand-in gateway's request log."""


def _by_day(ctx: Context, now: datetime) -> datetime:
    """Messages go out in `[messages] send_hours` only: run at night, the demo's story takes
    place at 10:00 on the last day it could."""
    if messages.opens_at(ctx, messages.settings(ctx), now) == now:
        return now
    local = now.astimezone(ctx.tz)
    day = local.date() if local.hour >= 10 else local.date() - timedelta(days=1)
    return datetime.combine(day, time(10), ctx.tz).astimezone(now.tzinfo)


def run(ctx: Context, console: Console) -> None:
    staff.seed(ctx)
    console.rule("[bold]短信告知投诉人: 受理、延期; 网关故障时重试并在工作队列提示")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = dataclasses.replace(
            load_settings(ctx.config), services={"default": ServiceLimits(rate=0, cto=2, rto=5)}
        )
        routing = load_routing(
            settings,
            text=f"version: 1\nurls:\n  - json://127.0.0.1:{port}/sms:\n"
            "      - tag: complainant-sms\n",
        )
        now = _by_day(ctx, utcnow())
        t = now - timedelta(hours=3)
        number = register(
            ctx,
            Registration(
                complainant=Person(name="周晓梅", phone="13622223333"),
                claim="要求尽快赔付住院费用",
                facts="理赔材料已交齐两周无答复",
                channel="hotline",
                branch="beijing",
                received_at=t,
            ),
            actor=CLERK,
        ).number
        a.accept(
            ctx,
            number,
            actor=CLERK,
            category="claims",
            product="medical",
            owner=HANDLER,
            at=t + timedelta(hours=1),
        )
        sent = messages.send(
            ctx, number, "acceptance", actor=HANDLER, channel="sms", now=now, routing=routing
        )
        body = _Gateway.bodies[-1]
        console.print(f"{number}: 受理短信 {messages.STATUSES[sent[0]['status']]}")
        console.print(f"  网关收到 (收件号码 {body['to'][:3]}****): {body['message']}")
        a.extend(ctx, number, actor=HANDLER, to=30, reason="需调取病历", at=now)
        _Gateway.down = True
        cfg = messages.settings(ctx)
        messages.send(
            ctx, number, "extension", actor=HANDLER, channel="sms", now=now, routing=routing
        )
        when = now
        for n in range(1, cfg.failures_shown):
            when += messages.backoff(cfg, n)
            messages.deliver(ctx, now=when, routing=routing)
        mine = queue(ctx, actor={"username": HANDLER, "role": "liaison"})
        shown = next(i for i in mine["items"] if i["number"] == number)["message_failures"]
        console.print(f"网关故障: 延期短信重试 {cfg.failures_shown} 次未成功, 工作队列提示 {shown}")
        _Gateway.down = False
        when += messages.backoff(cfg, cfg.failures_shown)
        done = messages.deliver(ctx, now=when, routing=routing)
        console.print(f"网关恢复: 重试发送成功 {done['sent']} 条: {_Gateway.bodies[-1]['message']}")
        outcomes = [
            e["reason"] for e in get_complaint(ctx, number)["events"] if e["action"] == "contact"
        ]
        console.print("联系记录: " + "; ".join(outcomes))
    finally:
        server.shutdown()
        server.server_close()
