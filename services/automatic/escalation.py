"""Escalation (升级): the deadline sweep and the immediate escalations.

Owns "what happens when a deadline warning or breach falls due" and "what escalates at once"
(舆情, 重大 Art. 29, regulator-forwarded as configured). The ladder is configuration
(`[[escalation.levels]]`), the immediate triggers `[escalation_immediate.*]`, the sweep's
knobs `[flows]`. Each escalation is one `escalate` event by the `system` actor, one
`escalation` row (UNIQUE: acted on once per complaint × deadline × level × clock cycle) and
outbox alerts, all in one transaction. Imports services and storage, never flows or Prefect.

Claiming: the sweep reads deadline rows through the `next_check_at` index (closed cases have
none, so the cost does not grow with them). On PostgreSQL it takes them with
`FOR UPDATE SKIP LOCKED` and the complaints likewise, so several sweepers share the work and
never wait on a handler; on SQLite `BEGIN IMMEDIATE` serialises writers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, RowMapping

from config import EscalationLevel
from services.automatic import alerts, consultation
from services.context import Context
from services.lifecycle import events
from states import lifecycle as lc
from states.priority import assess
from storage import records
from storage.records import COMPLAINT, DEADLINE
from storage.rows import ComplaintRow
from storage.timeutil import from_db, to_db, utcnow

log = logging.getLogger("tousu.escalation")
IMMEDIATE = "immediate"

_SET_NEXT = (
    update(records.DEADLINE)
    .where(records.DEADLINE.c.id == bindparam("_id"))
    .values(next_check_at=bindparam("nca"))
)
_SET_EVENT = (
    update(alerts.ESCALATION)
    .where(alerts.ESCALATION.c.id == bindparam("_id"))
    .values(event_id=bindparam("eid"))
)


@dataclass
class SweepResult:
    claimed: int = 0
    escalated: int = 0
    superseded: int = 0
    convened: int = 0
    skipped: int = 0  # rows another sweeper or a handler held (SKIP LOCKED): next run
    batches: int = 0
    by_level: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: SweepResult) -> None:
        for name in ("claimed", "escalated", "superseded", "convened", "skipped", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, v in other.by_level.items():
            self.by_level[k] += v


def settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("flows")
    return {
        "sweep_batch": int(raw.get("sweep_batch", 500)),
        "major_also_to": str(raw.get("major_also_to", "committee")),
    }


# ---- The sweep -------------------------------------------------------------------------------


def sweep(
    ctx: Context,
    *,
    now: datetime | None = None,
    batch: int | None = None,
    max_batches: int | None = None,
) -> SweepResult:
    """Act on every deadline warning or breach due by `now`, one transaction per batch."""
    now = now or utcnow()
    size = batch or settings(ctx)["sweep_batch"]
    total = SweepResult()
    held: set[int] = set()
    while max_batches is None or total.batches < max_batches:
        with ctx.engine.begin() as conn:
            part = sweep_batch(ctx, conn=conn, now=now, size=size, exclude=held)
        total.add(part)
        if part.claimed + part.skipped < size:
            break
    return total


def sweep_batch(
    ctx: Context, *, conn: Connection, now: datetime, size: int, exclude: set[int]
) -> SweepResult:
    """Claim up to `size` due deadline rows and act on them in the caller's transaction.

    `exclude` collects rows whose complaint was locked elsewhere, so one run never spins."""
    res = SweepResult(batches=1)
    rows = _claim_deadlines(conn, now=now, size=size, exclude=exclude)
    if not rows:
        return res
    records.load_user(conn, alerts.SYSTEM)
    lc.authorize(alerts.ESCALATE, lc.Role.system)
    cids = sorted({r["complaint_id"] for r in rows})
    cases = _claim_cases(conn, cids)
    known = _Known.read(ctx, cids, conn=conn)
    next_checks: list[dict[str, Any]] = []
    event_links: list[dict[str, Any]] = []
    for r in rows:
        case = cases.get(r["complaint_id"])
        if case is None:  # a handler or another sweeper holds the complaint: next run
            exclude.add(r["id"])
            res.skipped += 1
            continue
        res.claimed += 1
        if r["status"] != "running" or lc.State(case["state"]) in lc.FINISHED:
            next_checks.append({"_id": r["id"], "nca": None})
            continue
        started, due = from_db(r["started_at"]), from_db(r["due_at"])
        assert started is not None and due is not None
        cycle = alerts.cycle_of(started, r["allowance"])
        upcoming = _fire_levels(
            ctx, known, r, case, cycle, due, res, event_links, conn=conn, now=now
        )
        convened, ahead = _convene_at_share(
            ctx, known, r, case, cycle, started, due, conn=conn, now=now
        )
        if convened:
            res.convened += 1
            cases[case["id"]] = records.load_case_by_id(conn, case["id"])
        if ahead is not None:
            upcoming.append(ahead)
        next_checks.append({"_id": r["id"], "nca": to_db(min(upcoming)) if upcoming else None})
    if next_checks:
        conn.execute(_SET_NEXT, next_checks)
    if event_links:
        conn.execute(_SET_EVENT, event_links)
    return res


def _claim_deadlines(
    conn: Connection, *, now: datetime, size: int, exclude: set[int]
) -> Sequence[RowMapping]:
    """Up to `size` deadline rows due for a check by `now`, earliest first, `exclude` left
    out; on PostgreSQL locked (FOR UPDATE SKIP LOCKED), so sweepers share the work."""
    q = (
        select(
            DEADLINE.c.id,
            DEADLINE.c.complaint_id,
            DEADLINE.c.name,
            DEADLINE.c.status,
            DEADLINE.c.started_at,
            DEADLINE.c.allowance,
            DEADLINE.c.due_at,
            DEADLINE.c.paused_seconds,
            DEADLINE.c.warnings,
        )
        .where(DEADLINE.c.next_check_at <= to_db(now))
        .order_by(DEADLINE.c.next_check_at)
        .limit(size)
    )
    if exclude:
        q = q.where(DEADLINE.c.id.not_in(exclude))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=DEADLINE)
    return conn.execute(q).mappings().all()


def _claim_cases(conn: Connection, cids: list[int]) -> dict[int, ComplaintRow]:
    """The complaints of the claimed rows, by id; on PostgreSQL locked, those held elsewhere
    (a handler, another sweeper) left out."""
    cq = select(COMPLAINT).where(COMPLAINT.c.id.in_(cids))
    if conn.dialect.name == "postgresql":
        cq = cq.with_for_update(skip_locked=True)
    return {c["id"]: records.complaint_row(c) for c in conn.execute(cq).mappings()}


@dataclass(frozen=True)
class _Known:
    """What a batch reads once: the levels already fired, the ladder, the deadline labels,
    the consultation settings and the clock cycles already convened on."""

    fired: set[tuple[int, str, str, str]]
    ladder: dict[str, EscalationLevel]
    labels: dict[str, str]
    major_to: str
    consult: dict[str, Any]
    convened: set[tuple[int, str]]
    insert_once: Any

    @classmethod
    def read(cls, ctx: Context, cids: list[int], *, conn: Connection) -> _Known:
        fired = {
            (f.complaint_id, f.deadline_name, f.level, f.cycle)
            for f in conn.execute(
                select(
                    alerts.ESCALATION.c.complaint_id,
                    alerts.ESCALATION.c.deadline_name,
                    alerts.ESCALATION.c.level,
                    alerts.ESCALATION.c.cycle,
                ).where(alerts.ESCALATION.c.complaint_id.in_(cids))
            )
        }
        return cls(
            fired=fired,
            ladder={lv.code: lv for lv in ctx.config.escalation},
            labels={name: rule.label for name, rule in ctx.config.deadlines.items()},
            major_to=settings(ctx)["major_also_to"],
            consult=consultation.settings(ctx),
            convened=consultation.convened_cycles(conn, cids),
            insert_once=alerts.insert_once(conn),
        )


def _fire_levels(
    ctx: Context,
    known: _Known,
    r: RowMapping,
    case: ComplaintRow,
    cycle: str,
    due: datetime,
    res: SweepResult,
    event_links: list[dict[str, Any]],
    *,
    conn: Connection,
    now: datetime,
) -> list[datetime]:
    """Act on the ladder levels of one deadline row due by `now`: the highest one escalates,
    the lower ones due with it are recorded as superseded (a late first visit tells only the
    highest). Returns the times of the levels still ahead."""
    ladder = known.ladder
    pending = [
        (w["level"], datetime.fromisoformat(w["at"]))
        for w in r["warnings"] or []
        if (case["id"], r["name"], w["level"], cycle) not in known.fired and w["level"] in ladder
    ]
    due_now = sorted(
        (code for code, at in pending if at <= now),
        key=lambda code: (
            ladder[code].level,
            ladder[code].at_fraction,
            ladder[code].after_due_days,
        ),
    )
    upcoming = [at for _, at in pending if at > now]
    if not due_now:
        return upcoming
    top = due_now[-1]
    for code in due_now[:-1]:
        conn.execute(
            known.insert_once,
            {
                "complaint_id": case["id"],
                "deadline_name": r["name"],
                "level": code,
                "cycle": cycle,
                "rank": ladder[code].level,
                "audience": "",
                "due_at": to_db(due),
                "fired_at": to_db(now),
                "outcome": "superseded",
            },
        )
        res.superseded += 1
    lv = ladder[top]
    xid = conn.execute(
        known.insert_once,
        {
            "complaint_id": case["id"],
            "deadline_name": r["name"],
            "level": top,
            "cycle": cycle,
            "rank": lv.level,
            "audience": f"role:{lv.to}",
            "due_at": to_db(due),
            "fired_at": to_db(now),
            "outcome": "acted",
        },
    ).scalar()
    if xid is not None:
        eid = _escalate(ctx, known, r, case, top, cycle, due, conn=conn, now=now)
        event_links.append({"_id": xid, "eid": eid})
        res.escalated += 1
        res.by_level[top] += 1
    return upcoming


def _escalate(
    ctx: Context,
    known: _Known,
    r: RowMapping,
    case: ComplaintRow,
    top: str,
    cycle: str,
    due: datetime,
    *,
    conn: Connection,
    now: datetime,
) -> int:
    """The `escalate` event for ladder level `top` of one deadline and its alert; the event id."""
    lv = known.ladder[top]
    label = known.labels.get(r["name"], r["name"])
    title = f"{label}{lv.label}(第 {lv.level} 级)"
    last = from_db(case["last_event_at"]) or now
    eid = alerts.append_escalation(
        ctx,
        case,
        conn=conn,
        at=max(now, last),
        now=now,
        rank=lv.level,
        reason=title,
        details={
            "deadline": r["name"],
            "ladder": top,
            "due_at": due.isoformat(),
            "cycle": cycle,
        },
    )
    major_to = known.major_to
    audiences = [lv.to] + ([major_to] if case["priority"] == "major" and major_to else [])
    # A level at or past the due time is a breach: it goes out at once.
    alerts.alert(
        ctx,
        case,
        conn=conn,
        key=f"esc:{case['id']}:{r['name']}:{top}:{cycle}",
        kind="escalation",
        audiences=audiences,
        event_id=eid,
        urgent=lv.at_fraction >= 1,
        now=now,
        payload=alerts.payload(
            ctx,
            case,
            deadline=r["name"],
            deadline_label=label,
            due=due.isoformat(),
            due_local=due.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M"),
            level=lv.level,
            level_code=top,
            level_label=lv.label,
            title=title,
        ),
    )
    return eid


def _convene_at_share(
    ctx: Context,
    known: _Known,
    r: RowMapping,
    case: ComplaintRow,
    cycle: str,
    started: datetime,
    due: datetime,
    *,
    conn: Connection,
    now: datetime,
) -> tuple[bool, datetime | None]:
    """The consultation the deadline's configured share calls for, once per clock cycle:
    (whether one was convened now, the share point when it is still ahead)."""
    point = consultation.share_point(known.consult, r["name"], started, due, r["paused_seconds"])
    if point is None or (case["id"], cycle) in known.convened:
        return False, None
    if point > now:
        return False, point
    return consultation.convene_on_deadline(ctx, case, cycle, due, conn=conn, now=now), None


# ---- Immediate escalation (no waiting for the sweep) ------------------------------------------


def immediate_rules(ctx: Context) -> dict[str, dict[str, Any]]:
    """`[escalation_immediate.<trigger>]`: enabled, to (audiences), level, label, rule."""
    out = {}
    for name, raw in ctx.config.section("escalation_immediate").items():
        if isinstance(raw, dict) and raw.get("enabled", True):
            to = raw.get("to", [])
            out[name] = {
                "to": [to] if isinstance(to, str) else list(to),
                "level": int(raw.get("level", 1)),
                "label": str(raw.get("label", name)),
                "rule": str(raw.get("rule", "")),
            }
    return out


def _triggers(ctx: Context, case: Mapping[str, Any]) -> list[str]:
    found = []
    if case.get("media_involved"):
        found.append("media")
    level, _ = assess({**case, **(case.get("details") or {})}, ctx.config.priority)
    if case.get("priority") == "major" or level == "major":
        found.append("major")
    if case.get("regulator_forwarded"):
        found.append("regulator")
    return found


def escalate_on_arrival(
    ctx: Context, complaint_id: int, row: Mapping[str, Any] | None = None, *, conn: Connection
) -> int:
    """Called by registration (and by acceptance when the priority becomes 重大) inside their
    transaction: 舆情, 重大 (Art. 29) and, as configured, regulator-forwarded complaints
    escalate at once. Returns the number of escalations; each fires once per complaint.
    `row` (the values just inserted) spares a read for the common case with no trigger."""
    rules = immediate_rules(ctx)
    if not rules or (row is not None and not any(t in rules for t in _triggers(ctx, row))):
        return 0
    case = records.load_case_by_id(conn, complaint_id)
    wanted = [t for t in _triggers(ctx, case) if t in rules]
    if not wanted:
        return 0
    done = {
        row.level
        for row in conn.execute(
            select(alerts.ESCALATION.c.level).where(
                alerts.ESCALATION.c.complaint_id == complaint_id,
                alerts.ESCALATION.c.deadline_name == IMMEDIATE,
            )
        )
    }
    now = utcnow()
    at = from_db(case["last_event_at"]) or now  # the instant of the action that revealed it
    insert_once = alerts.insert_once(conn)
    count = 0
    for trigger in wanted:
        if trigger in done:
            continue
        rule = rules[trigger]
        xid = conn.execute(
            insert_once,
            {
                "complaint_id": complaint_id,
                "deadline_name": IMMEDIATE,
                "level": trigger,
                "cycle": "arrival",
                "rank": rule["level"],
                "audience": ",".join(rule["to"]),
                "due_at": None,
                "fired_at": to_db(now),
                "outcome": "acted",
            },
        ).scalar()
        if xid is None:
            continue
        eid = alerts.append_escalation(
            ctx,
            case,
            conn=conn,
            at=at,
            now=now,
            rank=rule["level"],
            reason=rule["label"],
            bump_version=False,
            details={"trigger": trigger, "rule": rule["rule"]},
        )
        conn.execute(_SET_EVENT, {"_id": xid, "eid": eid})
        alerts.alert(
            ctx,
            case,
            conn=conn,
            key=f"imm:{complaint_id}:{trigger}",
            kind="immediate_escalation",
            audiences=rule["to"],
            event_id=eid,
            urgent=True,
            now=now,
            payload=alerts.payload(
                ctx,
                case,
                trigger=trigger,
                level=rule["level"],
                title=rule["label"],
                rule=rule["rule"],
            ),
        )
        count += 1
    return count


def due_count(ctx: Context, *, now: datetime | None = None) -> int:
    """How many deadline rows the next sweep would claim (index only)."""
    from sqlalchemy import func

    with ctx.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(records.DEADLINE)
                .where(records.DEADLINE.c.next_check_at <= to_db(now or utcnow()))
            ).scalar()
            or 0
        )


@events.subscribe("escalate_if_major")
def _on_accepted(event: events.ActionTaken) -> None:
    """Art. 29: a case accepted as 重大 escalates at once."""
    if event.values.get("priority") == "major":
        escalate_on_arrival(event.ctx, event.case["id"], conn=event.conn)


@events.subscribe("escalate_on_arrival")
def _on_registered(event: events.CaseRegistered) -> None:
    """舆情 / 重大 / 监管转办: escalated at registration, not at the first sweep."""
    escalate_on_arrival(event.ctx, event.complaint_id, dict(event.row), conn=event.conn)


@events.subscribe("escalate_on_change")
def _on_facts_changed(event: events.ActionTaken) -> None:
    """A fact that escalates at once (舆情, 重大, regulator-forwarded) became true by an action:
    escalated now, each trigger once per complaint."""
    escalate_on_arrival(event.ctx, event.case["id"], conn=event.conn)


def ladder_level(ctx: Context, level: int) -> EscalationLevel | None:
    """The ladder entry of an escalation level (`[[escalation.levels]]`): the highest one at
    or below `level`, or the lowest when `level` is below them all."""
    ladder = sorted(ctx.config.escalation, key=lambda lv: (lv.level, lv.at_fraction))
    if not ladder:
        return None
    reached = [lv for lv in ladder if lv.level <= level]
    return reached[-1] if reached else ladder[0]


@events.subscribe("alert_escalation")
def _on_manual_escalation(event: events.ActionTaken) -> None:
    """A manual escalation tells the audience of the level it reaches (the ladder's `to`, and
    for a 重大 case `[flows] major_also_to`), at once for a breach level, 重大 or 舆情."""
    ctx = event.ctx
    case: dict[str, Any] = {**event.case, **event.values}
    level = int(case["escalation_level"])
    lv = ladder_level(ctx, level)
    if lv is None:
        return
    major_to = settings(ctx)["major_also_to"]
    major = case["priority"] == "major"
    reason = str(event.fields.get("reason") or "")
    alerts.alert(
        ctx,
        case,
        conn=event.conn,
        key=f"manual:{case['id']}:{event.event_id}",
        kind="escalation",
        audiences=[lv.to] + ([major_to] if major and major_to else []),
        event_id=event.event_id,
        urgent=lv.at_fraction >= 1 or major or bool(case["media_involved"]),
        now=utcnow(),
        payload=alerts.payload(
            ctx,
            case,
            level=level,
            level_code=lv.code,
            level_label=lv.label,
            title=f"人工升级至第 {level} 级: {reason}",
            reason=reason,
            by=event.actor,
            manual=True,
        ),
    )
