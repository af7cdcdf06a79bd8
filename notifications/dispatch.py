"""The outbox dispatcher: fan alerts out to channels, claim, send, record, retry.

Guarantees, and how:
- Nothing lost: an alert is an outbox row written in the causing transaction; a delivery is
  `sent` only in the transaction that records its successful attempt. Failures retry with
  exponential backoff for as long as it takes; a channel that is down holds its alerts.
- Nothing twice: one delivery per (complaint × event × kind × channel), UNIQUE; a claim moves
  it to `sending` under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
  SQLite), so two dispatchers never send one row. The one residual window: a process killed
  after the server accepted a message and before the commit; that row is retried when its
  lease expires and its attempt is recorded as `interrupted` (at-least-once there, by choice:
  a lost breach alert costs more than a repeated one).
- Fallback: after `fallback_after` failures a delivery is `failed_over` and the next Apprise
  priority group of its tag gets a delivery of its own; so does a delivery held on a failing
  channel for `fallback_delay_seconds`; `tousu notifications status` shows both.
- Quiet hours: a non-urgent alert waits for working hours (notifications/quiet.py).
"""

from __future__ import annotations

import hashlib
import re
import time as clock
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from notifications import budget as rate
from notifications.facts import current_payloads, people
from notifications.plugins import (
    WECOM_MARKDOWN_LIMIT,
    PostResult,
    fit_bytes,
    json_len,
    text_alternative,
    utf8_len,
)
from notifications.quiet import next_send_time
from notifications.routing import CAPTURE, Channel, Routing, load_routing
from notifications.settings import NotifySettings, load_settings
from notifications.templates import Message, render
from services.context import Context
from storage.models import Complaint, Outbox
from storage.notifications import DeliveryAttempt, NotifyChannel, NotifyDelivery
from storage.records import enqueue_alert
from storage.schema import table_of
from storage.timeutil import to_db, utcnow

OutboxTable = table_of(Outbox)
ComplaintTable = table_of(Complaint)
DeliveryTable = table_of(NotifyDelivery)
AttemptTable = table_of(DeliveryAttempt)
ChannelTable = table_of(NotifyChannel)


@dataclass
class DispatchReport:
    routed: int = 0
    deferred: int = 0  # quiet hours
    unrouted: int = 0
    sent: int = 0
    failed: int = 0
    held: int = 0  # not tried this run: their channel had just failed
    failed_over: int = 0
    throttled: int = 0  # refused by a robot's rate limit: waiting for the next pass
    seconds: float = 0.0
    # Channels of the routing file left out because their secrets are not set.
    unavailable: list[str] = field(default_factory=list)
    # No channel of the routing file can send at all.
    nothing_usable: bool = False
    # The administrators' alert about unavailable channels was queued by this pass (once
    # per set of unavailable channels).
    admins_told: bool = False


def is_urgent(row: Any, settings: NotifySettings) -> bool:
    """Whether an alert goes at once, even in quiet hours. A case's priority and media
    involvement are read from the case as it is now (`case_priority`, `case_media_involved`,
    joined by `fan_out`), so a case raised to 重大 after its alert was queued is not held;
    the payload's copy serves alerts without a case."""
    payload = row["payload"] or {}
    has_case = row.get("case_priority") is not None
    priority = row["case_priority"] if has_case else payload.get("priority")
    media = row["case_media_involved"] if has_case else payload.get("media_involved")
    return bool(
        row["urgent"]
        or row["kind"] in settings.urgent_kinds
        or payload.get("trigger") in settings.urgent_kinds
        or priority == "major"
        or media
        or payload.get("urgent")
    )


def _quiet(ctx: Context, settings: NotifySettings, now: datetime, urgent: bool) -> datetime:
    if not settings.quiet_hours:
        return now
    cal = ctx.config.calendar
    return next_send_time(
        now,
        urgent=urgent,
        cal=ctx.clock.calendar,
        start=cal.workday_start,
        end=cal.workday_end,
        tz=ctx.tz,
    )


def _backoff(settings: NotifySettings, attempts: int) -> timedelta:
    return timedelta(
        seconds=min(settings.backoff_base * 2 ** max(attempts - 1, 0), settings.backoff_max)
    )


