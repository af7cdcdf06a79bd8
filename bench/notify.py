"""1,000 alerts through the outbox vs a plain client loop, to the same local servers.

    .venv/bin/python bench/notify.py [--alerts 1000] [--workers 4] [--dispatchers 2]

Starts its own aiosmtpd server and a WeCom-style HTTP server on loopback. The alerts are
written to the outbox of a fresh SQLite database (one transaction each, as the causing events
do) and routed over two WeCom robots and two mailboxes. Then:

- dispatcher: `--dispatchers` dispatch loops at once (threads, one SQLite file) until the
  outbox is empty, with every robot's rate budget enforced through the database
  (notifications/budget.py). The local robots have no 20-a-minute limit, so the budget is
  raised for their URLs only (printed); Apprise's own throttle is off for them too.
- plain: one loop sending the same 1,000 messages (rendered beforehand, not timed) with
  smtplib (one connection) and an HTTP client (one session) to the same servers.

Each run is checked: every alert arrives exactly once. An absolute time does not carry across
machines; the headline is the ratio of deliveries per second measured in one run:
dispatcher ÷ plain. Last line: ratio=<number> (target ≥ 0.25), after seconds=<total>.
"""

from __future__ import annotations

import argparse
import dataclasses
import email
import email.policy
import json
import re
import smtplib
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NUMBER = re.compile(r"TS\d{15}")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.numbers: Counter[str] = Counter()
        self.lock = threading.Lock()

    def add(self, text: str) -> None:
        with self.lock:
            self.numbers.update(set(NUMBER.findall(text)))

    def reset(self) -> Counter[str]:
        with self.lock:
            got, self.numbers = self.numbers, Counter()
        return got

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        msg = email.message_from_bytes(
            envelope.content,  # type: ignore[attr-defined]
            policy=email.policy.default,
        )
        self.add(str(msg["Subject"]))
        return "250 OK"


