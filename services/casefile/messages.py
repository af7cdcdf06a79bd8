"""Messages to the complainant (短信/电子邮件告知): acceptance, extension (with the new
deadline) and decision (where to read the decision letter), by SMS and by e-mail through
Apprise (Art. 17: communicate in time; Art. 18: tell of an extension; Art. 21: proof of
notice).

Owns: the message texts (`[messages.templates]`, short templates an administrator edits, with
no personal data beyond the case number and what the complainant needs: the deadline, where
to read the decision letter, the hotline); the durable queue of sends (`complainant_message`,
storage/message.py) with its retries and back-off; recording every outcome as a contact
(channel sms/email, direction out, details `outcome` sent/failed and `template`); the
complainant's e-mail address (registration keeps none: `record_email` keeps it encrypted);
and dismissing a send that keeps failing.

Routing: the SMS gateway and the SMTP server are entries of the notifications routing file
(config/apprise.yaml, `[notifications] apprise_file`) under tags of their own (`[messages]
sms_tag`, `email_tag`). The recipient is added at send time only: the phone number as the
field `[messages] sms_recipient_field` of a json:// / form:// / xml:// gateway's payload, the
address as the e-mail's only recipient; neither is stored, logged or put in an error.

A failed send is retried with back-off (`[messages] backoff_base_seconds` × 2^(n−1), capped);
after `failures_shown` failures it is `failed`: shown in the handler's queue
(services/lifecycle/queries.py reads this table) and recorded once as a failed contact, and
still retried until it is sent or dismissed. `deliver` is the retry pass (`tousu message
--deliver`, or the notifications dispatch schedule).

An acceptance message sent meets the acceptance-notice deadline (contacts.record_in).
Must not import cli/, flows/ or services/automatic/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from services.casefile import contacts, history
from services.context import Context
from services.lifecycle.events import ActionTaken, subscribe
from states import casefile as cf
from states.errors import Conflict, InvalidInput
from storage import records
from storage.db import read_only
from storage.message import ComplainantEmail, ComplainantMessage
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

MESSAGE = table_of(ComplainantMessage)
EMAIL = table_of(ComplainantEmail)

# kind → (what the message tells, the action whose event must exist first)
KINDS: dict[str, tuple[str, str]] = {
    "acceptance": ("受理告知", "accept"),
    "extension": ("延期告知", "extend"),
    "decision": ("处理决定告知", "decide"),
}
CHANNELS = ("sms", "email")
PENDING, SENDING, SENT, FAILED, DISMISSED = "pending", "sending", "sent", "failed", "dismissed"
STATUSES: dict[str, str] = {
    PENDING: "待发送",
    SENDING: "发送中",
    SENT: "已发送",
    FAILED: "发送失败",
    DISMISSED: "已撤销",
}
# What the queue shows for a send that keeps failing.
FAILED_LABELS: dict[str, str] = {"sms": "短信发送失败", "email": "邮件发送失败"}
PAYLOAD_SCHEMAS = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
PLACEHOLDERS = frozenset({"number", "deadline", "hotline", "letter_where", "title"})


@dataclass(frozen=True)
class Settings:
    channels: tuple[str, ...]
    sms_tag: str
    email_tag: str
    sms_recipient_field: str
    sms_max_chars: int
    failures_shown: int
    backoff_base: float
    backoff_max: float
    lease_seconds: int
    hotline: str
    letter_where: str
    templates: dict[str, str]
    subjects: dict[str, str]
    auto: tuple[str, ...]
    # Local hours in which messages go out, every day (None: any time): a send due outside
    # them waits for the next opening.
    send_hours: tuple[time, time] | None = None


def settings(ctx: Context) -> Settings:
    from config import ConfigError

    raw = ctx.config.section("messages")
    channels = tuple(str(c) for c in raw.get("channels", ["sms", "email"]))
    auto = tuple(str(k) for k in raw.get("auto", []))
    templates = {str(k): str(v) for k, v in dict(raw.get("templates", {})).items()}
    subjects = {str(k): str(v) for k, v in dict(raw.get("subjects", {})).items()}
    bad = [c for c in channels if c not in CHANNELS] + [k for k in auto if k not in KINDS]
    missing = [k for k in KINDS if not templates.get(k)]
    if bad or missing:
        raise ConfigError(
            f"配置 [messages] 有误: 未知取值 {', '.join(bad) or '无'}; "
            f"缺少模板 {', '.join(missing) or '无'} (渠道 sms/email, 种类 {'/'.join(KINDS)})"
        )
    for kind, text in [*templates.items(), *subjects.items()]:
        unknown = set(_PLACEHOLDER.findall(text)) - PLACEHOLDERS
        if unknown:
            raise ConfigError(
                f"配置 [messages] 模板 {kind} 含未知占位符 {', '.join(sorted(unknown))}; "
                f"可用: {', '.join(sorted(PLACEHOLDERS))}"
            )
    return Settings(
        channels=channels,
        sms_tag=str(raw.get("sms_tag", "complainant-sms")),
        email_tag=str(raw.get("email_tag", "complainant-email")),
        sms_recipient_field=str(raw.get("sms_recipient_field", "to")),
        sms_max_chars=int(raw.get("sms_max_chars", 134)),
        failures_shown=max(1, int(raw.get("failures_shown", 3))),
        backoff_base=float(raw.get("backoff_base_seconds", 60)),
        backoff_max=float(raw.get("backoff_max_seconds", 3600)),
        lease_seconds=int(raw.get("lease_seconds", 300)),
        hotline=str(raw.get("hotline", "")),
        letter_where=str(raw.get("letter_where", "")),
        templates=templates,
        subjects=subjects,
        auto=auto,
        send_hours=_hours(raw.get("send_hours", ["08:00", "21:00"])),
    )


def _hours(value: Any) -> tuple[time, time] | None:
    from config import ConfigError

    if not value:
        return None
    try:
        start, end = (time.fromisoformat(str(v)) for v in value)
    except ValueError:
        start = end = time(0)
    if not start < end:
        raise ConfigError(
            f'配置 [messages] send_hours 须为 ["HH:MM", "HH:MM"] 且开始早于结束: {value}'
        )
    return start, end


def opens_at(ctx: Context, cfg: Settings, now: datetime) -> datetime:
    """`now` inside `[messages] send_hours`, else the next local opening (messages reach the
    complainant by day, never at night)."""
    if cfg.send_hours is None:
        return now
    start, end = cfg.send_hours
    local = now.astimezone(ctx.tz)
    if start <= local.time() < end:
        return now
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, ctx.tz).astimezone(now.tzinfo)


def backoff(cfg: Settings, attempts: int) -> timedelta:
    return timedelta(seconds=min(cfg.backoff_base * 2 ** max(attempts - 1, 0), cfg.backoff_max))


def _fill(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _due_day(ctx: Context, due: datetime | None) -> str:
    """A deadline ends at local midnight: the message names the last day, not the next."""
    if due is None:
        return ""
    local = (due - timedelta(microseconds=1)).astimezone(ctx.tz)
    return f"{local.year}年{local.month}月{local.day}日"


def render(
    ctx: Context, cfg: Settings, kind: str, *, number: str, due: datetime | None
) -> dict[str, str]:
    """The subject and text of one message: the case number, the decision deadline, where to
    read the decision letter and the hotline, nothing else about the complainant."""
    values = {
        "number": number,
        "deadline": _due_day(ctx, due),
        "hotline": cfg.hotline,
        "letter_where": cfg.letter_where,
        "title": KINDS[kind][0],
    }
    body = _fill(cfg.templates[kind], values).strip()
    subject = _fill(cfg.subjects.get(kind) or "投诉 {number} {title}", values).strip()
    return {"subject": subject[:200], "body": body}


# ---- The complainant's e-mail address ------------------------------------------------------


def record_email(ctx: Context, number: str, address: str, *, actor: str) -> dict[str, Any]:
    """Keep the complainant's e-mail address (encrypted); the history says one was recorded,
    never which."""
    text = (address or "").strip()
    if not _EMAIL.match(text) or len(text) > 254:
        raise InvalidInput("email", "电子邮箱格式不正确")
    now = utcnow()
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, contacts.ROLES, "登记投诉人电子邮箱")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        party = case["complainant_id"]
        if party is None:
            raise InvalidInput("number", f"投诉 {number} 的投诉人信息已删除或缺失")
        values = {
            "email_enc": ctx.vault.encrypt(text),
            "actor": user["username"],
            "recorded_at": to_db(now),
        }
        done = conn.execute(update(EMAIL).where(EMAIL.c.party_id == party).values(values))
        if not done.rowcount:
            conn.execute(insert(EMAIL).values({**values, "party_id": party}))
        history.append(
            conn,
            case,
            actor=user["username"],
            role=user["role"],
            action=cf.CONTACT_ADDRESS,
            at=now,
            now=now,
            reason="登记投诉人电子邮箱 (加密保存)",
            details={"field": "email"},
        )
    return {"number": number, "recorded_at": now}


def _addresses(ctx: Context, conn: Connection, party_id: int | None) -> dict[str, str | None]:
    """The complainant's phone and e-mail, decrypted (at send time only)."""
    from storage.models import Party

    if party_id is None:
        return {"sms": None, "email": None}
    party = table_of(Party)
    phone = conn.execute(select(party.c.phone_enc).where(party.c.id == party_id)).scalar()
    mail = conn.execute(select(EMAIL.c.email_enc).where(EMAIL.c.party_id == party_id)).scalar()
    mobile = ctx.vault.decrypt(phone)
    # Registration stores a phone normalised (states/validation.py): a landline takes no SMS.
    return {
        "sms": mobile if mobile and _MOBILE.match(mobile) else None,
        "email": ctx.vault.decrypt(mail),
    }


