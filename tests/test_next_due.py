"""`complaint.next_due_at` is always the nearest running deadline (SQLite and PostgreSQL).

The database keeps it (migrations/versions/0023_next_due.py); the work queue's order and the
dashboard's overdue and due-today counts read nothing else, so a stale value would hide an
overdue case. Checked after every lifecycle step that starts, pauses, extends, restarts or
ends a clock, and after a long seeded run of raw inserts, updates and deletes."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update

from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle import queries
from services.lifecycle.registration import Person
from storage.records import COMPLAINT, DEADLINE
from storage.timeutil import from_db
from tests.factories import ANALYSIS, accepted, cst, notified, registered


def _mismatches(ctx: Context) -> list[tuple[Any, ...]]:
    """(complaint id, kept value, recomputed value) wherever the two differ."""
    nearest = (
        select(func.min(DEADLINE.c.due_at))
        .where(DEADLINE.c.complaint_id == COMPLAINT.c.id, DEADLINE.c.status == "running")
        .scalar_subquery()
    )
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(COMPLAINT.c.id, COMPLAINT.c.next_due_at, nearest)).all()
    return [tuple(r) for r in rows if _at(r[1]) != _at(r[2])]


def _at(value: Any) -> datetime | None:
    return from_db(value) if value is not None else None


def _id(ctx: Context, number: str) -> int:
    with ctx.engine.connect() as conn:
        return int(
            conn.execute(select(COMPLAINT.c.id).where(COMPLAINT.c.number == number)).scalar_one()
        )


def _person(i: int) -> Person:
    """A complainant of their own (one person's second complaint would be merged as a repeat)."""
    return Person(name=f"投诉人{i}", phone=f"1390000{i:04d}")


def _kept(ctx: Context, number: str) -> datetime | None:
    with ctx.engine.connect() as conn:
        value = conn.execute(
            select(COMPLAINT.c.next_due_at).where(COMPLAINT.c.number == number)
        ).scalar_one()
    return _at(value)


def _running(ctx: Context, number: str) -> dict[str, datetime]:
    return {
        d["name"]: d["due"] for d in queries.deadlines_of(ctx, number) if d["status"] == "running"
    }


def test_every_lifecycle_step_leaves_the_nearest_running_deadline_on_the_complaint(
    any_ctx: Context,
) -> None:
    ctx = any_ctx
    number = registered(ctx, cst(2026, 3, 2, 9), complainant=_person(1))
    assert _kept(ctx, number) == min(_running(ctx, number).values())
    a.accept(
        ctx,
        number,
        actor="clerk",
        category="claims",
        product="medical",
        owner="liaison",
        at=cst(2026, 3, 2, 11),
    )
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 12))
    assert _kept(ctx, number) == min(_running(ctx, number).values())
    # Mediation pauses the decision clock: the nearest is what still runs, or nothing.
    a.mediate(
        ctx,
        number,
        actor="liaison",
        channel="industry",
        organisation="北京保险行业协会调解委员会",
        at=cst(2026, 3, 3, 12),
    )
    running = _running(ctx, number)
    assert "decision" not in running
    assert _kept(ctx, number) == (min(running.values()) if running else None)
    a.end_mediation(ctx, number, actor="liaison", result="调解未达成", at=cst(2026, 3, 13, 12))
    assert _kept(ctx, number) == min(_running(ctx, number).values())
    a.extend(ctx, number, actor="liaison", reason="案情复杂", to=30, at=cst(2026, 3, 14))
    assert _kept(ctx, number) == min(_running(ctx, number).values())
    assert _mismatches(ctx) == []

    done = notified(ctx, cst(2026, 3, 2, 9))
    a.close(ctx, done, actor="liaison", **ANALYSIS, root_cause="时效", at=cst(2026, 3, 6, 9))
    assert _running(ctx, done) == {} and _kept(ctx, done) is None
    assert _mismatches(ctx) == []


def _deadline(cid: int, name: str, status: str, due: datetime) -> dict[str, Any]:
    return {
        "complaint_id": cid,
        "name": name,
        "status": status,
        "started_at": due - timedelta(days=15),
        "allowance": 15,
        "paused_seconds": 0,
        "due_at": due,
        "warnings": [],
        "verified": True,
        "rule": "test",
    }