def _delivery_key(alert: Any, channel_id: str) -> str:
    """complaint × event × kind × recipient (channel). Alerts without an event (digests,
    reports) use their own outbox key in place of the event, or the `delivery_group` their
    payload names: alerts of one group (the invitations of one consultation, one per
    department) reach a recipient address once, however many departments share it."""
    group = (alert.get("payload") or {}).get("delivery_group")
    event = group or (f"e{alert['event_id']}" if alert["event_id"] else alert["dedupe_key"])
    key = f"{alert['complaint_id'] or '-'}|{event}|{alert['kind']}|{channel_id}"
    return key if len(key) <= 240 else hashlib.sha256(key.encode()).hexdigest()


def _insert_ignore(conn: Connection, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    result = conn.execute(
        _dialect_insert(conn)(DeliveryTable).on_conflict_do_nothing(index_elements=["dedupe_key"]),
        rows,
    )
    return int(result.rowcount or 0)


def _deliveries_for(
    alert: Any,
    groups: Sequence[tuple[str, list[Channel]]],
    *,
    urgent: bool,
    now: datetime,
    fallback_of: int | None = None,
) -> list[dict[str, Any]]:
    tag, channels = groups[0]
    return [
        {
            "outbox_id": alert["id"],
            "dedupe_key": _delivery_key(alert, c.id),
            "channel_id": c.id,
            "channel_label": c.label,
            "tag": tag,
            "priority": c.tags[tag],
            "fallback_of": fallback_of,
            "urgent": urgent,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": to_db(now),
            "lease_until": None,
            "created_at": to_db(now),
            "sent_at": None,
            "last_error": None,
        }
        for c in channels
    ]


def _any_working(routing: Routing) -> list[tuple[str, list[Channel]]]:
    """For the administrators' alert about unavailable channels when neither their tag nor
    `fallback` is routed: whichever channel works, a mailbox first."""
    ranked = sorted(
        routing.channels, key=lambda c: (c.kind != "email", min(c.tags.values(), default=0))
    )
    for c in ranked:
        tag = next(iter(c.tags), None)
        if tag is not None:
            return [(tag, [c])]
    return []


def fan_out(
    ctx: Context, routing: Routing, settings: NotifySettings, now: datetime, report: DispatchReport
) -> None:
    """Pending outbox rows → one delivery per resolved channel (one transaction)."""
    stmt = (
        select(
            OutboxTable,
            ComplaintTable.c.branch,
            ComplaintTable.c.priority.label("case_priority"),
            ComplaintTable.c.media_involved.label("case_media_involved"),
        )
        .select_from(
            OutboxTable.outerjoin(ComplaintTable, ComplaintTable.c.id == OutboxTable.c.complaint_id)
        )
        .where(OutboxTable.c.status == "pending", OutboxTable.c.next_attempt_at <= to_db(now))
        .order_by(OutboxTable.c.urgent.desc(), OutboxTable.c.id)
        .limit(settings.batch)
    )
    with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=OutboxTable, skip_locked=True)
        rows = conn.execute(stmt).mappings().all()
        new: list[dict[str, Any]] = []
        routed, later, unrouted = [], [], []
        for alert in rows:
            urgent = is_urgent(alert, settings)
            when = _quiet(ctx, settings, now, urgent)
            if when > now:
                later.append({"_id": alert["id"], "t": to_db(when)})
                continue
            branch = (alert["payload"] or {}).get("branch") or alert["branch"]
            made = []
            for part in (p for p in alert["audience"].split(",") if p.strip()):
                groups = (
                    routing.groups(part, branch)
                    # A bare username (as some features write it) is that user's tag.
                    or (routing.groups(f"user:{part}", branch) if ":" not in part else [])
                    or routing.groups(settings.unrouted_tag, branch)
                )
                if not groups and alert["kind"] == "notify_unavailable":
                    groups = _any_working(routing)
                if groups:
                    made += _deliveries_for(alert, groups, urgent=urgent, now=now)
            if made:
                new += made
                routed.append(alert["id"])
            else:
                unrouted.append(
                    {
                        "_id": alert["id"],
                        "t": to_db(now + _backoff(settings, 8)),
                        "e": f"无匹配渠道: {alert['audience']}(请在路由文件中为该标签配置渠道)",
                    }
                )
        _insert_ignore(conn, new)
        if routed:
            conn.execute(
                update(OutboxTable).where(OutboxTable.c.id.in_(routed)).values(status="routed")
            )
            # Every channel already had this complaint × event × kind from another alert
            # (two audiences, one recipient): nothing of its own to send.
            covered = set(
                conn.execute(
                    select(DeliveryTable.c.outbox_id)
                    .where(DeliveryTable.c.outbox_id.in_(routed))
                    .distinct()
                ).scalars()
            )
            merged = [i for i in routed if i not in covered]
            if merged:
                conn.execute(
                    update(OutboxTable)
                    .where(OutboxTable.c.id.in_(merged))
                    .values(
                        status="duplicate",
                        sent_at=to_db(now),
                        last_error="同一投诉同一事件已由另一提醒发往相同渠道",
                    )
                )
        for r in later:
            conn.execute(
                update(OutboxTable)
                .where(OutboxTable.c.id == r["_id"])
                .values(next_attempt_at=r["t"])
            )
        for r in unrouted:
            conn.execute(
                update(OutboxTable)
                .where(OutboxTable.c.id == r["_id"])
                .values(
                    next_attempt_at=r["t"], last_error=r["e"], attempts=OutboxTable.c.attempts + 1
                )
            )
    report.routed += len(routed)
    report.deferred += len(later)
    report.unrouted += len(unrouted)


