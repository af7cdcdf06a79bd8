"""The supervisor's dashboard (issue 19): what is open now, and the cases behind each number.

`figures` counts; `cases` lists the complaints behind one of those counts (a "focus"), so that
every number on the page links to exactly the complaints it counts: both build their rows
from the same `_focus` condition. Open cases by state and by escalation level come from the
complaint table; overdue and due today from the nearest running deadline
(`complaint.next_due_at`), as the work queue shows it (services/lifecycle/queries.py: red
when past, yellow when due by the end of the local day); consultations and mediations under
way from their tables (storage/consultation.py, storage/mediation_referral.py); ledger matters
open (storage/ledger.py); callbacks due by the end of today (storage/callback.py). Read-only.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import case, func, select

from services.context import Context
from services.lifecycle.queries import queue_items, queue_statement
from states import lifecycle as lc
from states.errors import Forbidden, InvalidInput
from storage.callback import Callback
from storage.consultation import Consultation
from storage.db import read_only
from storage.ledger import LedgerMatter
from storage.mediation_referral import MediationReferral
from storage.records import COMPLAINT
from storage.schema import table_of
from storage.timeutil import local, to_db

CALLBACK = table_of(Callback)
CONSULTATION = table_of(Consultation)
MEDIATION = table_of(MediationReferral)
MATTER = table_of(LedgerMatter)

# Who sees the dashboard (deny by default).
DASHBOARD_ROLES = frozenset({lc.Role.supervisor, lc.Role.committee})
OPEN_STATES = tuple(s.value for s in lc.OPEN)
# What a number may stand for besides a state (the queue's own filters cover states).
FOCUSES = {
    "overdue": "已超时",
    "today": "今日到期",
    "consultation": "会商中",
    "mediation": "调解中",
    "ledger": "台账在办事项",
    "callback": "今日及以前应回访",
}


def authorize(role: str) -> None:
    if lc.Role(role) not in DASHBOARD_ROLES:
        allowed = "、".join(r.label for r in sorted(DASHBOARD_ROLES))
        raise Forbidden(f"角色「{lc.Role(role).label}」无权查看主管看板, 可查看角色: {allowed}")


@dataclass(frozen=True)
class Window:
    """The instant of the view and the end of its local day (a deadline due then is 今日到期)."""

    now: datetime
    end_of_today: datetime

    @classmethod
    def at(cls, ctx: Context, now: datetime) -> Window:
        today = local(now, ctx.tz).date()
        end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=ctx.tz)
        return cls(to_db(now), to_db(end))


def _open(*where: Any) -> list[Any]:
    """Open complaints meeting `where`. Those on the escalation level and the nearest running
    deadline (`complaint.next_due_at`, kept by the database: migrations/versions/
    0023_next_due.py) are read from the index (state, escalation_level, next_due_at) without
    a row: the cost follows the open complaints."""
    return [COMPLAINT.c.state.in_(OPEN_STATES), *where]


def _where(focus: str, level: int | None, w: Window, branch: str | None) -> list[Any]:
    """The conditions on `complaint` that pick the complaints one number counts."""
    where: list[Any]
    due = COMPLAINT.c.next_due_at
    if focus == "overdue":  # a running deadline has passed (the queue's red)
        where = _open(due < w.now)
    elif focus == "today":  # due by the end of today, and nothing overdue (the queue's yellow)
        where = _open(due >= w.now, due <= w.end_of_today)
    elif focus == "level":
        where = _open(COMPLAINT.c.escalation_level == level)
    elif focus == "consultation":
        ids = select(CONSULTATION.c.complaint_id).where(CONSULTATION.c.status == "convened")
        where = [COMPLAINT.c.id.in_(ids)]
    elif focus == "mediation":
        ids = select(MEDIATION.c.complaint_id).where(MEDIATION.c.status == "referred")
        where = [COMPLAINT.c.id.in_(ids)]
    elif focus == "ledger":
        ids = select(MATTER.c.master_complaint_id).where(MATTER.c.status == "open")
        where = [COMPLAINT.c.id.in_(ids)]
    elif focus == "callback":
        ids = select(CALLBACK.c.complaint_id).where(
            CALLBACK.c.status == "scheduled", CALLBACK.c.due_at <= w.end_of_today
        )
        where = [COMPLAINT.c.id.in_(ids)]
    else:
        raise InvalidInput("focus", f"看板筛选取值: {', '.join(FOCUSES)}, level")
    if branch:
        where.append(COMPLAINT.c.branch == branch)
    return where


def _count(conn: Any, where: list[Any]) -> int:
    return int(conn.execute(select(func.count()).select_from(COMPLAINT).where(*where)).scalar())


def settings(ctx: Context) -> dict[str, Any]:
    """`[dashboard]`: when computed figures are reused, how often the page refreshes."""
    raw = ctx.config.section("dashboard")
    return {
        "cache_seconds": float(raw.get("cache_seconds", 15)),
        "trend_cache_seconds": float(raw.get("trend_cache_seconds", 600)),
        "fresh_below_ms": float(raw.get("fresh_below_ms", 10)),
        "refresh_seconds": int(raw.get("refresh_seconds", 30)),
        "warm_at_start": bool(raw.get("warm_at_start", True)),
    }


# Figures computed a moment ago, per context (one per process and database), kind and branch:
# (computed at, value, seconds the counting took). Every supervisor's page polls the same
# figures; counted in under `fresh_below_ms` they are counted again for every request (a
# change shows at once); when counting takes longer (about 20 ms for the figures and 1.5 s for
# the trend at a million complaints, where fifty supervisors' pages a second would spend a
# worker's whole time recounting), one process counts them at most once per `cache_seconds`
# (the page says when they were).
_CACHE: dict[int, dict[tuple[str, str | None], Any]] = {}  # id(ctx) → (kind, branch) → hit
_COUNTING: dict[tuple[int, tuple[str, str | None]], threading.Lock] = {}
_LOCK = threading.Lock()


def _reused(
    ctx: Context,
    kind: str,
    branch: str | None,
    now: datetime,
    ttl: float,
    compute: Any,
) -> tuple[datetime, Any]:
    key = (kind, branch)
    slow = settings(ctx)["fresh_below_ms"] / 1000

    def usable(hit: Any) -> bool:
        return _usable(hit, now, ttl, slow)

    hit: Any
    with _LOCK:
        hit = _CACHE.get(id(ctx), {}).get(key)
        counting = _COUNTING.setdefault((id(ctx), key), threading.Lock())
    if usable(hit):
        return hit[0], hit[1]
    # Slow figures gone stale: one request counts them again while the others go on showing
    # those of a moment ago (16 supervisors must not each count the same million rows at
    # once); only a first count, with nothing to show yet, is waited for.
    stale = hit is not None and hit[2] >= slow
    if not counting.acquire(blocking=not stale):
        return hit[0], hit[1]
    try:
        with _LOCK:
            hit = _CACHE.get(id(ctx), {}).get(key)
        if usable(hit):  # counted by another request while this one waited
            return hit[0], hit[1]
        started = perf_counter()
        value = compute()
        with _LOCK:
            if id(ctx) not in _CACHE:  # forgotten with the context (a test's, or at shutdown)
                weakref.finalize(ctx, _forget, id(ctx))
            _CACHE.setdefault(id(ctx), {})[key] = (now, value, perf_counter() - started)
        return now, value
    finally:
        counting.release()


def _usable(hit: Any, now: datetime, ttl: float, slow: float) -> bool:
    """Whether figures counted at hit[0] (taking hit[2] seconds) may be shown at `now`."""
    return (
        hit is not None
        and ttl > 0
        and hit[2] >= slow
        and timedelta(0) <= now - hit[0] < timedelta(seconds=ttl)
    )


def counted(ctx: Context, *, now: datetime, branch: str | None = None) -> bool:
    """Whether `figures` would answer from figures already counted, reading nothing: the
    page may then be drawn without a trip to a worker thread (web/pages/dashboard.py)."""
    cfg = settings(ctx)
    slow = cfg["fresh_below_ms"] / 1000
    month = f"{local(now, ctx.tz):%Y-%m}"
    with _LOCK:
        kept = _CACHE.get(id(ctx), {})
        figures_hit = kept.get(("figures", branch))
        trend_hit = kept.get((f"trend {month}", branch))
    return _usable(figures_hit, now, cfg["cache_seconds"], slow) and _usable(
        trend_hit, now, cfg["trend_cache_seconds"], slow
    )


def _forget(ctx_id: int) -> None:
    with _LOCK:
        _CACHE.pop(ctx_id, None)
        for key in [k for k in _COUNTING if k[0] == ctx_id]:
            del _COUNTING[key]


def warm(ctx: Context, *, now: datetime) -> None:
    """Count the figures of the whole company once, before the first supervisor asks
    (`tousu web` at start-up, `[dashboard] warm_at_start`): at a million complaints the
    first count takes seconds, and until then every dashboard waits for it."""
    if settings(ctx)["warm_at_start"]:
        figures(ctx, now=now)


def figures(ctx: Context, *, now: datetime, branch: str | None = None) -> dict[str, Any]:
    """Every number of the dashboard (counts of complaints) and `as_of`, when they were
    counted: at most `[dashboard] cache_seconds` before `now`."""
    cfg = settings(ctx)
    as_of, got = _reused(
        ctx, "figures", branch, now, cfg["cache_seconds"], lambda: _figures(ctx, now, branch)
    )
    month = f"{local(now, ctx.tz):%Y-%m}"
    _, trend = _reused(
        ctx,
        f"trend {month}",
        branch,
        now,
        cfg["trend_cache_seconds"],
        lambda: _trend(ctx, now, branch),
    )
    return {**got, "trend": trend, "as_of": as_of}


def _figures(ctx: Context, now: datetime, branch: str | None) -> dict[str, Any]:
    w = Window.at(ctx, now)
    scoped = [COMPLAINT.c.branch == branch] if branch else []
    with read_only(ctx.engine) as conn:
        # Open complaints by state and escalation level at once, from their index (0023).
        by_state: dict[str, int] = {}
        levels: dict[int, int] = {}
        for state, level, n in conn.execute(
            select(COMPLAINT.c.state, COMPLAINT.c.escalation_level, func.count())
            .where(COMPLAINT.c.state.in_(OPEN_STATES), *scoped)
            .group_by(COMPLAINT.c.state, COMPLAINT.c.escalation_level)
        ).all():
            by_state[str(state)] = by_state.get(str(state), 0) + int(n)
            levels[int(level)] = levels.get(int(level), 0) + int(n)
        counts = {f: _count(conn, _where(f, None, w, branch)) for f in FOCUSES}
    return {
        "by_state": {s: by_state.get(s, 0) for s in OPEN_STATES},
        "open": sum(by_state.values()),
        "levels": dict(sorted(levels.items())),
        **counts,
    }


def _trend(ctx: Context, now: datetime, branch: str | None) -> list[tuple[str, int, int]]:
    """Complaints received per local month over the last twelve months, and how many of them
    the regulator forwarded: (YYYY-MM, received, forwarded)."""
    first = local(now, ctx.tz).date().replace(day=1)
    months = []
    for _ in range(12):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    scoped = [COMPLAINT.c.branch == branch] if branch else []
    out = []
    with read_only(ctx.engine) as conn:
        for start in reversed(months):
            end = (start + timedelta(days=32)).replace(day=1)
            lo = datetime.combine(start, time(0), tzinfo=ctx.tz)
            hi = datetime.combine(end, time(0), tzinfo=ctx.tz)
            forwarded = case((COMPLAINT.c.regulator_forwarded.is_(True), 1), else_=0)
            received, sent = conn.execute(
                select(func.count(), func.coalesce(func.sum(forwarded), 0)).where(
                    COMPLAINT.c.received_at >= to_db(lo),
                    COMPLAINT.c.received_at < to_db(hi),
                    *scoped,
                )
            ).one()
            out.append((f"{start:%Y-%m}", int(received), int(sent)))
    return out


def cases(
    ctx: Context,
    *,
    focus: str,
    now: datetime,
    level: int | None = None,
    branch: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The complaints behind one number, in the work queue's shape (nearest deadline first)."""
    if focus == "level" and level is None:
        raise InvalidInput("level", "须指定升级级别")
    w = Window.at(ctx, now)
    with read_only(ctx.engine) as conn:
        found = conn.execute(queue_statement(COMPLAINT, _where(focus, level, w, branch), limit))
        items = queue_items(tuple(found.keys()), [tuple(r) for r in found])
    return {"scope": "all", "items": items, "limit": limit}
