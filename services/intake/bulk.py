"""Batched registration for bulk import: the rules of `services.lifecycle.registration.register`
applied to many complaints in one transaction, written with one executemany per table.

Per batch: validate each registration with `registration.validate` (same rules, same error
messages), skip rows whose `external_ref` is already stored (re-runs import nothing twice),
encrypt the parties through the vault, start the clocks with `states.deadlines.apply_clock`,
then insert parties, complaints, deadlines and the `register` events with ids allocated up
front (so the complaint number needs no second write). After the insert, the rows that may
be repeats (their complainant has another complaint inside the `[repeat]` window) and the
rows that escalate on arrival (舆情 / 重大 / 监管转办) go through issue 4's and issue 6's own
functions (`escalation.escalate_on_arrival`, `repeats.on_registered`), in receipt order, so
import and `tousu register` cannot drift apart.

History stays history: a row that carries its handling times (`History`: accepted, decision
notified, closed) is stored in the state those times reached, its clocks ended at those times
(met, or met late = breached, by `met_at` against `due_at`), with one event per step and no
escalation. An imported case still open whose ladder levels already passed gets those levels
recorded as covered by the import (escalation rows, outcome `imported`) so the sweep does not
fire them one by one; the run tells the supervisors once (`tell_overdue`) which are overdue.

No row stops the file: a batch that fails unexpectedly is rolled back to its savepoint and its
rows registered one by one, each failing row becoming a reject with the reason.

Must not import cli/, flows/ or notifications/.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from services.automatic import alerts, escalation, repeats
from services.context import Context
from services.lifecycle import registration
from services.lifecycle.registration import Registration
from states import lifecycle as lc
from states.deadlines import RUNNING, apply_clock
from storage import records
from storage.records import COMPLAINT
from storage.rows import UserRow
from storage.timeutil import from_db, to_db, utcnow

PARTY = registration.PARTY
log = logging.getLogger("tousu.import")


@dataclass
class Problem:
    """One bad field of one row: where (line, column), what was read, and why (zh-CN)."""

    line: int
    column: str
    field: str
    value: str
    reason: str


@dataclass
class History:
    """When an imported complaint's handling steps happened (None: not given)."""

    accepted_at: datetime | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass
class Item:
    """A row to register: its line, the registration, the complainant key when the mapping
    decides it (None: the registration's own key), and its history."""

    line: int
    registration: Registration
    key: str | None = None
    history: History | None = None


@dataclass
class OverdueList:
    """Open imported complaints past a deadline: how many, and the first `limit` of them."""

    limit: int = 50
    count: int = 0
    cases: list[dict[str, str]] = field(default_factory=list)

    def add(self, entry: dict[str, str]) -> None:
        self.count += 1
        if len(self.cases) < self.limit:
            self.cases.append(entry)


@dataclass
class BatchResult:
    imported: list[str] = field(default_factory=list)
    existing: int = 0
    rejected: list[Problem] = field(default_factory=list)
    merged: int = 0
    linked: int = 0
    escalated: int = 0
    finished: int = 0
    overdue: list[dict[str, str]] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        self.imported += other.imported
        self.existing += other.existing
        self.rejected += other.rejected
        self.merged += other.merged
        self.linked += other.linked
        self.escalated += other.escalated
        self.finished += other.finished
        self.overdue += other.overdue


def _allocate(conn: Connection, table: Any, n: int) -> list[int]:
    """n new primary keys. SQLite: the write lock (BEGIN IMMEDIATE) is held, so max+1 is ours;
    PostgreSQL: taken from the table's sequence."""
    if n == 0:
        return []
    if conn.dialect.name == "sqlite":
        top = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar() or 0)
        return list(range(top + 1, top + n + 1))
    seq = f"{table.name}_id_seq"
    return [
        int(r[0])
        for r in conn.execute(
            text(f"SELECT nextval('{seq}') FROM generate_series(1, :n)"), {"n": n}
        )
    ]


def check_actor(ctx: Context, actor: str) -> UserRow:
    with ctx.engine.connect() as conn:
        user = records.load_user(conn, actor)
    registration.check_registrar(user)
    return user