def claim(
    ctx: Context, settings: NotifySettings, now: datetime, limit: int, report: DispatchReport
) -> list[dict[str, Any]]:
    """Due deliveries → `sending` under a lease. Expired leases are interrupted attempts."""
    due = or_(
        and_(DeliveryTable.c.status == "pending", DeliveryTable.c.next_attempt_at <= to_db(now)),
        and_(DeliveryTable.c.status == "sending", DeliveryTable.c.lease_until < to_db(now)),
    )
    # With the delivery, what its alert's fallback needs (the alert's key fields and the
    # complaint's branch), so that a failure reads neither row again.
    stmt = (
        select(
            DeliveryTable,
            OutboxTable.c.kind,
            OutboxTable.c.payload,
            OutboxTable.c.complaint_id,
            OutboxTable.c.event_id,
            OutboxTable.c.dedupe_key.label("alert_key"),
            ComplaintTable.c.branch,
        )
        .select_from(
            DeliveryTable.join(
                OutboxTable, OutboxTable.c.id == DeliveryTable.c.outbox_id
            ).outerjoin(ComplaintTable, ComplaintTable.c.id == OutboxTable.c.complaint_id)
        )
        .where(due)
        .order_by(
            DeliveryTable.c.urgent.desc(), DeliveryTable.c.next_attempt_at, DeliveryTable.c.id
        )
        .limit(limit)
    )
    lease = to_db(now + timedelta(seconds=settings.lease_seconds))
    with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=DeliveryTable, skip_locked=True)
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        claimed, later = [], []
        for r in rows:
            if r["status"] == "sending":  # its dispatcher died mid-send
                conn.execute(
                    insert(AttemptTable).values(
                        delivery_id=r["id"],
                        outbox_id=r["outbox_id"],
                        channel_id=r["channel_id"],
                        started_at=r["lease_until"],
                        finished_at=to_db(now),
                        result="interrupted",
                        error="发送进程中断(租约到期),重新发送",
                    )
                )
            when = _quiet(ctx, settings, now, r["urgent"])
            if when > now:
                later.append((r["id"], when))
            else:
                claimed.append(r["id"])
        if claimed:
            conn.execute(
                update(DeliveryTable)
                .where(DeliveryTable.c.id.in_(claimed))
                .values(status="sending", lease_until=lease)
            )
        for did, when in later:
            conn.execute(
                update(DeliveryTable)
                .where(DeliveryTable.c.id == did)
                .values(status="pending", next_attempt_at=to_db(when))
            )
    report.deferred += len(later)
    ids = set(claimed)
    out = [r for r in rows if r["id"] in ids]
    for r in out:
        r["lease"] = lease  # the claim's token: a record only lands under its own lease
    return out


_FONT = re.compile(r"</?font[^>]*>")


@dataclass(frozen=True)
class Recipients:
    """Whom a robot message @-mentions: WeCom user ids, and work mobiles of people who
    have no user id (sent only to the robot, never shown or logged)."""

    userids: tuple[str, ...] = ()
    mobiles: tuple[str, ...] = field(default=(), repr=False)

    @property
    def posts(self) -> int:
        """WeCom posts one alert takes: the markdown, and a text message for mobiles."""
        return 2 if self.mobiles else 1


NOBODY = Recipients()