# ---- Queueing and sending ------------------------------------------------------------------


def send(
    ctx: Context,
    number: str,
    kind: str,
    *,
    actor: str,
    channel: str | None = None,
    now: datetime | None = None,
    deliver_now: bool = True,
    routing: Any = None,
) -> list[dict[str, Any]]:
    """Queue message `kind` for the complainant of `number` (on `channel`, else on every
    configured channel the complainant can be reached by) and try it at once; the messages
    as they stand after that first try."""
    now = now or utcnow()
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, contacts.ROLES, "向投诉人发送告知消息")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        ids = enqueue_in(ctx, conn, case, kind, actor=user["username"], channel=channel, now=now)
    if deliver_now:
        deliver(ctx, now=now, only=ids, routing=routing)
    return messages_of(ctx, number, ids=ids)


def enqueue_in(
    ctx: Context,
    conn: Connection,
    case: Any,
    kind: str,
    *,
    actor: str,
    channel: str | None,
    now: datetime,
) -> list[int]:
    """The rows of one message in the caller's transaction (the CLI's send and the automatic
    follow-up); their ids."""
    cfg = settings(ctx)
    if kind not in KINDS:
        choices = ", ".join(f"{k}({v[0]})" for k, v in KINDS.items())
        raise InvalidInput("kind", f"消息种类取值: {choices}")
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput("channel", "发送渠道取值: sms(短信), email(电子邮件)")
    title, action = KINDS[kind]
    done = conn.execute(
        select(records.EVENT.c.id).where(
            records.EVENT.c.complaint_id == case["id"], records.EVENT.c.action == action
        )
    ).first()
    if done is None:
        raise InvalidInput("kind", f"投诉 {case['number']} 尚无相应处理记录, 不能发送{title}")
    reachable = _addresses(ctx, conn, case["complainant_id"])
    wanted = [channel] if channel else list(cfg.channels)
    usable = [c for c in wanted if reachable[c]]
    if not usable:
        what = "、".join(
            {"sms": "手机号 (固定电话不能收短信)", "email": "电子邮箱"}[c] for c in wanted
        )
        raise InvalidInput("channel", f"投诉人未留{what}, 无法发送{title}")
    due = conn.execute(
        select(records.DEADLINE.c.due_at).where(
            records.DEADLINE.c.complaint_id == case["id"], records.DEADLINE.c.name == "decision"
        )
    ).scalar()
    text = render(ctx, cfg, kind, number=case["number"], due=from_db(due))
    if "sms" in usable and len(text["body"]) > cfg.sms_max_chars:
        from config import ConfigError

        raise ConfigError(
            f"短信模板 {kind} 生成 {len(text['body'])} 字, 超过 [messages] sms_max_chars "
            f"({cfg.sms_max_chars})"
        )
    ids = []
    for c in usable:
        ids.append(
            records.inserted_id(
                conn.execute(
                    insert(MESSAGE).values(
                        complaint_id=case["id"],
                        kind=kind,
                        channel=c,
                        status=PENDING,
                        subject=text["subject"],
                        body=text["body"],
                        attempts=0,
                        next_attempt_at=to_db(now),
                        created_at=to_db(now),
                        actor=actor,
                    )
                )
            )
        )
    return ids


