"""1,000 alerts through the outbox to local servers; each must arrive exactly once.

    .venv/bin/python bench/notify.py [--alerts 1000] [--workers 4]

Starts its own aiosmtpd server and a WeCom-style HTTP server on loopback, writes the alerts
to the outbox of a fresh SQLite database (one transaction each, as the causing events do),
routes them over two WeCom robots and two mailboxes, and dispatches until the outbox is empty.
The local servers have no rate limit, so the per-service throttle is 0 here (production keeps
the configured WeCom/DingTalk rate). Last line: seconds=<total>. Target: under 10.
"""

from __future__ import annotations

import argparse
import dataclasses
import email
import email.policy
import json
import re
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        msg = email.message_from_bytes(
            envelope.content,  # type: ignore[attr-defined]
            policy=email.policy.default,
        )
        self.add(str(msg["Subject"]))
        return "250 OK"


def robot_server(inbox: Inbox) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
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


def main() -> None:
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()

    from aiosmtpd.controller import Controller

    from config import load_config
    from notifications.dispatch import dispatch, pending_count
    from notifications.routing import prepare_apprise, load_routing
    from notifications.settings import ServiceLimits, load_settings
    from services.context import open_context
    from storage.records import enqueue_alert
    from storage.migrate import upgrade
    from tests.factories import cst

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_port())
    smtp.start()
    robots = robot_server(inbox)
    prepare_apprise()
    from apprise.plugins.wecombot import NotifyWeComBot

    NotifyWeComBot.notify_url = (
        f"http://127.0.0.1:{robots.server_address[1]}/cgi-bin/webhook/send?key={{key}}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="tousu-bench-notify-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    ctx = open_context(load_config(environ={"TOUSU_DATABASE_URL": url, "TOUSU_ROOT": str(tmp)}))
    mail = f"mailto://127.0.0.1:{smtp.port}?mode=insecure&from=tousu@example.com"
    yaml = f"""version: 1
urls:
  - wecombot://benchrobot0:
      - tag: t0
  - wecombot://benchrobot1:
      - tag: t1
  - {mail}&to=a@example.com:
      - tag: t2
  - {mail}&to=b@example.com:
      - tag: t3
"""
    base = load_settings(ctx.config)
    settings = dataclasses.replace(
        base, workers=args.workers, services={"default": ServiceLimits(rate=0, cto=2, rto=5)}
    )
    routing = load_routing(settings, text=yaml)
    now = cst(2026, 11, 23, 10, 0)  # a Monday morning: no quiet hours
    numbers = [f"TS20261123{i:07d}" for i in range(args.alerts)]

    t0 = time.perf_counter()
    for i, number in enumerate(numbers):
        with ctx.engine.begin() as conn:
            enqueue_alert(
                conn,
                dedupe_key=f"bench:{i}",
                kind="deadline_warning",
                audience=f"t{i % 4}",
                complaint_id=None,
                event_id=None,
                payload={
                    "number": number,
                    "state": "investigating",
                    "deadline": "decision",
                    "due": "2026-11-30T16:00:00+00:00",
                    "reason": f"投诉人电话 1380013{i % 10000:04d}",
                },
                urgent=False,
                now=now,
            )
    t_enqueue = time.perf_counter() - t0

    t1 = time.perf_counter()
    passes = sent = 0
    while pending_count(ctx) and passes < 20:
        report = dispatch(ctx, now=now, routing=routing, settings=settings)
        sent += report.sent
        passes += 1
    t_dispatch = time.perf_counter() - t1
    time.sleep(0.2)  # the SMTP server's last DATA handlers
    smtp.stop()
    robots.shutdown()
    ctx.close()

    expected = set(numbers)
    got = inbox.numbers
    missing = expected - set(got)
    twice = {n: c for n, c in got.items() if c > 1}
    extra = set(got) - expected
    print(
        f"alerts={args.alerts} enqueue_seconds={t_enqueue:.2f} "
        f"({args.alerts / t_enqueue:.0f} alerts/s written)"
    )
    print(
        f"dispatch_seconds={t_dispatch:.2f} passes={passes} sent={sent} "
        f"({args.alerts / t_dispatch:.0f} alerts/s delivered)"
    )
    ok = not missing and not twice and not extra
    print(
        f"exactly_once={'yes' if ok else 'NO'} arrived={len(got)} missing={len(missing)} "
        f"twice={len(twice)} unexpected={len(extra)}"
    )
    print(f"seconds={time.perf_counter() - t_start:.2f}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