def _attachable(paths: Sequence[str], cap: int) -> list[str]:
    """The files to attach: all of them when they exist and fit `cap` bytes together, else
    none (the message names where they are)."""
    files = [Path(p) for p in paths]
    if not files or not all(f.is_file() for f in files):
        return []
    return [str(f) for f in files] if sum(f.stat().st_size for f in files) <= cap else []


def send_message(
    channel: Channel,
    message: Message,
    *,
    recipients: Recipients = NOBODY,
    attach_max_bytes: int = 0,
) -> PostResult:
    """Send one rendered message to one channel, in that channel's format and within its
    size limit. Public: the dispatcher and `tousu notifications test` use it."""
    from apprise import NotifyFormat

    server = channel.server
    fmt = server.notify_format  # a NotifyFormat (a str enum: compare members, not str())
    if channel.kind == "wecom":
        try:
            return cast(
                PostResult,
                server.post_alert(
                    message.markdown,
                    userids=recipients.userids,
                    mobiles=recipients.mobiles,
                    notice=message.notice,
                    limit=channel.max_bytes or WECOM_MARKDOWN_LIMIT,
                ),
            )
        except Exception as exc:  # noqa: BLE001 - a plugin bug must not stop the batch
            return PostResult(False, type(exc).__name__)
    attach: list[str] = []
    if fmt == NotifyFormat.HTML:
        body, title = message.html, message.subject
        attach = _attachable(message.attachments, attach_max_bytes)
    elif fmt == NotifyFormat.MARKDOWN:  # DingTalk, Feishu …: plain markdown, no WeCom colours
        body, title = _FONT.sub("", message.markdown), message.subject
    else:
        body, title = message.text.split("\n", 1)[-1].lstrip("\n"), message.subject
    if channel.max_bytes:
        # The title may be put in front of the body by the plugin: keep room for it.
        room = channel.max_bytes - utf8_len(title) - 8
        body = fit_bytes(body, room, measure=json_len if channel.schema == "feishu" else utf8_len)
    CAPTURE.start()
    try:
        with text_alternative(message.text):
            ok = bool(server.notify(body=body, title=title, body_format=fmt, attach=attach or None))
    except Exception as exc:  # noqa: BLE001 - a plugin bug must not stop the batch
        CAPTURE.take()
        return PostResult(False, type(exc).__name__)
    logged = CAPTURE.take()
    return PostResult(ok, None if ok else ("; ".join(logged[-3:]) or "发送失败(未返回原因)"))


def _record(
    ctx: Context,
    routing: Routing,
    settings: NotifySettings,
    d: dict[str, Any],
    result: PostResult,
    started: datetime,
    report: DispatchReport,
    base: datetime,
) -> None:
    """The attempt and its consequence, one transaction (a `sent` is never recorded apart
    from the attempt that achieved it). `base` is the pass's time, retries count from it.
    A throttled attempt (the robot's own rate limit) is no fault of the channel: the
    delivery waits for the next pass without counting towards the fallback."""
    now = utcnow()
    ok = result.ok
    error = routing.redact(result.error)
    attempts = d["attempts"] + 1
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(AttemptTable).values(
                delivery_id=d["id"],
                outbox_id=d["outbox_id"],
                channel_id=d["channel_id"],
                started_at=to_db(started),
                finished_at=to_db(now),
                result="sent"
                if ok
                else (
                    "throttled"
                    if result.throttled
                    else ("uncertain" if result.uncertain else "failed")
                ),
                error=error,
            )
        )
        guard = and_(
            DeliveryTable.c.id == d["id"],
            DeliveryTable.c.status == "sending",
            DeliveryTable.c.lease_until == d["lease"],
        )
        if result.throttled:
            conn.execute(
                update(DeliveryTable)
                .where(guard)
                .values(
                    status="pending",
                    lease_until=None,
                    last_error=error,
                    next_attempt_at=to_db(base),
                )
            )
            report.throttled += 1
            return
        _health(conn, routing, d["channel_id"], ok, error if not ok else None, now)
        if ok:
            conn.execute(
                update(DeliveryTable)
                .where(guard)
                .values(
                    status="sent",
                    attempts=attempts,
                    sent_at=to_db(now),
                    lease_until=None,
                    last_error=None,
                )
            )
            report.sent += 1
            return
        report.failed += 1
        fallback = _fallback_groups(routing, d) if attempts >= settings.fallback_after else []
        if fallback:
            alert = {
                "id": d["outbox_id"],
                "event_id": d["event_id"],
                "dedupe_key": d["alert_key"],
                "complaint_id": d["complaint_id"],
                "kind": d["kind"],
                "payload": d["payload"],
            }
            _insert_ignore(
                conn,
                _deliveries_for(alert, fallback, urgent=d["urgent"], now=base, fallback_of=d["id"]),
            )
            conn.execute(
                update(DeliveryTable)
                .where(guard)
                .values(status="failed_over", attempts=attempts, lease_until=None, last_error=error)
            )
            report.failed_over += 1
        else:
            conn.execute(
                update(DeliveryTable)
                .where(guard)
                .values(
                    status="pending",
                    attempts=attempts,
                    lease_until=None,
                    last_error=error,
                    next_attempt_at=to_db(base + _backoff(settings, attempts)),
                )
            )