def _claim(
    ctx: Context, cfg: Settings, now: datetime, limit: int, only: list[int] | None
) -> list[dict[str, Any]]:
    """Due sends (pending or failed, and sends whose sender died) → `sending` under a lease."""
    due = or_(
        and_(
            or_(MESSAGE.c.status == PENDING, MESSAGE.c.status == FAILED),
            MESSAGE.c.next_attempt_at <= to_db(now),
        ),
        and_(MESSAGE.c.status == SENDING, MESSAGE.c.lease_until < to_db(now)),
    )
    stmt = select(MESSAGE).where(due).order_by(MESSAGE.c.next_attempt_at, MESSAGE.c.id)
    if only is not None:
        stmt = stmt.where(MESSAGE.c.id.in_(only))
    stmt = stmt.limit(limit)
    lease = to_db(now + timedelta(seconds=cfg.lease_seconds))
    with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        if rows:
            conn.execute(
                update(MESSAGE)
                .where(MESSAGE.c.id.in_([r["id"] for r in rows]))
                .values(status=SENDING, lease_until=lease)
            )
    for r in rows:
        r["lease"] = lease
    return rows


def deliver(
    ctx: Context,
    *,
    now: datetime | None = None,
    limit: int = 200,
    only: list[int] | None = None,
    environ: dict[str, str] | None = None,
    routing: Any = None,
) -> dict[str, int]:
    """One pass of the queue: try every due send once; counts of sent and failed. `routing`:
    a loaded notifications.routing.Routing (default: the configured routing file)."""
    now = now or utcnow()
    cfg = settings(ctx)
    report = {"sent": 0, "failed": 0}
    if opens_at(ctx, cfg, now) > now:
        return report  # outside the sending hours: everything waits for the next opening
    rows = _claim(ctx, cfg, now, limit, only)
    if not rows:
        return report
    from notifications.routing import RoutingError, load_routing
    from notifications.settings import load_settings

    error = None
    if routing is None:
        try:
            routing = load_routing(load_settings(ctx.config), environ)
        except RoutingError as exc:
            error = str(exc)
    for row in rows:
        with read_only(ctx.engine) as conn:
            party, branch = conn.execute(
                select(records.COMPLAINT.c.complainant_id, records.COMPLAINT.c.branch).where(
                    records.COMPLAINT.c.id == row["complaint_id"]
                )
            ).one()
            to = _addresses(ctx, conn, party)[row["channel"]]
        if routing is None:
            ok, why = False, error
        elif not to:
            ok, why = False, "投诉人联系方式已删除"
        else:
            tag = cfg.sms_tag if row["channel"] == "sms" else cfg.email_tag
            ok, why = _post(ctx, cfg, routing, tag, row, to, branch)
        _record(ctx, cfg, row, ok, why, now)
        report["sent" if ok else "failed"] += 1
    return report


