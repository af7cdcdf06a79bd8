"""Satisfaction callbacks (回访, internal practice, docs/rules.md §4).

Owns: scheduling a callback when a decision is notified (a configured number of working days
later, inside working hours, assigned), recording it (reached or unreachable, 满意 / 基本满意 /
不满意, NPS 0–10), retries on later working days, what a dissatisfied callback leads to
(`[callback] dissatisfied`), and the due/overdue sweep that writes alerts to the outbox.
Must not import cli/, flows/ or notifications/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from services.automatic import ledger
from services.context import Context
from services.lifecycle import actions, events
from states import ledger as rules
from states import lifecycle as lc
from states.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage import records
from storage.callback import Callback
from storage.records import COMPLAINT
from storage.rows import ComplaintRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

CALLBACK = table_of(Callback)
RECORDERS = (lc.Role.intake_clerk, lc.Role.coordinator, lc.Role.liaison, lc.Role.supervisor)


@dataclass(frozen=True)
class Settings:
    delay_working_days: int
    retries: int
    retry_after_working_days: int
    assignee: str
    overdue_working_days: int
    dissatisfied: str
    mediation_channel: str
    mediation_organisation: str
    start: time
    end: time


def settings(ctx: Context) -> Settings:
    raw = ctx.config.section("callback")
    s = Settings(
        delay_working_days=int(raw.get("delay_working_days", 3)),
        retries=int(raw.get("retries", 2)),
        retry_after_working_days=int(raw.get("retry_after_working_days", 1)),
        assignee=str(raw.get("assignee", "")),
        overdue_working_days=int(raw.get("overdue_working_days", 2)),
        dissatisfied=str(raw.get("dissatisfied", "reopen")),
        mediation_channel=str(raw.get("mediation_channel", "industry")),
        mediation_organisation=str(raw.get("mediation_organisation", "保险行业协会调解委员会")),
        start=ctx.config.calendar.workday_start,
        end=ctx.config.calendar.workday_end,
    )
    if s.dissatisfied not in rules.DISSATISFIED_OUTCOMES:
        raise InvalidInput(
            "callback.dissatisfied", f"取值: {', '.join(rules.DISSATISFIED_OUTCOMES)}"
        )
    if s.delay_working_days < 1 or s.retries < 0 or s.retry_after_working_days < 1:
        raise InvalidInput(
            "callback", "delay_working_days ≥ 1, retries ≥ 0, retry_after_working_days ≥ 1"
        )
    return s


_LAST_ROUND = (
    select(CALLBACK.c.round)
    .where(CALLBACK.c.complaint_id == bindparam("cid"))
    .order_by(CALLBACK.c.round.desc())
    .limit(1)
)
_CANCEL_PENDING = (
    update(CALLBACK)
    .where(CALLBACK.c.complaint_id == bindparam("cid"), CALLBACK.c.status == "scheduled")
    .values(status="cancelled", note="处理决定重新告知, 改为新一轮回访")
)
_INSERT = insert(CALLBACK)


def schedule(
    ctx: Context,
    complaint_id: int,
    *,
    conn: Connection,
    notified_at: datetime,
    owner: str | None = None,
    first: bool = False,
) -> int:
    """After `notify` (services.lifecycle.actions.perform, same transaction): a new callback round.

    `owner` is the case's owner when the caller has the row at hand; `first` says that the
    case was never notified before, so there is no earlier round to cancel."""
    s = settings(ctx)
    if owner is None:
        owner = records.load_case_by_id(conn, complaint_id)["owner"]
    previous = None
    if not first:
        previous = conn.execute(_LAST_ROUND, {"cid": complaint_id}).scalar()
        # A decision notified again (after reopening or review) replaces a pending callback.
        conn.execute(_CANCEL_PENDING, {"cid": complaint_id})
    due, end, verified = rules.callback_slot(
        ctx.clock.calendar, ctx.tz, notified_at, s.delay_working_days, s.start, s.end
    )
    return _insert(
        conn,
        complaint_id,
        round_=(previous or 0) + 1,
        attempt=1,
        due=due,
        end=end,
        verified=verified,
        assignee=s.assignee or owner or "",
    )


def _insert(
    conn: Connection,
    complaint_id: int,
    *,
    round_: int,
    attempt: int,
    due: datetime,
    end: datetime,
    verified: bool,
    assignee: str,
) -> int:
    return records.inserted_id(
        conn.execute(
            _INSERT,
            {
                "complaint_id": complaint_id,
                "round": round_,
                "attempt": attempt,
                "status": "scheduled",
                "due_at": to_db(due),
                "window_end_at": to_db(end),
                "assignee": assignee,
                "calendar_verified": verified,
                "created_at": to_db(utcnow()),
            },
        )
    )


def _view(row: Any, number: str) -> dict[str, Any]:
    out = dict(row)
    out["number"] = number
    for key in ("due_at", "window_end_at", "recorded_at", "alerted_at", "escalated_at"):
        out[key] = from_db(out[key])
    return out


def due(
    ctx: Context, *, at: datetime | None = None, assignee: str | None = None
) -> list[dict[str, Any]]:
    """Scheduled callbacks whose day has come (due time on or before the end of `at`'s day)."""
    at = at or utcnow()
    end_of_day = rules.local_midnight(at.astimezone(ctx.tz).date() + timedelta(days=1), ctx.tz)
    stmt = (
        select(CALLBACK, COMPLAINT.c.number)
        .select_from(CALLBACK.join(COMPLAINT, COMPLAINT.c.id == CALLBACK.c.complaint_id))
        .where(CALLBACK.c.status == "scheduled", CALLBACK.c.due_at < to_db(end_of_day))
        .order_by(CALLBACK.c.due_at)
    )
    if assignee:
        stmt = stmt.where(CALLBACK.c.assignee == assignee)
    with ctx.engine.connect() as conn:
        return [_view(r, r["number"]) for r in conn.execute(stmt).mappings()]


def for_complaint(ctx: Context, number: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        rows = (
            conn.execute(
                select(CALLBACK)
                .where(CALLBACK.c.complaint_id == case["id"])
                .order_by(CALLBACK.c.round, CALLBACK.c.attempt)
            )
            .mappings()
            .all()
        )
    return [_view(r, number) for r in rows]


@dataclass(frozen=True)
class Recorded:
    callback_id: int
    number: str
    status: str
    outcome: str | None
    next_callback_id: int | None = None
    case_state: str | None = None


def record(
    ctx: Context,
    callback_id: int,
    *,
    actor: str,
    reached: bool,
    satisfaction: str | None = None,
    nps: int | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> Recorded:
    """Record one callback attempt; one transaction with whatever it leads to."""
    now = utcnow()
    at = at or now
    if at.tzinfo is None:
        raise InvalidInput("at", "时间须带时区")
    if at > now:
        raise InvalidInput("at", "回访时间晚于当前时间")
    s = settings(ctx)
    with ctx.engine.begin() as conn:
        row = conn.execute(select(CALLBACK).where(CALLBACK.c.id == callback_id)).mappings().first()
        if row is None:
            raise NotFound(f"回访 #{callback_id} 不存在")
        if row["status"] != "scheduled":
            raise Conflict(f"回访 #{callback_id} 已{rules.CALLBACK_STATUSES[row['status']]}")
        user = records.load_user(conn, actor)
        if lc.Role(user["role"]) not in RECORDERS:
            raise Forbidden(f"角色「{lc.Role(user['role']).label}」无权记录回访")
        case = records.load_case_by_id(conn, row["complaint_id"])
        values: dict[str, Any] = {
            "recorded_by": user["username"],
            "recorded_at": to_db(at),
            "note": note,
        }
        next_id = None
        outcome = None
        if not reached:
            values["status"] = "unreachable"
            if row["attempt"] <= s.retries:
                # Unreachable: try again on a later working day, inside working hours.
                due_at, end, verified = rules.callback_slot(
                    ctx.clock.calendar, ctx.tz, at, s.retry_after_working_days, s.start, s.end
                )
                next_id = _insert(
                    conn,
                    row["complaint_id"],
                    round_=row["round"],
                    attempt=row["attempt"] + 1,
                    due=due_at,
                    end=end,
                    verified=verified,
                    assignee=row["assignee"],
                )
                outcome = "retry"
            else:
                outcome = "gave_up"
        else:
            if satisfaction not in rules.SATISFACTION:
                raise InvalidInput(
                    "satisfaction",
                    "满意度取值: " + ", ".join(f"{k}({v})" for k, v in rules.SATISFACTION.items()),
                )
            problem = rules.validate_nps(nps)
            if problem:
                raise InvalidInput("nps", problem)
            values.update(status="reached", satisfaction=satisfaction, nps=nps)
            if satisfaction == "dissatisfied":
                outcome = _dissatisfied(ctx, s, case, conn=conn, actor=user["username"], note=note)
        values["outcome"] = outcome
        done = conn.execute(
            update(CALLBACK)
            .where(CALLBACK.c.id == callback_id, CALLBACK.c.status == "scheduled")
            .values(**values)
        )
        if done.rowcount != 1:
            raise Conflict(f"回访 #{callback_id} 已被他人记录")
        state = records.load_case_by_id(conn, row["complaint_id"])["state"]
    return Recorded(
        callback_id=callback_id,
        number=case["number"],
        status=values["status"],
        outcome=outcome,
        next_callback_id=next_id,
        case_state=state,
    )


def _dissatisfied(
    ctx: Context,
    s: Settings,
    case: ComplaintRow,
    *,
    conn: Connection,
    actor: str,
    note: str | None,
) -> str:
    """docs/rules.md §4: dissatisfied → reopen, review, mediation or the ledger, as configured."""
    reason = f"回访不满意{': ' + note if note else ''}"
    number, state = case["number"], lc.State(case["state"])
    outcome = s.dissatisfied
    if outcome == "review":
        if state == lc.State.notified and case["decided_by_branch"]:
            actions.perform(
                ctx, number, "request_review", actor=actor, conn=conn, fields={"request": reason}
            )
            return "review"
        outcome = "reopen"  # Art. 20: review only of a branch's decision; otherwise reopen
    if outcome == "mediation":
        if state == lc.State.closed:
            actions.perform(
                ctx, number, "reopen", actor="system", conn=conn, fields={"reason": reason}
            )
        actions.perform(
            ctx,
            number,
            "mediate",
            actor="system",
            conn=conn,
            fields={
                "channel": s.mediation_channel,
                "organisation": s.mediation_organisation,
                "reason": reason,
            },
        )
        return "mediation"
    if outcome == "reopen":
        if any(a.trigger == "reopen" for a in lc.allowed_actions(state)):
            actions.perform(
                ctx, number, "reopen", actor="system", conn=conn, fields={"reason": reason}
            )
            return "reopen"
        outcome = "ledger"  # already being handled again: keep it in view in the ledger
    ledger.add_for_complaint(ctx, case["id"], conn=conn, kind="dissatisfied", why=reason)
    return "ledger"


def sweep(ctx: Context, *, now: datetime | None = None) -> dict[str, int]:
    """Alert assignees of callbacks due now; escalate callbacks overdue to supervisors."""
    now = now or utcnow()
    s = settings(ctx)
    alerted = escalated = 0
    with ctx.engine.begin() as conn:
        rows = (
            conn.execute(
                select(CALLBACK, COMPLAINT.c.number)
                .select_from(CALLBACK.join(COMPLAINT, COMPLAINT.c.id == CALLBACK.c.complaint_id))
                .where(CALLBACK.c.status == "scheduled", CALLBACK.c.due_at <= to_db(now))
            )
            .mappings()
            .all()
        )
        for r in rows:
            due_at = from_db(r["due_at"])
            assert due_at is not None
            if r["alerted_at"] is None:
                records.enqueue_alert(
                    conn,
                    dedupe_key=f"callback_due:{r['id']}",
                    kind="callback_due",
                    audience=r["assignee"] or "supervisors",
                    complaint_id=r["complaint_id"],
                    event_id=None,
                    urgent=False,
                    now=now,
                    payload={
                        "callback": r["id"],
                        "number": r["number"],
                        "due": due_at.isoformat(),
                        "attempt": r["attempt"],
                        "window_end": from_db(r["window_end_at"]).isoformat(),
                    },
                )
                conn.execute(
                    update(CALLBACK).where(CALLBACK.c.id == r["id"]).values(alerted_at=to_db(now))
                )
                alerted += 1
            limit = rules.overdue_at(
                ctx.clock.calendar, ctx.tz, due_at, s.overdue_working_days, s.end
            )
            if r["escalated_at"] is None and now >= limit:
                records.enqueue_alert(
                    conn,
                    dedupe_key=f"callback_overdue:{r['id']}",
                    kind="callback_overdue",
                    audience="supervisors",
                    complaint_id=r["complaint_id"],
                    event_id=None,
                    urgent=True,
                    now=now,
                    payload={
                        "callback": r["id"],
                        "number": r["number"],
                        "due": due_at.isoformat(),
                        "assignee": r["assignee"],
                        "overdue_since": limit.isoformat(),
                    },
                )
                conn.execute(
                    update(CALLBACK).where(CALLBACK.c.id == r["id"]).values(escalated_at=to_db(now))
                )
                escalated += 1
    return {"alerted": alerted, "escalated": escalated}


@events.subscribe("schedule_callback")
def _on_notified(event: events.ActionTaken) -> None:
    """After `notify`, and after `settle` (the mediation agreement is the outcome the
    complainant was told): a satisfaction callback (回访) follows every notified outcome."""
    schedule(
        event.ctx,
        event.case["id"],
        conn=event.conn,
        notified_at=event.at,
        owner=event.case["owner"],
        first=event.case["notified_at"] is None,
    )