def fail_over_held(
    ctx: Context, routing: Routing, settings: NotifySettings, now: datetime, report: DispatchReport
) -> None:
    """Deliveries still waiting on a failing channel `fallback_delay` after they were made go
    to their tag's next priority group. A channel that is down holds the rest of its batch
    after one failure, so held deliveries accrue no attempts of their own: without this only
    the one tried each pass would ever reach `fallback_after`."""
    if settings.fallback_delay <= 0:
        return
    failing = select(ChannelTable.c.channel_id).where(ChannelTable.c.consecutive_failures > 0)
    stmt = (
        select(
            DeliveryTable,
            OutboxTable.c.kind,
            OutboxTable.c.payload,
            OutboxTable.c.complaint_id,
            OutboxTable.c.event_id,
            OutboxTable.c.dedupe_key.label("alert_key"),
            ComplaintTable.c.branch,
        )
        .select_from(
            DeliveryTable.join(
                OutboxTable, OutboxTable.c.id == DeliveryTable.c.outbox_id
            ).outerjoin(ComplaintTable, ComplaintTable.c.id == OutboxTable.c.complaint_id)
        )
        .where(
            DeliveryTable.c.status == "pending",
            DeliveryTable.c.created_at <= to_db(now - timedelta(seconds=settings.fallback_delay)),
            DeliveryTable.c.channel_id.in_(failing),
        )
        .order_by(DeliveryTable.c.id)
        .limit(settings.batch)
    )
    with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=DeliveryTable, skip_locked=True)
        for d in [dict(r) for r in conn.execute(stmt).mappings()]:
            fallback = _fallback_groups(routing, d)
            if not fallback:
                continue
            alert = {
                "id": d["outbox_id"],
                "event_id": d["event_id"],
                "dedupe_key": d["alert_key"],
                "complaint_id": d["complaint_id"],
                "kind": d["kind"],
                "payload": d["payload"],
            }
            _insert_ignore(
                conn,
                _deliveries_for(alert, fallback, urgent=d["urgent"], now=now, fallback_of=d["id"]),
            )
            conn.execute(
                update(DeliveryTable)
                .where(DeliveryTable.c.id == d["id"], DeliveryTable.c.status == "pending")
                .values(
                    status="failed_over",
                    last_error=d["last_error"] or "渠道持续故障, 超过转备用等待时间, 已转备用渠道",
                )
            )
            report.failed_over += 1


def _fallback_groups(routing: Routing, d: dict[str, Any]) -> list[tuple[str, list[Channel]]]:
    """The next priority group of a claimed delivery's tag (`d["branch"]` from the claim)."""
    groups = routing.groups(d["tag"], d["branch"])
    return [g for g in groups if g[1] and g[1][0].tags[d["tag"]] > d["priority"]][:1]


def _health(
    conn: Connection, routing: Routing, cid: str, ok: bool, error: str | None, now: datetime
) -> None:
    """One upsert: two dispatchers recording on a new channel at once must not collide (a
    failure here would roll back the `sent` mark beside it)."""
    ch = routing.by_id(cid)
    changes: dict[str, Any] = (
        {
            "consecutive_failures": 0,
            "total_sent": ChannelTable.c.total_sent + 1,
            "last_ok_at": to_db(now),
        }
        if ok
        else {
            "consecutive_failures": ChannelTable.c.consecutive_failures + 1,
            "total_failed": ChannelTable.c.total_failed + 1,
            "last_failure_at": to_db(now),
            "last_error": error,
        }
    )
    first = {
        "channel_id": cid,
        "label": ch.label if ch else cid,
        "service": ch.schema if ch else "?",
        "consecutive_failures": 0 if ok else 1,
        "total_sent": 1 if ok else 0,
        "total_failed": 0 if ok else 1,
        "last_ok_at": to_db(now) if ok else None,
        "last_failure_at": None if ok else to_db(now),
        "last_error": None if ok else error,
    }
    conn.execute(
        _dialect_insert(conn)(ChannelTable)
        .values(**first)
        .on_conflict_do_update(index_elements=["channel_id"], set_=changes)
    )