def _post(
    ctx: Context,
    cfg: Settings,
    routing: Any,
    tag: str,
    row: dict[str, Any],
    to: str,
    branch: str | None = None,
) -> tuple[bool, str | None]:
    """Send one message through the channels of `tag` (a branch's own gateway first, as for
    alerts), primary first; (ok, redacted error). The recipient is set on a fresh instance of
    the channel, which is dropped afterwards."""
    import apprise
    from apprise import NotifyFormat

    from notifications.routing import CAPTURE

    groups = routing.groups(tag, branch)
    if not groups:
        return False, f"路由文件中没有标签为 {tag} 的渠道"
    errors = []
    for _tag, channels in groups:
        for channel in channels:
            server: Any = apprise.Apprise.instantiate(channel.server.url(privacy=False))
            if server is None:
                errors.append(f"{channel.label}: 无法创建渠道")
                continue
            limits = routing_limits(ctx, channel.schema)
            server.socket_connect_timeout, server.socket_read_timeout = limits
            if row["channel"] == "email":
                if channel.kind != "email":
                    errors.append(f"{channel.label}: 标签 {tag} 须为邮件渠道")
                    continue
                server.targets = [(False, to)]
                server.headers["Auto-Submitted"] = "auto-generated"
                title, fmt = row["subject"], NotifyFormat.TEXT
            else:
                if channel.schema not in PAYLOAD_SCHEMAS:
                    errors.append(f"{channel.label}: 短信网关须为 json/form/xml 地址")
                    continue
                server.payload_extras[cfg.sms_recipient_field] = to
                title, fmt = "", NotifyFormat.TEXT
            CAPTURE.start()
            try:
                ok = bool(server.notify(body=row["body"], title=title, body_format=fmt))
            except Exception as exc:  # noqa: BLE001 - a plugin bug must not stop the pass
                ok = False
                CAPTURE.take()
                errors.append(f"{channel.label}: {type(exc).__name__}")
                continue
            logged = CAPTURE.take()
            if ok:
                return True, None
            errors.append(f"{channel.label}: {'; '.join(logged[-2:]) or '发送失败'}")
    text = " | ".join(errors).replace(to, "***")
    return False, routing.redact(text)