def count_stored(ctx: Context, refs: Sequence[str | None]) -> int:
    """How many of these external refs are already stored (for a dry run)."""
    with ctx.engine.connect() as conn:
        return len(_stored(conn, [r for r in refs if r]))


def _stored(conn: Connection, refs: list[str]) -> set[str]:
    stored: set[str] = set()
    for i in range(0, len(refs), 500):
        stored |= {
            r[0]
            for r in conn.execute(
                select(records.COMPLAINT.c.external_ref).where(
                    records.COMPLAINT.c.external_ref.in_(refs[i : i + 500])
                )
            )
        }
    return stored


def register_batch(
    ctx: Context,
    items: Sequence[Item | tuple[int, Registration]],
    *,
    user: UserRow,
    escalate: bool = True,
    now: datetime | None = None,
    overdue: OverdueList | None = None,
    validate: bool = True,
) -> BatchResult:
    """Register one batch in one transaction. `validate=False` when the caller has already
    run `registration.problems` on every item (bulk import does, to report rows whole)."""
    now = now or utcnow()
    out = BatchResult()
    good: list[Item] = []
    seen: set[str] = set()
    for it in items:
        item = it if isinstance(it, Item) else Item(it[0], it[1])
        reg = item.registration
        if validate:
            found = registration.problems(ctx, reg, now)
            if found:
                out.rejected += [Problem(item.line, "", e.field, "", e.reason) for e in found]
                continue
        if reg.external_ref in seen:
            out.rejected.append(
                Problem(item.line, "", "external_ref", reg.external_ref or "", _DUPLICATE)
            )
            continue
        if reg.external_ref:
            seen.add(reg.external_ref)
        good.append(item)
    with ctx.engine.begin() as conn:
        stored = _stored(
            conn, [i.registration.external_ref for i in good if i.registration.external_ref]
        )
        fresh = [i for i in good if i.registration.external_ref not in stored]
        out.existing = len(good) - len(fresh)
        if fresh:
            try:
                with conn.begin_nested():
                    part = BatchResult()
                    _insert(ctx, fresh, user, now, part, escalate, conn=conn)
                out.add(part)
            except Exception:
                # Kept for the log file: the user reads the reason in the rejects file (an
                # ERROR record would reach the terminal with its traceback).
                log.info("import batch failed; registering its rows one by one", exc_info=True)
                for item in fresh:
                    out.add(_one(ctx, item, user, now, escalate, conn=conn))
    if overdue is not None:
        for entry in out.overdue:
            overdue.add(entry)
    return out


def _one(
    ctx: Context, item: Item, user: UserRow, now: datetime, escalate: bool, *, conn: Connection
) -> BatchResult:
    """One row in its own savepoint: its unexpected failure becomes its reject."""
    part = BatchResult()
    try:
        with conn.begin_nested():
            _insert(ctx, [item], user, now, part, escalate, conn=conn)
    except Exception as exc:
        log.info("import row %s failed", item.line, exc_info=True)
        return BatchResult(
            rejected=[Problem(item.line, "", "", "", f"意外错误: {type(exc).__name__}: {exc}")]
        )
    return part


