"""Two dispatchers at once never send one alert twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

from notifications.dispatch import dispatch
from notifications.settings import ServiceLimits
from services.context import Context
from tests.notifications.conftest import SMTP, WORKING, alert, routing, settings


def test_two_dispatchers_running_at_once_send_each_alert_exactly_once(
    any_ctx: Context, smtp: SMTP
) -> None:
    for i in range(60):
        alert(any_ctx, f"c{i}:race", audience="supervisors")
    # Timeouts long enough that a loaded CI machine does not turn a slow loopback answer
    # into a failed attempt; one that fails anyway is retried below, at later instants.
    s = settings(batch=25, services={"default": ServiceLimits(rate=0, cto=15.0, rto=15.0)})
    r = routing(
        f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n"
        f"  - {smtp.url(to='b@example.com')}:\n      - tag: supervisors\n",
        s,
    )
    sent: list[int] = []

    def run() -> None:
        for _ in range(6):
            sent.append(dispatch(any_ctx, now=WORKING, routing=r, settings=s).sent)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A delivery that failed on a transient loopback error waits for its backoff: later
    # passes (inside the same working morning) send what is left, and only that.
    for k in range(1, 6):
        if sum(sent) >= 120:
            break
        later = WORKING + timedelta(seconds=s.backoff_max * k + 1)
        sent.append(dispatch(any_ctx, now=later, routing=r, settings=s).sent)
    assert sum(sent) == 120
    recipients = [(str(m["To"]), str(m["Subject"])) for m in smtp.messages]
    assert len(recipients) == 120 and len(set(recipients)) == 120
