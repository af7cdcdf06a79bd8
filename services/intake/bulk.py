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

Must not import cli/, flows/ or notifications/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from services.automatic import escalation, repeats
from services.context import Context
from services.lifecycle import registration
from services.lifecycle.registration import Registration
from states import lifecycle as lc
from states.deadlines import apply_clock
from states.errors import InvalidInput
from storage import records
from storage.records import COMPLAINT
from storage.rows import UserRow
from storage.timeutil import from_db, to_db, utcnow

PARTY = registration.PARTY


@dataclass
class Rejected:
    line: int
    field: str
    reason: str


@dataclass
class BatchResult:
    imported: list[str] = field(default_factory=list)
    existing: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    merged: int = 0
    linked: int = 0
    escalated: int = 0


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


def register_batch(
    ctx: Context,
    items: Sequence[tuple[int, Registration]],
    *,
    user: UserRow,
    escalate: bool = True,
) -> BatchResult:
    """Register one batch of (source line, registration) in one transaction."""
    now = utcnow()
    out = BatchResult()
    good: list[tuple[int, Registration]] = []
    seen: set[str] = set()
    for line, reg in items:
        try:
            registration.validate(ctx, reg, now)
        except InvalidInput as exc:
            out.rejected.append(Rejected(line, exc.field, exc.reason))
            continue
        if reg.external_ref in seen:
            out.rejected.append(Rejected(line, "external_ref", "文件内重复的记录(与前面某行相同)"))
            continue
        if reg.external_ref:
            seen.add(reg.external_ref)
        good.append((line, reg))
    with ctx.engine.begin() as conn:
        refs = [r.external_ref for _, r in good if r.external_ref]
        stored = set()
        for i in range(0, len(refs), 500):
            stored |= {
                r[0]
                for r in conn.execute(
                    select(records.COMPLAINT.c.external_ref).where(
                        records.COMPLAINT.c.external_ref.in_(refs[i : i + 500])
                    )
                )
            }
        fresh = [(line, r) for line, r in good if r.external_ref not in stored]
        out.existing = len(good) - len(fresh)
        if fresh:
            _insert(ctx, fresh, user, now, out, escalate, conn=conn)
    return out


def _insert(
    ctx: Context,
    fresh: list[tuple[int, Registration]],
    user: UserRow,
    now: datetime,
    out: BatchResult,
    escalate: bool,
    *,
    conn: Connection,
) -> None:
    n_agents = sum(1 for _, r in fresh if r.agent is not None)
    party_ids = iter(_allocate(conn, PARTY, len(fresh) + n_agents))
    case_ids = _allocate(conn, records.COMPLAINT, len(fresh))
    party_rows, case_rows, deadline_rows, event_rows = [], [], [], []
    institutions: dict[tuple[str, str], int | None] = {}
    for (_, reg), cid in zip(fresh, case_ids, strict=True):
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
        case_rows.append(row)
        clocks: dict[str, Any] = {}
        apply_clock(ctx.clock, "registered", clocks, received, case=row, fields={})
        for dl in clocks.values():
            deadline_rows.append(
                {"complaint_id": cid, "name": dl.name, **records.deadline_values(dl)}
            )
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
        out.imported.append(number)
    conn.execute(insert(PARTY), party_rows)
    conn.execute(insert(records.COMPLAINT), case_rows)
    conn.execute(insert(records.DEADLINE), deadline_rows)
    conn.execute(insert(records.EVENT), event_rows)
    if escalate:
        for row in case_rows:
            out.escalated += escalation.escalate_on_arrival(ctx, row["id"], row, conn=conn)
    _repeats(ctx, case_rows, user, out, conn=conn)


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
    # The earliest receipt per complainant in the window: only a later complaint can repeat.
    first: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        for key, earliest in conn.execute(
            select(COMPLAINT.c.complainant_hash, func.min(COMPLAINT.c.received_at))
            .where(
                COMPLAINT.c.complainant_hash.in_(keys[i : i + 500]),
                COMPLAINT.c.received_at >= start,
                COMPLAINT.c.received_at <= end,
            )
            .group_by(COMPLAINT.c.complainant_hash)
        ):
            first[key] = from_db(earliest)
    candidates = sorted(
        (
            r
            for r in rows
            if r["complainant_hash"] in first and r["received_at"] > first[r["complainant_hash"]]
        ),
        key=lambda r: (r["received_at"], r["id"]),
    )
    for row in candidates:
        outcome = repeats.on_registered(ctx, row["id"], conn=conn, actor=user["username"])
        out.merged += outcome.kind == "merged"
        out.linked += outcome.kind == "linked"
