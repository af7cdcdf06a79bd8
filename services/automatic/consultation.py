"""Joint consultation (会商, docs/rules.md §4): convened automatically or by hand, held in
working hours, reminded, decided, and escalated when overdue. Internal practice, not in the
regulation, so every number comes from `[consultation]` in config/tousu.toml.

Triggers: a case past a configured share of its decision deadline (checked by the deadline
sweep through the same `next_check_at` index), 重大 cases (`cycle`), repeat and backlog matters
(the ledger calls `convene_for`), and a person (`convene`). Moving the case goes through the
lifecycle (`consult`, `conclude_consultation`); this module adds the record around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from services.automatic import alerts
from services.context import Context
from services.lifecycle import events
from services.lifecycle.actions import perform
from states import lifecycle as lc
from states.errors import Forbidden, InvalidInput, NotFound
from storage import records
from storage.consultation import Consultation
from storage.records import COMPLAINT
from storage.rows import ComplaintRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

CONSULTATION = table_of(Consultation)
CONSULT_FROM = frozenset(lc.action("consult").sources)


def settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("consultation")
    share = float(raw.get("convene_at_share", 0) or 0)
    if not 0 <= share <= 1:
        raise InvalidInput("consultation.convene_at_share", "取值 0–1 (0 表示不按时限自动会商)")
    return {
        "share": share,
        "deadline": str(raw.get("deadline", "decision")),
        "convene_major": bool(raw.get("convene_major", True)),
        "departments": list(raw.get("departments", ["consumer_protection"])),
        "labels": dict(raw.get("department_labels", {})),
        "lead_hours": float(raw.get("lead_hours", 4)),
        "meeting_minutes": int(raw.get("meeting_minutes", 60)),
        "remind_before_hours": float(raw.get("remind_before_hours", 2)),
        "conclude_within_hours": float(raw.get("conclude_within_hours", 48)),
        "overdue_to": str(raw.get("overdue_to", "committee")),
        "overdue_level": int(raw.get("overdue_level", 3)),
    }


@dataclass
class CycleResult:
    convened: int = 0
    reminded: int = 0
    escalated: int = 0


def share_point(
    cfg: Mapping[str, Any], name: str, started: datetime, due: datetime, paused_seconds: int
) -> datetime | None:
    """When the configured share of the deadline's time has passed (pauses shift it)."""
    share: float = cfg["share"]
    if not share or name != cfg["deadline"]:
        return None
    span = (due - timedelta(seconds=paused_seconds)) - started
    return due - span * (1 - share)


def convened_cycles(conn: Connection, cids: list[int]) -> set[tuple[int, str]]:
    rows = conn.execute(
        select(CONSULTATION.c.complaint_id, CONSULTATION.c.dedupe_key).where(
            CONSULTATION.c.complaint_id.in_(cids), CONSULTATION.c.reason_code == "deadline_share"
        )
    )
    return {(r.complaint_id, r.dedupe_key.split(":", 2)[2]) for r in rows}


def meeting_slot(ctx: Context, after: datetime, cfg: Mapping[str, Any]) -> datetime:
    """The first half-hour slot at least `lead_hours` ahead that fits inside working hours on a
    working day (calendar.workday_start/end, 调休 included via the work calendar)."""
    cal, tz = ctx.config.calendar, ctx.tz
    t = (after + timedelta(hours=cfg["lead_hours"])).astimezone(tz).replace(second=0, microsecond=0)
    if t.minute % 30:
        t += timedelta(minutes=30 - t.minute % 30)
    day = t.date()
    for _ in range(60):
        start = datetime.combine(day, cal.workday_start, tz)
        last = datetime.combine(day, cal.workday_end, tz) - timedelta(
            minutes=cfg["meeting_minutes"]
        )
        if ctx.clock.calendar.is_workday(day)[0]:
            t = max(t, start)
            if t <= last:
                return t.astimezone(UTC)
        day += timedelta(days=1)
        t = datetime.combine(day, cal.workday_start, tz)
    raise InvalidInput("calendar", "60 日内找不到工作日安排会商")