def _insert(
    ctx: Context,
    fresh: list[Item],
    user: UserRow,
    now: datetime,
    out: BatchResult,
    escalate: bool,
    *,
    conn: Connection,
) -> None:
    n_agents = sum(1 for i in fresh if i.registration.agent is not None)
    party_ids = iter(_allocate(conn, PARTY, len(fresh) + n_agents))
    case_ids = _allocate(conn, records.COMPLAINT, len(fresh))
    party_rows, case_rows, deadline_rows, event_rows = [], [], [], []
    marks: list[dict[str, Any]] = []
    institutions: dict[tuple[str, str], int | None] = {}
    labels = {name: rule.label for name, rule in ctx.config.deadlines.items()}
    for item, cid in zip(fresh, case_ids, strict=True):
        reg = item.registration
        received = reg.received_at or now
        prow = registration.party_row(ctx, reg.complainant, now)
        prow["id"] = complainant_id = next(party_ids)
        party_rows.append(prow)
        agent_id = None
        if reg.agent is not None:
            arow = registration.party_row(ctx, reg.agent, now)
            arow["id"] = agent_id = next(party_ids)
            party_rows.append(arow)
        inst = (reg.institution or "", reg.branch)
        if inst not in institutions:
            institutions[inst] = registration.find_institution(conn, reg.institution, reg.branch)
        number = registration.number_for(ctx, received, cid)
        row: dict[str, Any] = {
            "id": cid,
            "number": number,
            **registration.case_row(
                ctx,
                reg,
                user=user,
                now=now,
                complainant_id=complainant_id,
                agent_id=agent_id,
                institution_id=institutions[inst],
            ),
        }
        if item.key is not None:
            row["complainant_hash"] = item.key
        clocks: dict[str, Any] = {}
        apply_clock(ctx.clock, "registered", clocks, received, case=row, fields={})
        event_rows.append(
            {
                "complaint_id": cid,
                "seq": 1,
                "action": "register",
                "from_state": None,
                "to_state": lc.State.registered.value,
                "actor": user["username"],
                "role": user["role"],
                "at": to_db(received),
                "recorded_at": to_db(now),
                "reason": None,
                "details": registration.public_details(reg),
            }
        )
        if item.history is not None:
            event_rows += _history(ctx, row, clocks, item.history, user, now)
            out.finished += lc.State(row["state"]) in _HANDLED
        case_rows.append(row)
        late: list[Any] = []
        for dl in clocks.values():
            values = records.deadline_values(dl)
            if dl.status == RUNNING:
                values["next_check_at"] = _covered(dl, row, now, marks)
                if dl.due_at is not None and dl.due_at <= now:
                    late.append(dl)
            deadline_rows.append({"complaint_id": cid, "name": dl.name, **values})
        if late:
            first = min(late, key=lambda dl: dl.due_at)
            out.overdue.append(
                {
                    "number": number,
                    "deadlines": "、".join(labels.get(dl.name, dl.name) for dl in late),
                    "due": first.due_at.isoformat(),
                }
            )
        out.imported.append(number)
    conn.execute(insert(PARTY), party_rows)
    conn.execute(insert(records.COMPLAINT), case_rows)
    conn.execute(insert(records.DEADLINE), deadline_rows)
    conn.execute(insert(records.EVENT), event_rows)
    if marks:
        conn.execute(insert(alerts.ESCALATION), marks)
    fresh_cases = [r for r in case_rows if r["state"] == lc.State.registered.value]
    if escalate:
        for row in case_rows:
            if lc.State(row["state"]) not in _HANDLED:
                out.escalated += escalation.escalate_on_arrival(ctx, row["id"], row, conn=conn)
    _repeats(ctx, fresh_cases, user, out, conn=conn)


_DUPLICATE = "文件内重复的记录(与前面某行相同)"
# States an imported history may reach that need no more handling (no escalation, no clocks).
_HANDLED = frozenset({lc.State.notified, lc.State.closed})


def _history(
    ctx: Context,
    row: dict[str, Any],
    clocks: dict[str, Any],
    h: History,
    user: UserRow,
    now: datetime,
) -> list[dict[str, Any]]:
    """Apply an imported case's handling history at its own times: clocks ended (met at
    the step's time; late is a breach), the case's columns and state, one event per step.
    A decision time defaults to the closing time (a case closed was answered)."""
    steps: list[tuple[str, str, datetime]] = []
    if h.accepted_at is not None:
        apply_clock(ctx.clock, "accepted", clocks, h.accepted_at, case=row, fields={})
        row["accepted_at"] = to_db(h.accepted_at)
        steps.append(("accept", lc.State.accepted.value, h.accepted_at))
    decided = h.decided_at or h.closed_at
    if decided is not None:
        apply_clock(ctx.clock, "notified", clocks, decided, case=row, fields={})
        row["decided_at"] = row["notified_at"] = to_db(decided)
        steps.append(("notify", lc.State.notified.value, decided))
    if h.closed_at is not None:
        apply_clock(ctx.clock, "closed", clocks, h.closed_at, case=row, fields={})
        row["closed_at"] = to_db(h.closed_at)
        steps.append(("close", lc.State.closed.value, h.closed_at))
    events = []
    state = row["state"]
    for seq, (action, to_state, at) in enumerate(steps, start=2):
        events.append(
            {
                "complaint_id": row["id"],
                "seq": seq,
                "action": action,
                "from_state": state,
                "to_state": to_state,
                "actor": user["username"],
                "role": user["role"],
                "at": to_db(at),
                "recorded_at": to_db(now),
                "reason": "历史数据导入",
                "details": {"imported": True},
            }
        )
        state = to_state
    if steps:
        row["state"] = state
        row["event_count"] = row["version"] = 1 + len(steps)
        row["last_event_at"] = to_db(steps[-1][2])
    return events