def routing_limits(ctx: Context, schema: str) -> tuple[float, float]:
    from notifications.settings import load_settings

    limits = load_settings(ctx.config).limits(schema)
    return limits.cto, limits.rto


def _record(
    ctx: Context, cfg: Settings, row: dict[str, Any], ok: bool, why: str | None, now: datetime
) -> None:
    """The outcome of one try, in one transaction: the row, and the contact when the message
    was sent or has just reached the queue as failed."""
    attempts = row["attempts"] + 1
    guard = and_(
        MESSAGE.c.id == row["id"],
        MESSAGE.c.status == SENDING,
        MESSAGE.c.lease_until == row["lease"],
    )
    with ctx.transaction() as conn:
        if ok:
            status, nxt = SENT, row["next_attempt_at"]
        else:
            status = FAILED if attempts >= cfg.failures_shown else PENDING
            nxt = to_db(now + backoff(cfg, attempts))
        changed = conn.execute(
            update(MESSAGE)
            .where(guard)
            .values(
                status=status,
                attempts=attempts,
                lease_until=None,
                next_attempt_at=nxt,
                sent_at=to_db(now) if ok else None,
                last_error=None if ok else (why or "发送失败")[:2000],
            )
        )
        if not changed.rowcount:
            return  # its lease was lost to another sender: that one records it
        first_failure = status == FAILED and row["status"] != FAILED
        if not ok and not first_failure:
            return
        case = records.load_case_by_id(conn, row["complaint_id"])
        user = records.load_user(conn, row["actor"])
        title = KINDS[row["kind"]][0]
        label = cf.CHANNELS[row["channel"]]
        text = (
            f"{label}发送{title}: 已发送"
            if ok
            else f"{label}发送{title}: 发送失败 (已尝试 {attempts} 次, 将继续重试)"
        )
        done = contacts.record_in(
            conn,
            case,
            user,
            channel=row["channel"],
            direction="out",
            text=text,
            ref=None,
            flagged=False,
            when=now,
            now=now,
            details={
                "message_id": row["id"],
                "template": row["kind"],
                "outcome": "sent" if ok else "failed",
                **({"notice": row["kind"]} if ok else {}),
            },
        )
        conn.execute(update(MESSAGE).where(MESSAGE.c.id == row["id"]).values(contact_id=done["id"]))