def test_raw_inserts_updates_and_deletes_of_deadlines_keep_it_exact(any_ctx: Context) -> None:
    """Whatever writes `deadline` (a bulk load, a repair in SQL), in a seeded random order:
    statuses in and out of running, due times moved, rows moved between complaints,
    several rows in one statement, deletions."""
    ctx = any_ctx
    ids = []
    for day in (2, 3, 4):
        ids.append(_id(ctx, accepted(ctx, cst(2026, 3, day, 9), complainant=_person(day))))
    rnd = random.Random(20261201)
    base = datetime(2026, 4, 1, tzinfo=UTC)
    statuses = ("running", "running", "paused", "met", "stopped")
    for step in range(300):
        with ctx.engine.begin() as conn:
            rows = conn.execute(select(DEADLINE.c.id, DEADLINE.c.complaint_id)).all()
            pick = rnd.random()
            if pick < 0.3 or not rows:
                cid = rnd.choice(ids)
                due = base + timedelta(hours=rnd.randrange(0, 2000))
                conn.execute(
                    insert(DEADLINE).values(_deadline(cid, f"t{step}", rnd.choice(statuses), due))
                )
            elif pick < 0.55:
                row = rnd.choice(rows)
                due = base + timedelta(hours=rnd.randrange(0, 2000))
                conn.execute(update(DEADLINE).where(DEADLINE.c.id == row.id).values(due_at=due))
            elif pick < 0.75:
                row = rnd.choice(rows)
                conn.execute(
                    update(DEADLINE)
                    .where(DEADLINE.c.id == row.id)
                    .values(status=rnd.choice(statuses))
                )
            elif pick < 0.82:
                row = rnd.choice(rows)
                conn.execute(
                    update(DEADLINE)
                    .where(DEADLINE.c.id == row.id)
                    .values(complaint_id=rnd.choice(ids), name=f"moved{step}")
                )
            elif pick < 0.9:  # every deadline of one complaint in one statement
                conn.execute(
                    update(DEADLINE)
                    .where(DEADLINE.c.complaint_id == rnd.choice(ids))
                    .values(status=rnd.choice(statuses))
                )
            else:
                row = rnd.choice(rows)
                conn.execute(delete(DEADLINE).where(DEADLINE.c.id == row.id))
        assert _mismatches(ctx) == [], f"after step {step}"
    # The run went through every case it means to test.
    with ctx.engine.connect() as conn:
        kept = conn.execute(select(COMPLAINT.c.next_due_at).where(COMPLAINT.c.id.in_(ids))).all()
    assert any(k[0] is not None for k in kept)


def test_changing_what_does_not_move_a_due_time_leaves_the_complaint_row_alone(
    any_ctx: Context,
) -> None:
    """The sweep rewrites warnings and check times on every pass: no complaint write, so
    no version or lock taken on the complaint for it."""
    ctx = any_ctx
    number = accepted(ctx, cst(2026, 3, 2, 9))
    cid = _id(ctx, number)
    with ctx.engine.begin() as conn:
        conn.execute(update(COMPLAINT).where(COMPLAINT.c.id == cid).values(next_due_at=None))
        conn.execute(
            update(DEADLINE)
            .where(DEADLINE.c.complaint_id == cid)
            .values(warnings=[{"level": "warn_50"}], next_check_at=cst(2026, 3, 3))
        )
    # Had the trigger fired, it would have put the nearest due time back.
    assert _kept(ctx, number) is None


def test_on_postgresql_a_change_that_waited_for_the_complaint_sees_what_it_waited_for(
    pg_ctx: Context,
) -> None:
    """READ COMMITTED: a statement that waits for another transaction's lock on the complaint
    keeps the snapshot it began with; the trigger function locks the complaint first and
    counts in a statement of its own, so its minimum includes what the other committed. No
    version compare-and-swap here: the column does not rely on the services' own."""
    ctx = pg_ctx
    number = accepted(ctx, cst(2026, 3, 2, 9))
    cid = _id(ctx, number)
    with ctx.engine.connect() as conn:
        names = (
            conn.execute(
                select(DEADLINE.c.name)
                .where(DEADLINE.c.complaint_id == cid, DEADLINE.c.status == "running")
                .order_by(DEADLINE.c.due_at)
            )
            .scalars()
            .all()
        )
    assert len(names) >= 2
    first, second = names[0], names[1]
    earlier = datetime(2026, 3, 3, tzinfo=UTC)

    def change(conn: Any, name: str, **values: Any) -> None:
        conn.execute(
            update(DEADLINE)
            .where(DEADLINE.c.complaint_id == cid, DEADLINE.c.name == name)
            .values(**values)
        )

    def waiting() -> None:
        # The nearest one stops running, so the nearest would be `second` as it was before
        # the other transaction moved it earlier still.
        with ctx.engine.begin() as conn:
            change(conn, first, status="met")

    holder = ctx.engine.connect()
    tx = holder.begin()
    change(holder, second, due_at=earlier)
    thread = threading.Thread(target=waiting)
    thread.start()
    with ctx.engine.connect() as watch:  # until the other one waits for the complaint's lock
        for _ in range(500):
            waits = watch.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
            if waits:
                break
            time.sleep(0.01)
    assert waits, "the second transaction never waited for the complaint"
    tx.commit()
    holder.close()
    thread.join(30)
    assert not thread.is_alive()
    assert _mismatches(ctx) == []
    assert _kept(ctx, number) == earlier