def _dialect_insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    return dialect_insert


def _release(
    ctx: Context,
    settings: NotifySettings,
    held: list[dict[str, Any]],
    now: datetime,
    *,
    retry: bool = True,
) -> None:
    """Deliveries not tried: back to pending with their attempt count untouched; due when
    the channel's own retry is due (`retry`), or at once (the pass ran out of lease time)."""
    if not held:
        return
    due = now + _backoff(settings, 1) if retry else now
    with ctx.engine.begin() as conn:
        for d in held:
            conn.execute(
                update(DeliveryTable)
                .where(
                    DeliveryTable.c.id == d["id"],
                    DeliveryTable.c.status == "sending",
                    DeliveryTable.c.lease_until == d["lease"],
                )
                .values(status="pending", lease_until=None, next_attempt_at=to_db(due))
            )


def _run_channel(
    ctx: Context,
    routing: Routing,
    settings: NotifySettings,
    cid: str,
    batch: list[dict[str, Any]],
    messages: dict[int, Message],
    recipients: dict[int, Recipients],
    base: datetime,
) -> DispatchReport:
    report = DispatchReport()  # one per thread, merged by the caller
    _send_batch(ctx, routing, settings, cid, batch, messages, recipients, report, base)
    return report


def _recipients(
    ctx: Context,
    routing: Routing,
    settings: NotifySettings,
    claimed: list[dict[str, Any]],
    payloads: dict[int, dict[str, Any]],
) -> dict[int, Recipients]:
    """Delivery id → whom its message @-mentions, for the claimed deliveries of channels
    that mention (one read of the user table for the pass)."""
    wanted: dict[int, tuple[str, dict[str, Any]]] = {}
    for d in claimed:
        channel = routing.by_id(d["channel_id"])
        if channel is not None and channel.mentions:
            wanted[d["id"]] = (d["tag"], payloads[d["outbox_id"]])
    return {
        did: Recipients(
            userids=tuple(u for u, _ in found if u),
            mobiles=tuple(m for u, m in found if not u and m),
        )
        for did, found in people(ctx, wanted, settings.mentions).items()
    }


def _send_batch(
    ctx: Context,
    routing: Routing,
    settings: NotifySettings,
    cid: str,
    batch: list[dict[str, Any]],
    messages: dict[int, Message],
    recipients: dict[int, Recipients],
    report: DispatchReport,
    base: datetime,
) -> None:
    channel = routing.by_id(cid)
    if channel is None:  # removed from the routing file since the fan-out
        for d in batch:
            gone = PostResult(False, "渠道已从路由文件移除")
            _record(ctx, routing, settings, d, gone, utcnow(), report, base)
        return
    # A channel must not outlive its lease (Apprise's throttle, a robot's budget), or
    # another dispatcher would take the rest as interrupted and send them again.
    stop_at = clock.monotonic() + settings.lease_seconds * 0.6
    throttle = float(getattr(channel.server, "request_rate_per_sec", 0) or 0)
    for i, d in enumerate(batch):
        if i and clock.monotonic() + throttle > stop_at:
            _release(ctx, settings, batch[i:], base, retry=False)
            report.held += len(batch) - i
            return
        who = recipients.get(d["id"], NOBODY)
        if channel.budget is not None:
            # The robot's budget, shared with every other dispatcher: wait for a slot
            # while the lease allows, else leave the rest pending for the next pass.
            while wait := rate.take(ctx.engine, cid, channel.budget, posts=who.posts):
                if clock.monotonic() + wait > stop_at:
                    _release(ctx, settings, batch[i:], base, retry=False)
                    report.throttled += len(batch) - i
                    return
                clock.sleep(wait)
        started = utcnow()
        result = send_message(
            channel,
            messages[d["outbox_id"]],
            recipients=who,
            attach_max_bytes=settings.attach_max_bytes,
        )
        _record(ctx, routing, settings, d, result, started, report, base)
        if not result.ok:
            # The channel is down (or over its rate): hold the rest of its batch instead of
            # paying a timeout each; a throttled robot's rest is due again at the next pass.
            rest = batch[i + 1 :]
            _release(ctx, settings, rest, base, retry=not result.throttled)
            report.held += len(rest)
            return