def _open_for(conn: Connection, cid: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(CONSULTATION)
            .where(CONSULTATION.c.complaint_id == cid, CONSULTATION.c.status == "convened")
            .order_by(CONSULTATION.c.id.desc())
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _convene(
    ctx: Context,
    case: ComplaintRow,
    *,
    conn: Connection,
    actor: str,
    key: str,
    reason_code: str,
    reason: str,
    departments: list[str] | None,
    meeting_at: datetime | None,
    now: datetime,
) -> dict[str, Any] | None:
    """Record one consultation and move the case to 会商中; None if `key` was convened before."""
    found = (
        conn.execute(select(CONSULTATION).where(CONSULTATION.c.dedupe_key == key))
        .mappings()
        .first()
    )
    if found:
        return None
    cfg = settings(ctx)
    depts = list(departments or cfg["departments"])
    meeting = meeting_at or meeting_slot(ctx, now, cfg)
    state = lc.State(case["state"])
    if state != lc.State.consulting:
        if state not in CONSULT_FROM:
            raise Forbidden(
                f"当前状态「{state.label}」不能提请会商; 可执行操作: {lc.describe_allowed(state)}"
            )
        last = from_db(case["last_event_at"]) or now
        perform(
            ctx,
            case["number"],
            "consult",
            actor=actor,
            at=max(now, last),
            conn=conn,
            fields={
                "reason": reason,
                "departments": depts,
                "reason_code": reason_code,
                "meeting_at": meeting.isoformat(),
            },
        )
    return _record(
        ctx,
        conn,
        case["id"],
        key=key,
        reason_code=reason_code,
        reason=reason,
        departments=depts,
        meeting=meeting,
        actor=actor,
        now=now,
    )


def _record(
    ctx: Context,
    conn: Connection,
    complaint_id: int,
    *,
    key: str,
    reason_code: str,
    reason: str,
    departments: list[str],
    meeting: datetime,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """The consultation row and one invitation per department (the case already moved)."""
    cfg = settings(ctx)
    row = {
        "complaint_id": complaint_id,
        "dedupe_key": key,
        "reason_code": reason_code,
        "reason": reason,
        "departments": departments,
        "meeting_at": to_db(meeting),
        "status": "convened",
        "convened_by": actor,
        "convened_at": to_db(now),
    }
    row["id"] = records.inserted_id(conn.execute(insert(CONSULTATION).values(row)))
    fresh = records.load_case_by_id(conn, complaint_id)
    local = meeting.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
    names = [cfg["labels"].get(d, d) for d in departments]
    for d in departments:
        records.enqueue_alert(
            conn,
            dedupe_key=f"consult:{row['id']}:invite:{d}",
            kind="consultation_invite",
            audience=f"dept:{d}",
            complaint_id=complaint_id,
            event_id=None,
            urgent=False,
            now=now,
            payload=alerts.payload(
                ctx,
                fresh,
                meeting_at=meeting.isoformat(),
                meeting_local=local,
                departments=names,
                reason=reason,
                title=f"会商通知: {local} 会商投诉 {fresh['number']}({reason})",
                # One invitation per recipient address: departments that share a mailbox or
                # robot get one message (notifications/dispatch.py `_delivery_key`).
                delivery_group=f"consult:{row['id']}:invite",
            ),
        )
    return row


@events.subscribe("record_consultation")
def _record_manual(event: events.ActionTaken) -> None:
    """`tousu consult` (the lifecycle action taken by a person) is a consultation like any
    other: its row, meeting slot and invitations, so `cycle` reminds and escalates it. The
    consultations this module convenes record themselves (their fields carry a reason code)."""
    if event.fields.get("reason_code"):
        return
    ctx, conn, case = event.ctx, event.conn, event.case
    cfg = settings(ctx)
    _record(
        ctx,
        conn,
        case["id"],
        key=f"manual:{case['id']}:{event.event_id}",
        reason_code="manual",
        reason=str(event.fields.get("reason") or "提请会商"),
        departments=list(event.fields.get("departments") or cfg["departments"]),
        meeting=meeting_slot(ctx, max(event.at, utcnow()), cfg),
        actor=event.actor,
        now=event.at,
    )


def convene_on_deadline(
    ctx: Context,
    case: ComplaintRow,
    cycle: str,
    due: datetime,
    *,
    conn: Connection,
    now: datetime,
) -> bool:
    """Called by the sweep when a case passes the configured share of its decision deadline."""
    if lc.State(case["state"]) not in CONSULT_FROM or _open_for(conn, case["id"]):
        return False  # not in handling (decided, paused …) or already in consultation
    cfg = settings(ctx)
    local = due.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
    reason = f"已超过处理决定时限的 {cfg['share']:.0%} (到期 {local}), 自动提请会商"
    return (
        _convene(
            ctx,
            case,
            conn=conn,
            actor=alerts.SYSTEM,
            key=f"deadline_share:{case['id']}:{cycle}",
            reason_code="deadline_share",
            reason=reason,
            departments=None,
            meeting_at=None,
            now=now,
        )
        is not None
    )


def convene_for(
    ctx: Context,
    number: str,
    reason: str,
    *,
    reason_code: str = "ledger",
    key: str | None = None,
    departments: list[str] | None = None,
    conn: Connection,
) -> dict[str, Any]:
    """Convene (or return the open) consultation for a complaint, as the system actor, in the
    caller's transaction.

    For other services, e.g. the ledger: `convene_for(ctx, number, "重复投诉 3 次未化解",
    reason_code="repeat", key=str(matter_id), conn=conn)`. Idempotent per (reason_code,
    complaint, key); an open consultation of the complaint is returned instead of a second one.
    Raises Forbidden when the case is in a state that cannot be consulted (e.g. registered,
    decided)."""
    case = records.load_case(conn, number)
    existing = _open_for(conn, case["id"])
    if existing:
        return existing
    dedupe = f"{reason_code}:{case['id']}:{key or case['event_count']}"
    row = _convene(
        ctx,
        case,
        conn=conn,
        actor=alerts.SYSTEM,
        key=dedupe,
        reason_code=reason_code,
        reason=reason,
        departments=departments,
        meeting_at=None,
        now=utcnow(),
    )
    if row is None:
        found = (
            conn.execute(select(CONSULTATION).where(CONSULTATION.c.dedupe_key == dedupe))
            .mappings()
            .first()
        )
        assert found is not None
        return dict(found)
    return row


def convene(
    ctx: Context,
    number: str,
    *,
    actor: str,
    reason: str,
    departments: list[str] | None = None,
    meeting_at: datetime | None = None,
) -> dict[str, Any]:
    """Convene a consultation by hand (coordinator, liaison, supervisor, committee)."""
    now = utcnow()
    if meeting_at is not None and meeting_at <= now:
        raise InvalidInput("meeting_at", "会商时间须晚于当前时间")
    with ctx.engine.begin() as conn:
        case = records.load_case(conn, number)
        user = records.load_user(conn, actor)
        lc.authorize(lc.action("consult"), user["role"])
        row = _convene(
            ctx,
            case,
            conn=conn,
            actor=actor,
            key=f"manual:{case['id']}:{case['version']}",
            reason_code="manual",
            reason=reason,
            departments=departments,
            meeting_at=meeting_at,
            now=now,
        )
    assert row is not None
    return row


def conclude(
    ctx: Context, number: str, *, actor: str, decision: str, at: datetime | None = None
) -> dict[str, Any]:
    """Record the consultation's decision and move the case on (会商结论 → 协商中)."""
    with ctx.engine.begin() as conn:
        case = records.load_case(conn, number)
        open_ = _open_for(conn, case["id"])
        if open_ is None:
            raise NotFound(f"投诉 {number} 没有进行中的会商")
        result = perform(
            ctx,
            number,
            "conclude_consultation",
            actor=actor,
            at=at,
            conn=conn,
            fields={"resolution": decision, "consultation_id": open_["id"]},
        )
        when = at or utcnow()
        conn.execute(
            update(CONSULTATION)
            .where(CONSULTATION.c.id == open_["id"])
            .values(status="concluded", decision=decision, decided_by=actor, decided_at=to_db(when))
        )
    return {**open_, "status": "concluded", "decision": decision, "state": result.state}


def consultations_of(ctx: Context, number: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return records.rows_of_case(conn, CONSULTATION, number)


# ---- The periodic part: 重大 cases, reminders, overdue consultations ------------------------


def cycle(ctx: Context, *, now: datetime | None = None) -> CycleResult:
    """The periodic part, in order: convene on the 重大 cases without a consultation, remind
    the members of meetings coming up, escalate consultations left without a conclusion."""
    now = now or utcnow()
    cfg = settings(ctx)
    res = CycleResult()
    if cfg["convene_major"]:
        res.convened += _convene_majors(ctx, now=now)
    res.reminded += _remind(ctx, cfg, now=now)
    res.escalated += _escalate_overdue(ctx, cfg, now=now)
    return res


def _convene_majors(ctx: Context, *, now: datetime) -> int:
    """Convene on each 重大 case in a consultable state that never had a `major` consultation
    (one transaction per case); how many were convened."""
    k = CONSULTATION.alias("k")
    majors = (
        select(COMPLAINT.c.number)
        .select_from(
            COMPLAINT.outerjoin(
                k, and_(k.c.complaint_id == COMPLAINT.c.id, k.c.reason_code == "major")
            )
        )
        .where(
            COMPLAINT.c.state.in_([s.value for s in CONSULT_FROM]),
            COMPLAINT.c.priority == "major",
            k.c.id.is_(None),
        )
    )
    with ctx.engine.connect() as conn:
        numbers = [r.number for r in conn.execute(majors)]
    convened = 0
    for number in numbers:
        with ctx.engine.begin() as conn:
            case = records.load_case(conn, number)
            if (
                _open_for(conn, case["id"]) is None
                and lc.State(case["state"]) in CONSULT_FROM
                and _convene(
                    ctx,
                    case,
                    conn=conn,
                    actor=alerts.SYSTEM,
                    key=f"major:{case['id']}",
                    reason_code="major",
                    reason="重大消费投诉, 自动提请会商",
                    departments=None,
                    meeting_at=None,
                    now=now,
                )
            ):
                convened += 1
    return convened


def _remind(ctx: Context, cfg: Mapping[str, Any], *, now: datetime) -> int:
    """Remind the departments and the owner of each meeting within `remind_before_hours`,
    once per consultation; how many consultations were reminded."""
    soon = now + timedelta(hours=cfg["remind_before_hours"])
    reminded = 0
    with ctx.engine.begin() as conn:
        due = (
            conn.execute(
                select(CONSULTATION).where(
                    CONSULTATION.c.status == "convened",
                    CONSULTATION.c.reminded_at.is_(None),
                    CONSULTATION.c.meeting_at <= to_db(soon),
                )
            )
            .mappings()
            .all()
        )
        for k_row in due:
            case = records.load_case_by_id(conn, k_row["complaint_id"])
            meeting = from_db(k_row["meeting_at"])
            assert meeting is not None
            local = meeting.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
            for d in [*k_row["departments"], f"user:{case['owner']}" if case["owner"] else None]:
                if d is None:
                    continue
                records.enqueue_alert(
                    conn,
                    dedupe_key=f"consult:{k_row['id']}:remind:{d}",
                    kind="consultation_reminder",
                    audience=d if ":" in d else f"dept:{d}",
                    complaint_id=case["id"],
                    event_id=None,
                    urgent=False,
                    now=now,
                    payload=alerts.payload(
                        ctx,
                        case,
                        meeting_at=meeting.isoformat(),
                        meeting_local=local,
                        title=f"会商提醒: 投诉 {case['number']} 将于 {local} 会商",
                        delivery_group=f"consult:{k_row['id']}:remind",
                    ),
                )
            conn.execute(
                update(CONSULTATION)
                .where(CONSULTATION.c.id == k_row["id"])
                .values(reminded_at=to_db(now))
            )
            reminded += 1
    return reminded


def _escalate_overdue(ctx: Context, cfg: Mapping[str, Any], *, now: datetime) -> int:
    """Escalate each consultation whose meeting is `conclude_within_hours` past without a
    conclusion, once; how many were escalated (those concluded by the plain action are
    only marked)."""
    late = now - timedelta(hours=cfg["conclude_within_hours"])
    escalated = 0
    with ctx.engine.begin() as conn:
        overdue = (
            conn.execute(
                select(CONSULTATION).where(
                    CONSULTATION.c.status == "convened",
                    CONSULTATION.c.escalated_at.is_(None),
                    CONSULTATION.c.meeting_at <= to_db(late),
                )
            )
            .mappings()
            .all()
        )
        for k_row in overdue:
            case = records.load_case_by_id(conn, k_row["complaint_id"])
            conn.execute(
                update(CONSULTATION)
                .where(CONSULTATION.c.id == k_row["id"])
                .values(escalated_at=to_db(now))
            )
            if lc.State(case["state"]) != lc.State.consulting:
                continue  # concluded through the plain action: nothing overdue
            _escalate_one(ctx, cfg, k_row, case, conn=conn, now=now)
            escalated += 1
    return escalated


def _escalate_one(
    ctx: Context,
    cfg: Mapping[str, Any],
    k_row: RowMapping,
    case: ComplaintRow,
    *,
    conn: Connection,
    now: datetime,
) -> None:
    """One overdue consultation: its `escalation` row, the `escalate` event and the alert."""
    meeting = from_db(k_row["meeting_at"]).astimezone(ctx.tz)
    title = f"会商逾期未形成结论(会议 {meeting:%m-%d %H:%M})"
    xid = records.inserted_id(
        conn.execute(
            insert(alerts.ESCALATION).values(
                complaint_id=case["id"],
                deadline_name="consultation",
                level="overdue",
                cycle=str(k_row["id"]),
                rank=cfg["overdue_level"],
                audience=f"role:{cfg['overdue_to']}",
                due_at=None,
                fired_at=to_db(now),
                outcome="acted",
            )
        )
    )
    last = from_db(case["last_event_at"]) or now
    eid = alerts.append_escalation(
        ctx,
        case,
        conn=conn,
        at=max(now, last),
        now=now,
        rank=cfg["overdue_level"],
        reason=title,
        details={"consultation_id": k_row["id"]},
    )
    conn.execute(
        update(alerts.ESCALATION).where(alerts.ESCALATION.c.id == xid).values(event_id=eid)
    )
    alerts.alert(
        ctx,
        case,
        conn=conn,
        key=f"consult:{k_row['id']}:overdue",
        kind="escalation",
        audiences=[cfg["overdue_to"]],
        event_id=eid,
        urgent=True,
        now=now,
        payload=alerts.payload(
            ctx, case, title=title, level=cfg["overdue_level"], consultation_id=k_row["id"]
        ),
    )
