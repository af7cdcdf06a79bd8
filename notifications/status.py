"""What `tousu notifications status` and `... test TAG|--all` report. Reads the outbox, the
delivery tables and the routing file; sends only the test message (directly, not through the
outbox). A channel of the routing file that cannot send (its secret is not set) is listed
with the variables to set, so that `status` can fail a monitor until it is fixed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from notifications.dispatch import send_message
from notifications.routing import Routing, RoutingError, apprise_tag, load_routing
from notifications.settings import NotifySettings, load_settings
from notifications.templates import render
from services.context import Context
from storage.models import Outbox
from storage.notifications import NotifyChannel, NotifyDelivery
from storage.schema import table_of
from storage.timeutil import utcnow

OutboxTable = table_of(Outbox)
DeliveryTable = table_of(NotifyDelivery)
ChannelTable = table_of(NotifyChannel)


def configured(
    ctx: Context, *, routing: Routing | None = None, settings: NotifySettings | None = None
) -> dict[str, Any]:
    """The channels of the routing file: those that can send, and those left out with the
    variables to set. A routing file that cannot be read at all is one problem to fix."""
    settings = settings or load_settings(ctx.config)
    try:
        routing = routing or load_routing(settings)
    except RoutingError as exc:
        return {
            "file": str(settings.apprise_file),
            "usable": [],
            "unavailable": [],
            "error": str(exc),
        }
    return {
        "file": str(settings.apprise_file),
        "usable": [
            {"channel_id": c.id, "label": c.label, "service": c.schema, "tags": sorted(c.tags)}
            for c in routing.channels
        ],
        "unavailable": [
            {
                "service": u.scheme,
                "tags": list(u.tags),
                "missing": list(u.missing),
                "describe": u.describe(),
            }
            for u in routing.unavailable
        ],
        "error": None,
    }


def status(
    ctx: Context, *, routing: Routing | None = None, settings: NotifySettings | None = None
) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        alerts: dict[str, int] = {
            str(k): int(v)
            for k, v in conn.execute(
                select(OutboxTable.c.status, func.count()).group_by(OutboxTable.c.status)
            ).all()
        }
        deliveries: dict[str, int] = {
            str(k): int(v)
            for k, v in conn.execute(
                select(DeliveryTable.c.status, func.count()).group_by(DeliveryTable.c.status)
            ).all()
        }
        unrouted = (
            conn.execute(
                select(
                    OutboxTable.c.id,
                    OutboxTable.c.kind,
                    OutboxTable.c.audience,
                    OutboxTable.c.last_error,
                )
                .where(OutboxTable.c.status == "pending", OutboxTable.c.attempts > 0)
                .order_by(OutboxTable.c.id)
                .limit(20)
            )
            .mappings()
            .all()
        )
        troubled = (
            conn.execute(
                select(
                    DeliveryTable.c.id,
                    DeliveryTable.c.outbox_id,
                    DeliveryTable.c.channel_label,
                    DeliveryTable.c.status,
                    DeliveryTable.c.attempts,
                    DeliveryTable.c.next_attempt_at,
                    DeliveryTable.c.last_error,
                )
                .where(
                    ((DeliveryTable.c.status == "pending") & (DeliveryTable.c.attempts > 0))
                    | DeliveryTable.c.status.in_(("failed_over", "dead"))
                )
                .order_by(DeliveryTable.c.id.desc())
                .limit(30)
            )
            .mappings()
            .all()
        )
        channels = (
            conn.execute(select(ChannelTable).order_by(ChannelTable.c.channel_id)).mappings().all()
        )
    return {
        "alerts": alerts,
        "deliveries": deliveries,
        "unrouted": [dict(r) for r in unrouted],
        "troubled": [dict(r) for r in troubled],
        "channels": [dict(r) for r in channels],
        "configured": configured(ctx, routing=routing, settings=settings),
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
    tag: str | None,
    *,
    routing: Routing | None = None,
    settings: NotifySettings | None = None,
) -> list[TestResult]:
    """A test message to every channel of a tag (all priorities), or to every channel of the
    routing file when `tag` is None; one result per channel, the unusable ones included."""
    settings = settings or load_settings(ctx.config)
    routing = routing or load_routing(settings)
    name = apprise_tag(tag) if tag else None
    message = render(
        "test",
        {
            "number": "TEST-0000",
            "state": "registered",
            "reason": f"{f'路由标签 {name}' if name else '全部渠道'} 测试,发送于 "
            f"{utcnow().astimezone(ctx.tz):%Y-%m-%d %H:%M}",
        },
        deadline_labels={},
        tz=ctx.tz,
    )
    out = []
    for gone in routing.unavailable:  # named in the file, left out for want of a secret
        for each in gone.tags or ("",):
            priority, _, bare = each.rpartition(":")
            if name is None or bare == name:
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
                if name is None:
                    break  # one line per channel with --all
    for channel in (c for c in routing.channels if name is None or name in c.tags):
        t0 = time.perf_counter()
        result = send_message(channel, message)
        out.append(
            TestResult(
                channel.id,
                channel.label,
                channel.tags[name] if name else min(channel.tags.values(), default=0),
                result.ok,
                routing.redact(result.error),
                time.perf_counter() - t0,
            )
        )
    return out
