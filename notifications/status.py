"""What `tousu notifications status` and `... test TAG` report. Reads the outbox and the
delivery tables; sends only the test message (directly, not through the outbox)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from notifications.dispatch import _send
from notifications.routing import Routing, apprise_tag, load_routing
from notifications.settings import NotifySettings, load_settings
from notifications.templates import render
from services.context import Context
from storage.models import Outbox
from storage.notifications import NotifyChannel, NotifyDelivery
from storage.timeutil import utcnow

O = Outbox.__table__  # type: ignore[attr-defined]
D = NotifyDelivery.__table__  # type: ignore[attr-defined]
H = NotifyChannel.__table__  # type: ignore[attr-defined]


def status(ctx: Context) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        alerts = dict(conn.execute(select(O.c.status, func.count()).group_by(O.c.status)).all())
        deliveries = dict(conn.execute(select(D.c.status, func.count()).group_by(D.c.status)).all())
        unrouted = (
            conn.execute(
                select(O.c.id, O.c.kind, O.c.audience, O.c.last_error)
                .where(O.c.status == "pending", O.c.attempts > 0)
                .order_by(O.c.id)
                .limit(20)
            )
            .mappings()
            .all()
        )
        troubled = (
            conn.execute(
                select(
                    D.c.id,
                    D.c.outbox_id,
                    D.c.channel_label,
                    D.c.status,
                    D.c.attempts,
                    D.c.next_attempt_at,
                    D.c.last_error,
                )
                .where(
                    ((D.c.status == "pending") & (D.c.attempts > 0))
                    | D.c.status.in_(("failed_over", "dead"))
                )
                .order_by(D.c.id.desc())
                .limit(30)
            )
            .mappings()
            .all()
        )
        channels = conn.execute(select(H).order_by(H.c.channel_id)).mappings().all()
    return {
        "alerts": alerts,
        "deliveries": deliveries,
        "unrouted": [dict(r) for r in unrouted],
        "troubled": [dict(r) for r in troubled],
        "channels": [dict(r) for r in channels],
    }


@dataclass
class TestResult:
    channel_id: str
    label: str
    priority: int
    ok: bool
    error: str | None
    seconds: float


def send_test(
    ctx: Context,
    tag: str,
    *,
    routing: Routing | None = None,
    settings: NotifySettings | None = None,
) -> list[TestResult]:
    """A test message to every channel of a tag (all priorities), one result per channel."""
    settings = settings or load_settings(ctx.config)
    routing = routing or load_routing(settings)
    name = apprise_tag(tag)
    message = render(
        "test",
        {
            "number": "TEST-0000",
            "state": "registered",
            "reason": f"路由标签 {name} 测试,发送于 {utcnow().astimezone(ctx.tz):%Y-%m-%d %H:%M}",
        },
        deadline_labels={},
        tz=ctx.tz,
    )
    out = []
    for gone in routing.unavailable:  # named in the file, left out for want of a secret
        for tag in gone.tags:
            priority, _, bare = tag.rpartition(":")
            if bare == name:
                out.append(
                    TestResult(
                        "unavailable",
                        f"{gone.scheme}://",
                        int(priority) if priority.isdigit() else 0,
                        False,
                        f"缺少密钥 {', '.join(gone.missing)}",
                        0.0,
                    )
                )
    for channel in (c for c in routing.channels if name in c.tags):
        t0 = time.perf_counter()
        ok, error = _send(channel, message)
        out.append(
            TestResult(
                channel.id,
                channel.label,
                channel.tags[name],
                ok,
                routing.redact(error),
                time.perf_counter() - t0,
            )
        )
    return out
