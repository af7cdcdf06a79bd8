"""Report metrics (docs/rules.md §6) computed in the database: every figure is a GROUP BY aggregate
over the complaints received in the period (a range on the indexed `received_at`) or the
events recorded in it (a range on the indexed `event.at`), never a row-by-row load. Works on
SQLite and PostgreSQL; the dialects differ only in how times are subtracted and days counted.

Definitions (also in docs/reports.md). Cohort = complaints received in the period.
- 24 h acceptance share: accepted within the acceptance allowance, over cases whose acceptance
  is settled (accepted, or still unaccepted after the allowance; cases ended before acceptance
  are left out).
- Days to decision: over cohort cases with a decision, elapsed time from receipt ÷ 24 h (the
  regulation's clock, Art. 18); and from acceptance to the decision, over those also accepted
  (the internal practice, docs/rules.md §6). Both are labelled with their starting point.
- Decided within 7/15 days: over cohort cases with a decision, decided before the end of the
  7th/15th calendar day after receipt (Art. 43, as the deadlines count them: the day of
  receipt not counted, the last day ending at 24:00 local time; the allowances from
  `[deadlines]`; N × 24 h if a rule is configured in another unit).
- Beyond 30/60: cohort cases whose decision (or end, or the as-of time if open) came after the
  end of the 30th/60th calendar day after receipt (the Art. 18 extension ceilings from
  `[deadlines.decision] extensions`).
- Repeat rate: cohort cases linked to or merged into an earlier complaint.
- Backlog: unresolved at the period end (or now: not ended, no decision notified) and received
  more than `[repeat] backlog_open_days` earlier, or a group complaint of `backlog_group_size`
  people or more received more than `backlog_group_open_days` earlier (a stock, not a cohort
  figure; services/lifecycle/backlog.py, shared with the ledger refresh).
- Escalations, joint consultations, mediation referrals and outcomes: events in the period.
- Execution deviation (制度执行偏差率): cohort cases with a missed own deadline (met late, or
  running past due) or a skipped step (a decision without acceptance; closed without a
  decision other than by a mediated settlement).
- Callbacks: the attempts recorded in the period in the `callback` table
  (storage/callback.py, written by services/automatic/callbacks.py); "—" where none was recorded.
This module must not import cli/, flows/ or any renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from services.context import Context
from services.lifecycle import backlog
from services.reporting import exposure as exp
from services.reporting.periods import Period, month_of
from states.ledger import SATISFACTION
from storage.callback import Callback
from storage.models import Complaint, Deadline, Event, User
from storage.schema import table_of
from storage.timeutil import utcnow

COMPLAINT = table_of(Complaint)
DEADLINE = table_of(Deadline)
EVENT = table_of(Event)
CALLBACK = table_of(Callback)
SATISFIED = tuple(k for k in SATISFACTION if k != "dissatisfied")  # 满意 + 基本满意
USER = table_of(User)

DIMENSIONS: dict[str, str] = {
    "category": "投诉类别",
    "product": "产品",
    "channel": "渠道",
    "branch": "机构",
    "handler": "处理人",
}
# (key, Chinese label, kind): kind says how renderers format the value.
METRICS: list[tuple[str, str, str]] = [
    ("volume", "投诉量", "count"),
    ("forwarded", "监管转办量", "count"),
    ("per_premium", "亿元保费投诉量", "ratio"),
    ("per_policies", "万张保单投诉量", "ratio"),
    ("per_insured", "万人次投诉量", "ratio"),
    ("accepted_24h", "24 小时受理率", "share"),
    ("avg_decision_days", "平均决定天数(自收到)", "days"),
    ("avg_accepted_decision_days", "平均办理天数(自受理至决定)", "days"),
    ("decided_7", "7 日内决定占比(自收到)", "share"),
    ("decided_15", "15 日内决定占比(自收到)", "share"),
    ("beyond_30", "超 30 日件数", "count"),
    ("beyond_60", "超 60 日件数", "count"),
    ("repeat_rate", "重复投诉率", "share"),
    ("backlog", "积案数", "count"),
    ("escalations", "升级次数", "count"),
    ("consultations", "会商次数", "count"),
    ("mediations", "转调解件数", "count"),
    ("mediation_success", "调解成功率", "share"),
    ("callback_reach", "回访成功率", "share"),
    ("satisfaction", "满意率", "share"),
    ("nps", "NPS", "score"),
    ("deviation_rate", "制度执行偏差率", "share"),
]
# Which way is good news: +1 higher is better (acceptance and decision shares, mediation
# success, callbacks, satisfaction), -1 lower is better (volume, delay, repeats, backlog,
# escalations, deviation); 0 neither (consultations and mediations are tools, not outcomes).
BETTER: dict[str, int] = {
    "volume": -1,
    "forwarded": -1,
    "per_premium": -1,
    "per_policies": -1,
    "per_insured": -1,
    "accepted_24h": 1,
    "avg_decision_days": -1,
    "avg_accepted_decision_days": -1,
    "decided_7": 1,
    "decided_15": 1,
    "beyond_30": -1,
    "beyond_60": -1,
    "repeat_rate": -1,
    "backlog": -1,
    "escalations": -1,
    "consultations": 0,
    "mediations": 0,
    "mediation_success": 1,
    "callback_reach": 1,
    "satisfaction": 1,
    "nps": 1,
    "deviation_rate": -1,
}
CHANGE_METRICS = [m for m, _, kind in METRICS if kind in ("count", "ratio", "days", "share")]
DEFAULTS: dict[str, Any] = {
    "dir": "data/reports",
    "exposure_pattern": "config/exposure/{period}.csv",
    "trend_months": 13,
    "escalation_actions": ["escalate"],
    # The institution's own deadlines; the complainant's review window is not ours to miss.
    "deviation_deadlines": ["acceptance", "investigation", "decision", "review_decision"],
}


def settings(ctx: Context) -> dict[str, Any]:
    return {**DEFAULTS, **ctx.config.section("reports")}


def base_dir(ctx: Context) -> Path:
    """Relative paths in `[reports]` count from the project root (the data directory's parent)."""
    return ctx.config.data_dir.parent


def output_dir(ctx: Context) -> Path:
    path = Path(settings(ctx)["dir"])
    return path if path.is_absolute() else base_dir(ctx) / path


@dataclass
class Row:
    key: str
    label: str
    metrics: dict[str, float | None]
    previous_volume: int = 0
    year_ago_volume: int = 0


@dataclass
class Report:
    period: Period
    previous: Period
    year_ago: Period
    as_of: datetime
    summary: dict[str, float | None]
    summary_previous: dict[str, float | None]
    summary_year_ago: dict[str, float | None]
    breakdowns: dict[str, list[Row]]
    escalation_levels: dict[str, int]
    trend: list[tuple[str, int, int]]
    exposure_found: bool
    notes: list[str] = field(default_factory=list)
    # 整改完成率 by department and branch (services/casefile/rectification.py `completion`)
    rectification: dict[str, Any] | None = None


def change(now: float | None, before: float | None) -> float | None:
    """Relative change (0.12 = +12%); None when there is nothing to compare with."""
    if now is None or before in (None, 0):
        return None
    return (now - before) / before


def _seconds(conn: Connection, later: Any, earlier: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _days_after(
    ctx: Context, received: Any, days: int, as_of: datetime, *, conn: Connection
) -> ColumnElement[Any]:
    """The end of the N-th calendar day after receipt (Art. 43: the day of receipt is not
    counted and the last day ends at 24:00 local time), the instant `states.deadlines.Clock`
    gives a calendar-day deadline before pauses and extensions."""
    if conn.dialect.name == "sqlite":
        # SQLite knows no zones: the configured zone's offset (exact for Asia/Shanghai, which
        # keeps no daylight saving time).
        offset = int((ctx.tz.utcoffset(as_of.replace(tzinfo=None)) or timedelta()).total_seconds())
        return func.julianday(
            received,
            f"{offset:+d} seconds",
            "start of day",
            f"+{days + 1} days",
            f"{-offset:+d} seconds",
        )
    local_day = func.date_trunc("day", func.timezone(ctx.config.timezone, received))
    return func.timezone(ctx.config.timezone, local_day + func.make_interval(0, 0, 0, days + 1))


def _before(conn: Connection, moment: Any, cutoff: ColumnElement[Any]) -> ColumnElement[Any]:
    return (func.julianday(moment) if conn.dialect.name == "sqlite" else moment) < cutoff


def _group(dim: str | None) -> ColumnElement[Any]:
    if dim is None:
        return literal("all")
    column = COMPLAINT.c.owner if dim == "handler" else COMPLAINT.c[dim]
    return func.coalesce(column, "")


def _cohort_sums(
    ctx: Context,
    dim: str | None,
    start: datetime,
    end: datetime,
    as_of: datetime,
    opts: dict[str, Any],
    *,
    conn: Connection,
) -> dict[str, dict[str, float]]:
    rules = ctx.config.deadlines
    day = 86400.0
    asof = literal(as_of, COMPLAINT.c.received_at.type)
    accept_s = _seconds(conn, COMPLAINT.c.accepted_at, COMPLAINT.c.received_at)
    decide_s = _seconds(conn, COMPLAINT.c.decided_at, COMPLAINT.c.received_at)
    handled_s = _seconds(conn, COMPLAINT.c.decided_at, COMPLAINT.c.accepted_at)
    handled = and_(COMPLAINT.c.decided_at.is_not(None), COMPLAINT.c.accepted_at.is_not(None))
    ended = func.coalesce(COMPLAINT.c.decided_at, COMPLAINT.c.closed_at, asof)

    def within(moment: Any, rule: str, days: int) -> ColumnElement[Any]:
        """Before the end of the N-th day after receipt: calendar days by Art. 43 when the
        rule counts calendar days, else (another unit configured) N × 24 h."""
        if rules[rule].unit == "calendar_days":
            return _before(
                conn, moment, _days_after(ctx, COMPLAINT.c.received_at, days, as_of, conn=conn)
            )
        return _seconds(conn, moment, COMPLAINT.c.received_at) <= days * day

    accept_limit = rules["acceptance"].amount * (
        3600.0 if rules["acceptance"].unit == "hours" else day
    )
    ceilings = (rules["decision"].extensions + [30, 60])[:2]
    missed = exists().where(
        DEADLINE.c.complaint_id == COMPLAINT.c.id,
        DEADLINE.c.name.in_(opts["deviation_deadlines"]),
        or_(
            DEADLINE.c.met_at > DEADLINE.c.due_at,
            and_(
                DEADLINE.c.status == "running",
                DEADLINE.c.due_at < literal(as_of, DEADLINE.c.due_at.type),
            ),
        ),
    )
    settled = exists().where(EVENT.c.complaint_id == COMPLAINT.c.id, EVENT.c.action == "settle")
    skipped = or_(
        and_(COMPLAINT.c.decided_at.is_not(None), COMPLAINT.c.accepted_at.is_(None)),
        and_(COMPLAINT.c.state == "closed", COMPLAINT.c.decided_at.is_(None), ~settled),
    )

    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    g = _group(dim).label("g")
    stmt = (
        select(
            g,
            func.count().label("volume"),
            n(COMPLAINT.c.regulator_forwarded.is_(True)).label("forwarded"),
            n(and_(COMPLAINT.c.accepted_at.is_not(None), accept_s <= accept_limit)).label("acc_ok"),
            n(
                or_(
                    COMPLAINT.c.accepted_at.is_not(None),
                    and_(
                        COMPLAINT.c.closed_at.is_(None),
                        _seconds(conn, asof, COMPLAINT.c.received_at) > accept_limit,
                    ),
                )
            ).label("acc_due"),
            n(COMPLAINT.c.decided_at.is_not(None)).label("decided"),
            func.sum(case((COMPLAINT.c.decided_at.is_not(None), decide_s), else_=0.0)).label(
                "decide_s"
            ),
            n(handled).label("handled"),
            func.sum(case((handled, handled_s), else_=0.0)).label("handled_s"),
            n(
                and_(
                    COMPLAINT.c.decided_at.is_not(None),
                    within(
                        COMPLAINT.c.decided_at, "internal_target", rules["internal_target"].amount
                    ),
                )
            ).label("decided_7"),
            n(
                and_(
                    COMPLAINT.c.decided_at.is_not(None),
                    within(COMPLAINT.c.decided_at, "decision", rules["decision"].amount),
                )
            ).label("decided_15"),
            n(~within(ended, "decision", ceilings[0])).label("beyond_30"),
            n(~within(ended, "decision", ceilings[1])).label("beyond_60"),
            n(
                or_(COMPLAINT.c.linked_to_id.is_not(None), COMPLAINT.c.merged_into_id.is_not(None))
            ).label("repeats"),
            n(or_(missed, skipped)).label("deviations"),
        )
        .where(COMPLAINT.c.received_at >= start, COMPLAINT.c.received_at < end)
        .group_by(g)
    )
    return {
        r.g: {k: float(v or 0) for k, v in r._mapping.items() if k != "g"}
        for r in conn.execute(stmt)
    }


def _event_sums(
    conn: Connection, dim: str | None, start: datetime, end: datetime, opts: dict[str, Any]
) -> dict[str, dict[str, float]]:
    escalate = opts["escalation_actions"]
    actions = [*escalate, "consult", "mediate", "end_mediation", "settle"]

    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    g = _group(dim).label("g")
    stmt = (
        select(
            g,
            n(EVENT.c.action.in_(escalate)).label("escalations"),
            n(EVENT.c.action == "consult").label("consultations"),
            n(EVENT.c.action == "mediate").label("mediations"),
            n(EVENT.c.action == "settle").label("settled"),
            n(EVENT.c.action == "end_mediation").label("mediation_failed"),
        )
        .select_from(EVENT.join(COMPLAINT, COMPLAINT.c.id == EVENT.c.complaint_id))
        .where(EVENT.c.at >= start, EVENT.c.at < end, EVENT.c.action.in_(actions))
        .group_by(g)
    )
    return {
        r.g: {k: float(v or 0) for k, v in r._mapping.items() if k != "g"}
        for r in conn.execute(stmt)
    }


def _backlog(
    ctx: Context, dim: str | None, cutoff: datetime, *, conn: Connection
) -> dict[str, float]:
    g = _group(dim).label("g")
    # The ledger's definition (services/lifecycle/backlog.py): unresolved handling at the
    # cutoff, by age or group size; a notified case awaiting closure is not backlog.
    stmt = select(g, func.count()).where(backlog.condition(ctx, cutoff)).group_by(g)
    return {r[0]: float(r[1]) for r in conn.execute(stmt)}


def _callbacks(
    conn: Connection, dim: str | None, start: datetime, end: datetime
) -> dict[str, dict[str, float]]:
    """The callback attempts recorded in the period (one row per attempt).

    Reach rate = reached ÷ (reached + unreachable) attempts recorded in the period;
    satisfaction = (满意 + 基本满意) ÷ rated; NPS = (promoters 9–10 − detractors 0–6) ÷ scored.
    """
    cb = CALLBACK

    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    g = _group(dim).label("g")
    stmt = (
        select(
            g,
            n(cb.c.status.in_(("reached", "unreachable"))).label("calls"),
            n(cb.c.status == "reached").label("reached"),
            n(cb.c.satisfaction.in_(SATISFIED)).label("satisfied"),
            n(cb.c.satisfaction.is_not(None)).label("rated"),
            n(cb.c.nps >= 9).label("promoters"),
            n(cb.c.nps <= 6).label("detractors"),
            n(cb.c.nps.is_not(None)).label("scored"),
        )
        .select_from(cb.join(COMPLAINT, COMPLAINT.c.id == cb.c.complaint_id))
        .where(cb.c.recorded_at >= start, cb.c.recorded_at < end)
        .group_by(g)
    )
    return {
        r.g: {k: float(v or 0) for k, v in r._mapping.items() if k != "g"}
        for r in conn.execute(stmt)
    }


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _finish(
    s: dict[str, float],
    ev: dict[str, float],
    backlog: float,
    cb: dict[str, float] | None,
    expo: exp.Exposure | None,
) -> dict[str, float | None]:
    vol = s.get("volume", 0.0)
    out: dict[str, float | None] = {
        "volume": vol,
        "forwarded": s.get("forwarded", 0.0),
        "per_premium": _ratio(vol, expo.premium_100m) if expo else None,
        "per_policies": _ratio(vol, expo.policies / 10_000) if expo else None,
        "per_insured": _ratio(vol, expo.insured_persons / 10_000) if expo else None,
        "accepted_24h": _ratio(s.get("acc_ok", 0), s.get("acc_due", 0)),
        "avg_decision_days": (_ratio(s.get("decide_s", 0), s.get("decided", 0) * 86400.0)),
        "avg_accepted_decision_days": _ratio(s.get("handled_s", 0), s.get("handled", 0) * 86400.0),
        "decided_7": _ratio(s.get("decided_7", 0), s.get("decided", 0)),
        "decided_15": _ratio(s.get("decided_15", 0), s.get("decided", 0)),
        "beyond_30": s.get("beyond_30", 0.0),
        "beyond_60": s.get("beyond_60", 0.0),
        "repeat_rate": _ratio(s.get("repeats", 0), vol),
        "backlog": backlog,
        "escalations": ev.get("escalations", 0.0),
        "consultations": ev.get("consultations", 0.0),
        "mediations": ev.get("mediations", 0.0),
        "mediation_success": _ratio(
            ev.get("settled", 0), ev.get("settled", 0) + ev.get("mediation_failed", 0)
        ),
        "callback_reach": None,
        "satisfaction": None,
        "nps": None,
        "deviation_rate": _ratio(s.get("deviations", 0), vol),
    }
    if cb is not None:
        out["callback_reach"] = _ratio(cb.get("reached", 0), cb.get("calls", 0))
        out["satisfaction"] = _ratio(cb.get("satisfied", 0), cb.get("rated", 0))
        nps = _ratio(cb.get("promoters", 0) - cb.get("detractors", 0), cb.get("scored", 0))
        out["nps"] = nps * 100 if nps is not None else None
    return out


def _metrics(
    ctx: Context,
    period: Period,
    dim: str | None,
    as_of: datetime,
    opts: dict[str, Any],
    exposure: dict[str, exp.Exposure] | None,
    *,
    conn: Connection,
) -> dict[str, dict[str, float | None]]:
    start, end = period.bounds(ctx.tz)
    cutoff = min(end, as_of)
    sums = _cohort_sums(ctx, dim, start, end, as_of, opts, conn=conn)
    events = _event_sums(conn, dim, start, end, opts)
    backlog = _backlog(ctx, dim, cutoff, conn=conn)
    callbacks = _callbacks(conn, dim, start, end)
    total: exp.Exposure | None = None
    if exposure is not None and dim is None:
        total = exp.Exposure()
        for item in exposure.values():
            total += item
    out = {}
    for key in sorted(set(sums) | set(events) | set(backlog)):
        expo = total if dim is None else (exposure or {}).get(key) if dim == "branch" else None
        out[key] = _finish(
            sums.get(key, {}),
            events.get(key, {}),
            backlog.get(key, 0.0),
            callbacks.get(key, {}),
            expo,
        )
    return out


def _volumes(ctx: Context, period: Period, dim: str | None, *, conn: Connection) -> dict[str, int]:
    start, end = period.bounds(ctx.tz)
    g = _group(dim).label("g")
    stmt = (
        select(g, func.count())
        .where(COMPLAINT.c.received_at >= start, COMPLAINT.c.received_at < end)
        .group_by(g)
    )
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def _escalation_levels(
    conn: Connection, start: datetime, end: datetime, opts: dict[str, Any]
) -> dict[str, int]:
    level = EVENT.c.details["level"].as_string()
    stmt = (
        select(level, func.count())
        .where(
            EVENT.c.at >= start, EVENT.c.at < end, EVENT.c.action.in_(opts["escalation_actions"])
        )
        .group_by(level)
    )
    return {
        str(r[0]) if r[0] not in (None, "", "null") else "未注明": int(r[1])
        for r in conn.execute(stmt)
    }


def _labels(ctx: Context, dim: str, *, conn: Connection) -> dict[str, str]:
    tax = ctx.config.taxonomy
    if dim == "handler":
        return {r.username: r.name for r in conn.execute(select(USER.c.username, USER.c.name))}
    return dict(
        {
            "category": tax.categories,
            "product": tax.products,
            "channel": tax.channels,
            "branch": tax.branches,
        }[dim]
    )


def build(ctx: Context, period: Period, *, as_of: datetime | None = None) -> Report:
    """All metrics for the period, its breakdowns, 环比/同比 and the monthly trend."""
    as_of = as_of or utcnow()
    opts = settings(ctx)
    root = base_dir(ctx)
    previous, year_ago = period.previous(), period.year_ago()
    exposures = {
        p: exp.load(opts["exposure_pattern"], root, p) for p in (period, previous, year_ago)
    }
    notes = []
    if exposures[period] is None:
        notes.append(f"未找到 {period.label} 的保费/保单/承保人次数据, 相关比率显示为 —")
    with ctx.engine.connect() as conn:
        summaries = {
            p: _metrics(ctx, p, None, as_of, opts, exposures[p], conn=conn).get("all")
            or _finish({}, {}, 0.0, None, None)
            for p in (period, previous, year_ago)
        }
        breakdowns: dict[str, list[Row]] = {}
        for dim in DIMENSIONS:
            labels = _labels(ctx, dim, conn=conn)
            current = _metrics(ctx, period, dim, as_of, opts, exposures[period], conn=conn)
            prev, yoy = (
                _volumes(ctx, previous, dim, conn=conn),
                _volumes(ctx, year_ago, dim, conn=conn),
            )
            rows = [
                Row(
                    key,
                    labels.get(key, key or ("未分派" if dim == "handler" else "未分类")),
                    m,
                    prev.get(key, 0),
                    yoy.get(key, 0),
                )
                for key, m in current.items()
            ]
            rows.sort(key=lambda r: -(r.metrics["volume"] or 0))
            breakdowns[dim] = rows
        start, end = period.bounds(ctx.tz)
        levels = _escalation_levels(conn, start, end, opts)
        trend = []
        months = [month_of(period.end - timedelta(days=1))]
        for _ in range(int(opts["trend_months"]) - 1):
            months.append(months[-1].previous())
        for m in reversed(months):
            s, e = m.bounds(ctx.tz)
            vol, fwd = conn.execute(
                select(
                    func.count(),
                    func.sum(case((COMPLAINT.c.regulator_forwarded.is_(True), 1), else_=0)),
                ).where(COMPLAINT.c.received_at >= s, COMPLAINT.c.received_at < e)
            ).one()
            trend.append((m.label, int(vol or 0), int(fwd or 0)))
    from services.casefile import rectification

    rectified = rectification.completion(ctx, start=start, end=end)
    return Report(
        period=period,
        previous=previous,
        year_ago=year_ago,
        as_of=as_of,
        summary=summaries[period],
        summary_previous=summaries[previous],
        summary_year_ago=summaries[year_ago],
        breakdowns=breakdowns,
        escalation_levels=levels,
        trend=trend,
        exposure_found=exposures[period] is not None,
        notes=notes,
        rectification=rectified,
    )
