"""Two dispatchers at once never send one alert twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from notifications.dispatch import dispatch
from services.context import Context
from tests.notifications.conftest import SMTP, WORKING, alert, routing, settings


def test_two_dispatchers_running_at_once_send_each_alert_exactly_once(
    any_ctx: Context, smtp: SMTP
) -> None:
    for i in range(60):
        alert(any_ctx, f"c{i}:race", audience="supervisors")
    r = routing(
        f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n"
        f"  - {smtp.url(to='b@example.com')}:\n      - tag: supervisors\n"
    )
    s = settings(batch=25)
    sent: list[int] = []

    def run() -> None:
        for _ in range(6):
            sent.append(dispatch(any_ctx, now=WORKING, routing=r, settings=s).sent)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sent) == 120
    recipients = [(str(m["To"]), str(m["Subject"])) for m in smtp.messages]
    assert len(recipients) == 120 and len(set(recipients)) == 120