def _close_alerts(ctx: Context, now: datetime) -> None:
    """An alert is `sent` when none of its deliveries is still pending or sending. Closed by
    state, not by pass: a routed alert whose deliveries a dispatcher killed mid-pass had
    sent is closed by whichever pass comes next."""
    open_ = select(DeliveryTable.c.outbox_id).where(
        DeliveryTable.c.status.in_(("pending", "sending"))
    )
    with ctx.engine.begin() as conn:
        conn.execute(
            update(OutboxTable)
            .where(OutboxTable.c.status == "routed", OutboxTable.c.id.not_in(open_))
            .values(status="sent", sent_at=to_db(now))
        )


def _tell_admins(ctx: Context, settings: NotifySettings, routing: Routing, now: datetime) -> bool:
    """One alert a day to the administrators naming the channels left out for want of a
    secret (it goes by whichever channel still works, or waits for one). True when new."""
    gone = sorted(u.describe() for u in routing.unavailable)
    digest = hashlib.sha256("\n".join(gone).encode()).hexdigest()[:16]
    day = now.astimezone(ctx.tz).date().isoformat()
    with ctx.engine.begin() as conn:
        return enqueue_alert(
            conn,
            dedupe_key=f"notify_unavailable:{digest}:{day}",
            kind="notify_unavailable",
            audience=settings.admin_audience,
            complaint_id=None,
            event_id=None,
            payload={
                "channels": gone,
                "since": now.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M"),
            },
            urgent=True,
            now=now,
        )


def dispatch(
    ctx: Context,
    now: datetime | None = None,
    limit: int | None = None,
    *,
    routing: Routing | None = None,
    settings: NotifySettings | None = None,
) -> DispatchReport:
    """One pass: fan out, claim, send per channel in parallel, record. Safe to run from
    several processes at once. Channels left out for want of a secret are reported, and the
    administrators told once a day; with no usable channel at all the pass touches nothing
    (the alerts wait in the outbox) and says so in `nothing_usable`."""
    t0 = clock.perf_counter()
    settings = settings or load_settings(ctx.config)
    routing = routing or load_routing(settings)
    now = now or utcnow()
    report = DispatchReport(
        unavailable=[u.describe() for u in routing.unavailable],
        nothing_usable=not routing.channels,
    )
    if routing.unavailable:
        report.admins_told = _tell_admins(ctx, settings, routing, now)
    if report.nothing_usable:
        report.seconds = clock.perf_counter() - t0
        return report
    fan_out(ctx, routing, settings, now, report)
    fail_over_held(ctx, routing, settings, now, report)
    claimed = claim(ctx, settings, now, limit or settings.batch, report)
    if claimed:
        labels = {k: v.label for k, v in ctx.config.deadlines.items()}
        options = {
            "place": settings.consultation_place,
            "meeting_minutes": ctx.config.section("consultation").get("meeting_minutes"),
        }
        alerts = {d["outbox_id"]: d for d in claimed}
        payloads = current_payloads(ctx, alerts.values(), now)
        messages = {
            oid: render(
                d["kind"],
                payloads[oid],
                deadline_labels=labels,
                tz=ctx.tz,
                now=now,
                options=options,
            )
            for oid, d in alerts.items()
        }
        recipients = _recipients(ctx, routing, settings, claimed, payloads)
        by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in claimed:
            by_channel[d["channel_id"]].append(d)
        workers = max(1, min(settings.workers, len(by_channel)))
        with ThreadPoolExecutor(workers, thread_name_prefix="notify") as pool:
            for fut in [
                pool.submit(
                    _run_channel, ctx, routing, settings, cid, batch, messages, recipients, now
                )
                for cid, batch in by_channel.items()
            ]:
                part = fut.result()
                for name in ("sent", "failed", "held", "failed_over", "throttled"):
                    setattr(report, name, getattr(report, name) + getattr(part, name))
    _close_alerts(ctx, utcnow())
    report.seconds = clock.perf_counter() - t0
    return report


def pending_count(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(OutboxTable)
                .where(OutboxTable.c.status.in_(("pending", "routed")))
            ).scalar()
            or 0
        )