def dismiss(
    ctx: Context, number: str, *, actor: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Stop retrying the complainant's unsent messages (the queue no longer shows them); the
    history says so."""
    now = now or utcnow()
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, contacts.ROLES, "撤销发送失败的告知消息")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        open_ = or_(MESSAGE.c.status == PENDING, MESSAGE.c.status == FAILED)
        ids = list(
            conn.execute(
                select(MESSAGE.c.id).where(MESSAGE.c.complaint_id == case["id"], open_)
            ).scalars()
        )
        if not ids:
            raise Conflict(f"投诉 {number} 没有待发送或发送失败的告知消息")
        conn.execute(
            update(MESSAGE)
            .where(MESSAGE.c.id.in_(ids), open_)
            .values(status=DISMISSED, lease_until=None)
        )
        history.append(
            conn,
            case,
            actor=user["username"],
            role=user["role"],
            action=cf.MESSAGE_DISMISSED,
            at=now,
            now=now,
            reason=f"撤销未发出的告知消息 {len(ids)} 条",
            details={"message_ids": ids},
        )
    return messages_of(ctx, number, ids=ids)


def messages_of(ctx: Context, number: str, *, ids: list[int] | None = None) -> list[dict[str, Any]]:
    """A complaint's messages (no recipient: the table holds none), oldest first."""
    with read_only(ctx.engine) as conn:
        case = records.load_case(conn, number)
        stmt = select(MESSAGE).where(MESSAGE.c.complaint_id == case["id"])
        if ids is not None:
            stmt = stmt.where(MESSAGE.c.id.in_(ids))
        rows = conn.execute(stmt.order_by(MESSAGE.c.id)).mappings().all()
    out = []
    for r in rows:
        item = {k: v for k, v in r.items() if k != "lease_until"}
        for k in ("next_attempt_at", "created_at", "sent_at"):
            item[k] = from_db(r[k])
        item["number"] = number
        out.append(item)
    return out


# ---- Automatic on the action ([messages] auto) ---------------------------------------------

# The action whose follow-up queues each kind (states/lifecycle.py rows name the follow-up).
ON_ACTION = {action: kind for kind, (_title, action) in KINDS.items()}


@subscribe("message_complainant")
def _on_action(event: ActionTaken) -> None:
    """Queue the message of this action when `[messages] auto` names it, on every configured
    channel the complainant can be reached by (none: nothing, the action goes on). Sent by the
    next `deliver` pass, outside the action's transaction."""
    kind = ON_ACTION.get(event.action.trigger)
    auto = event.ctx.config.section("messages").get("auto") or ()
    if kind is None or kind not in auto:
        return
    cfg = settings(event.ctx)
    reachable = _addresses(event.ctx, event.conn, event.case["complainant_id"])
    for channel in cfg.channels:
        if reachable[channel]:
            enqueue_in(
                event.ctx,
                event.conn,
                event.case,
                kind,
                actor=event.actor,
                channel=channel,
                now=event.at,
            )