def robot_server(inbox: Inbox) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real robot
        # One write per answer and no Nagle delay: otherwise a kept-alive client waits for
        # a delayed ACK (about 40 ms) on every request and the plain loop measures that.
        disable_nagle_algorithm = True
        wbufsize = 1 << 16

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            inbox.add(body["markdown"]["content"].split("\n", 1)[0])
            data = b'{"errcode":0,"errmsg":"ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            """No per-request stderr line: it would cost more than the request."""

    server = ThreadingHTTPServer(("127.0.0.1", _port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _check(got: Counter[str], expected: set[str]) -> tuple[bool, str]:
    missing = expected - set(got)
    twice = {n for n, c in got.items() if c > 1}
    extra = set(got) - expected
    ok = not missing and not twice and not extra
    return ok, (
        f"exactly_once={'yes' if ok else 'NO'} arrived={len(got)} missing={len(missing)} "
        f"twice={len(twice)} unexpected={len(extra)}"
    )


def plain_loop(
    messages: list[tuple[int, Any]], smtp_port: int, robot_port: int, keys: list[str]
) -> float:
    """The same messages with smtplib and requests, one connection/session each."""
    import requests

    t0 = time.perf_counter()
    http = requests.Session()
    mail = smtplib.SMTP("127.0.0.1", smtp_port, timeout=10)
    try:
        for route, m in messages:
            if route < 2:  # robots
                payload = {"msgtype": "markdown", "markdown": {"content": m.markdown}}
                r = http.post(
                    f"http://127.0.0.1:{robot_port}/cgi-bin/webhook/send?key={keys[route]}",
                    data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    timeout=5,
                )
                assert r.status_code == 200 and r.json()["errcode"] == 0
            else:
                msg = EmailMessage()
                msg["Subject"] = m.subject
                msg["From"] = "tousu@example.com"
                msg["To"] = "a@example.com" if route == 2 else "b@example.com"
                msg["Auto-Submitted"] = "auto-generated"
                msg.set_content(m.text)
                msg.add_alternative(m.html, subtype="html")
                mail.send_message(msg)
    finally:
        mail.quit()
        http.close()
    return time.perf_counter() - t0


def main() -> None:
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--dispatchers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100, help="deliveries claimed per pass")
    args = ap.parse_args()

    from aiosmtpd.controller import Controller

    from config import load_config
    from notifications.dispatch import dispatch, pending_count
    from notifications.routing import load_routing, prepare_apprise
    from notifications.settings import ServiceLimits, load_settings
    from notifications.templates import render
    from services.context import open_context
    from storage.migrate import upgrade
    from storage.records import enqueue_alert
    from tests.factories import cst

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_port())
    smtp.start()
    robots = robot_server(inbox)
    robot_port = int(robots.server_address[1])
    prepare_apprise()
    from apprise.plugins.wecombot import NotifyWeComBot

    NotifyWeComBot.notify_url = f"http://127.0.0.1:{robot_port}/cgi-bin/webhook/send?key={{key}}"
    tmp = Path(tempfile.mkdtemp(prefix="tousu-bench-notify-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    ctx = open_context(load_config(environ={"TOUSU_DATABASE_URL": url, "TOUSU_ROOT": str(tmp)}))
    mail = f"mailto://127.0.0.1:{smtp.port}?mode=insecure&from=tousu@example.com"
    keys = ["benchrobot0", "benchrobot1"]
    yaml = f"""version: 1
urls:
  - wecombot://{keys[0]}:
      - tag: t0
  - wecombot://{keys[1]}:
      - tag: t1
  - {mail}&to=a@example.com:
      - tag: t2
  - {mail}&to=b@example.com:
      - tag: t3
"""
    base = load_settings(ctx.config)
    production = base.limits("wecombot")
    # The local robots have no 20-a-minute limit: their budget is raised (still counted in
    # the database by every dispatcher), and Apprise's throttle is off.
    budget = ServiceLimits(
        rate=0, cto=2, rto=5, per_window=1_000_000, window=production.window, max_bytes=4096
    )
    settings = dataclasses.replace(
        base,
        workers=args.workers,
        batch=args.batch,
        services={"default": ServiceLimits(rate=0, cto=2, rto=5), "wecombot": budget},
    )
    routing = load_routing(settings, text=yaml)
    now = cst(2026, 11, 23, 10, 0)  # a Monday morning: no quiet hours
    numbers = [f"TS20261123{i:07d}" for i in range(args.alerts)]
    payloads = [
        {
            "number": number,
            "state": "investigating",
            "deadline": "decision",
            "due": "2026-11-30T16:00:00+00:00",
            "reason": f"投诉人电话 1380013{i % 10000:04d}",
        }
        for i, number in enumerate(numbers)
    ]

    t0 = time.perf_counter()
    for i, payload in enumerate(payloads):
        with ctx.engine.begin() as conn:
            enqueue_alert(
                conn,
                dedupe_key=f"bench:{i}",
                kind="deadline_warning",
                audience=f"t{i % 4}",
                complaint_id=None,
                event_id=None,
                payload=payload,
                urgent=False,
                now=now,
            )
    t_enqueue = time.perf_counter() - t0

    sent: list[int] = []
    passes: list[int] = []

    def loop() -> None:
        n = 0
        while pending_count(ctx) and n < 200:
            report = dispatch(ctx, now=now, routing=routing, settings=settings)
            sent.append(report.sent)
            n += 1
            if not report.sent:
                time.sleep(0.01)  # the other dispatcher holds the rest: do not spin
        passes.append(n)

    t1 = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(args.dispatchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_dispatch = time.perf_counter() - t1
    time.sleep(0.2)  # the SMTP server's last DATA handlers
    ok_d, line_d = _check(inbox.reset(), set(numbers))

    labels = {k: v.label for k, v in ctx.config.deadlines.items()}
    messages = [
        (i % 4, render("deadline_warning", p, deadline_labels=labels, tz=ctx.tz, now=now))
        for i, p in enumerate(payloads)
    ]
    t_plain = plain_loop(messages, smtp.port, robot_port, keys)
    time.sleep(0.2)
    ok_p, line_p = _check(inbox.reset(), set(numbers))
    smtp.stop()
    robots.shutdown()
    ctx.close()

    rate_d = args.alerts / t_dispatch
    rate_p = args.alerts / t_plain
    print(
        f"alerts={args.alerts} enqueue_seconds={t_enqueue:.2f} "
        f"({args.alerts / t_enqueue:.0f} alerts/s written)"
    )
    print(
        f"budget: {budget.per_window} per {budget.window:g} s per robot URL for the local "
        f"robots (production wecombot: {production.per_window} per {production.window:g} s)"
    )
    print(
        f"dispatcher: dispatchers={args.dispatchers} batch={args.batch} seconds={t_dispatch:.2f} "
        f"passes={sum(passes)} sent={sum(sent)} ({rate_d:.0f} deliveries/s) {line_d}"
    )
    print(f"plain: seconds={t_plain:.2f} ({rate_p:.0f} deliveries/s) {line_p}")
    print(f"seconds={time.perf_counter() - t_start:.2f}")
    print(f"ratio={rate_d / rate_p:.3f}")
    if not (ok_d and ok_p):
        sys.exit(1)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