def _covered(dl: Any, row: dict[str, Any], now: datetime, marks: list[dict[str, Any]]) -> Any:
    """An imported case's ladder levels already past at import: recorded as covered by the
    import's summary alert (never fired one by one); returns the next check time."""
    cycle = alerts.cycle_of(dl.started_at, dl.allowance)
    ahead = []
    for w in dl.warnings:
        at = datetime.fromisoformat(w["at"])
        if at > now:
            ahead.append(at)
            continue
        marks.append(
            {
                "complaint_id": row["id"],
                "deadline_name": dl.name,
                "level": w["level"],
                "cycle": cycle,
                "rank": 0,
                "audience": "",
                "due_at": to_db(dl.due_at),
                "fired_at": to_db(now),
                "outcome": "imported",
            }
        )
    return to_db(min(ahead)) if ahead else None


def settings(ctx: Context) -> dict[str, Any]:
    """`[import]` in config/tousu.toml."""
    raw = ctx.config.section("import")
    return {
        "overdue_audience": str(raw.get("overdue_audience", "role:supervisor")),
        "overdue_list_limit": int(raw.get("overdue_list_limit", 50)),
    }


def tell_overdue(ctx: Context, overdue: OverdueList, *, source: str, now: datetime) -> bool:
    """One alert to the supervisors ([import] overdue_audience) listing the open imported
    complaints already past a deadline (the first `overdue_list_limit` of them)."""
    audience = settings(ctx)["overdue_audience"]
    with ctx.engine.begin() as conn:
        return records.enqueue_alert(
            conn,
            dedupe_key=f"import-overdue:{source}:{now.isoformat()}",
            kind="import_overdue",
            audience=audience,
            complaint_id=None,
            event_id=None,
            payload={
                "title": f"历史导入: {overdue.count} 项期限已逾期的在办投诉",
                "source": source,
                "overdue": overdue.count,
                "cases": overdue.cases,
            },
            urgent=False,
            now=now,
        )


def _repeats(
    ctx: Context,
    rows: list[dict[str, Any]],
    user: UserRow,
    out: BatchResult,
    *,
    conn: Connection,
) -> None:
    """Repeat detection for the rows whose complainant has another complaint in the window:
    one indexed look-up per batch, then issue 6's rule for each candidate in receipt order."""
    window = timedelta(days=ctx.config.repeat.window_days + 1)
    keys = list({r["complainant_hash"] for r in rows if r["complainant_hash"]})
    if not keys:
        return
    start = min(r["received_at"] for r in rows) - window
    end = max(r["received_at"] for r in rows)
    # The earliest receipt per complainant in the window: only a later complaint can repeat,
    # or one received at that same instant when the complainant has several (stable order:
    # receipt, then id).
    first: dict[str, Any] = {}
    several: set[str] = set()
    for i in range(0, len(keys), 500):
        for key, earliest, n in conn.execute(
            select(
                COMPLAINT.c.complainant_hash,
                func.min(COMPLAINT.c.received_at),
                func.count(),
            )
            .where(
                COMPLAINT.c.complainant_hash.in_(keys[i : i + 500]),
                COMPLAINT.c.received_at >= start,
                COMPLAINT.c.received_at <= end,
            )
            .group_by(COMPLAINT.c.complainant_hash)
        ):
            first[key] = from_db(earliest)
            if n > 1:
                several.add(key)
    candidates = sorted(
        (
            r
            for r in rows
            if r["complainant_hash"] in first
            and (
                r["received_at"] > first[r["complainant_hash"]] or r["complainant_hash"] in several
            )
        ),
        key=lambda r: (r["received_at"], r["id"]),
    )
    for row in candidates:
        outcome = repeats.on_registered(ctx, row["id"], conn=conn, actor=user["username"], row=row)
        out.merged += outcome.kind == "merged"
        out.linked += outcome.kind == "linked"
