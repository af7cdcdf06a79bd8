"""The deadline sweep and immediate escalation, without Prefect, on SQLite and PostgreSQL.

Every case is built relative to the suite's `now` (tests/conftest.py) and each expectation
holds at any instant: run with `--clock` to try another."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.automatic import escalation
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle import queries
from services.lifecycle.registration import Person
from storage import records
from storage.escalation import Escalation
from storage.timeutil import from_db
from tests import factories as f

pytestmark = pytest.mark.clock

ESCALATION = Escalation.__table__  # type: ignore[attr-defined]


def _rows(ctx: Context, table: Any, **where: Any) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        q = select(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return [dict(r) for r in conn.execute(q.order_by(table.c.id)).mappings()]


def _escalate_events(ctx: Context, number: str) -> list[dict[str, Any]]:
    return [e for e in queries.get_complaint(ctx, number)["events"] if e["action"] == "escalate"]


def test_a_breached_acceptance_escalates_once_to_the_department_head(
    any_ctx: Context, now: datetime
) -> None:
    ctx = any_ctx
    number = f.registered(ctx, now - timedelta(hours=30))

    first = escalation.sweep(ctx)
    again = escalation.sweep(ctx)

    assert (first.escalated, first.superseded, again.escalated) == (1, 2, 0)
    fired = {r["level"]: r["outcome"] for r in _rows(ctx, ESCALATION)}
    assert fired == {"breach": "acted", "warn_50": "superseded", "warn_80": "superseded"}
    [event] = _escalate_events(ctx, number)
    assert (event["actor"], event["role"], event["details"]["deadline"]) == (
        "system",
        "system",
        "acceptance",
    )
    [alert] = _rows(ctx, records.OUTBOX, kind="escalation")
    assert alert["audience"] == "role:department_head" and alert["urgent"]
    assert alert["payload"]["number"] == number and alert["payload"]["level"] == 3
    assert alert["event_id"] == event["id"]
    case = queries.get_complaint(ctx, number)["case"]
    assert case["escalation_level"] == 3
    # The next check is the committee level, 3 days after the breach: nothing due before it.
    acceptance = [d for d in _rows(ctx, records.DEADLINE) if d["name"] == "acceptance"][0]
    assert from_db(acceptance["next_check_at"]) == from_db(acceptance["due_at"]) + timedelta(days=3)


def test_levels_fire_in_turn_as_the_deadline_runs(ctx: Context, now: datetime) -> None:
    received = now - timedelta(days=4)
    number = f.accepted(ctx, received)
    # The internal target (7 days) ends at 24:00 local time (Art. 43), so its 50% and 80%
    # points depend on the hour the case came in: take them from the deadline arithmetic.
    target = ctx.clock.start("internal_target", received)
    at = {w["level"]: datetime.fromisoformat(w["at"]) for w in target.warnings}
    assert received + timedelta(days=3.5) < at["warn_50"] < at["warn_80"] < target.due_at  # type: ignore[operator]

    def fired() -> list[str]:
        return [
            r["level"]
            for r in _rows(ctx, ESCALATION, outcome="acted", deadline_name="internal_target")
        ]

    escalation.sweep(ctx, now=at["warn_50"] - timedelta(seconds=1))
    assert fired() == []
    escalation.sweep(ctx, now=at["warn_50"])
    assert fired() == ["warn_50"]
    escalation.sweep(ctx, now=at["warn_80"] - timedelta(seconds=1))
    assert fired() == ["warn_50"]
    later = escalation.sweep(ctx, now=at["warn_80"])
    assert fired() == ["warn_50", "warn_80"] and later.by_level["warn_80"] >= 1
    assert len(_escalate_events(ctx, number)) == len(_rows(ctx, ESCALATION, outcome="acted"))


def test_closed_complaints_are_never_claimed(ctx: Context, now: datetime) -> None:
    received = now - timedelta(days=40)
    number = f.notified(ctx, received)
    a.close(
        ctx,
        number,
        actor="liaison",
        **f.ANALYSIS,
        root_cause="流程",
        at=received + timedelta(days=3),
    )

    assert escalation.due_count(ctx) == 0
    assert escalation.sweep(ctx).claimed == 0


def test_a_crashed_sweep_leaves_everything_for_the_next_one(ctx: Context, now: datetime) -> None:
    f.registered(ctx, now - timedelta(hours=30))
    with pytest.raises(RuntimeError), ctx.engine.begin() as conn:
        escalation.sweep_batch(ctx, conn=conn, now=now, size=10, exclude=set())
        raise RuntimeError("worker killed")
    assert _rows(ctx, ESCALATION) == [] and _rows(ctx, records.OUTBOX) == []

    assert escalation.sweep(ctx).escalated == 1


def test_a_pause_and_resume_do_not_fire_a_level_twice(ctx: Context, now: datetime) -> None:
    received = now - timedelta(days=8)
    number = f.accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    escalation.sweep(ctx)
    before = len(_escalate_events(ctx, number))
    a.mediate(ctx, number, actor="liaison", channel="industry", organisation="调解中心")
    assert escalation.due_count(ctx) == 0  # the paused clocks are not swept
    a.end_mediation(ctx, number, actor="liaison", result="调解未成")

    assert escalation.sweep(ctx).escalated == 0
    assert len(_escalate_events(ctx, number)) == before


def test_a_major_case_is_also_sent_to_the_committee(ctx: Context, now: datetime) -> None:
    number = f.accepted(ctx, now - timedelta(days=4), amount=2_000_000.0)
    escalation.sweep(ctx)  # the internal target's 50% (3.5 to 4 days, to 24:00) has passed
    audiences = {r["audience"] for r in _rows(ctx, records.OUTBOX, kind="escalation")}
    assert {"role:handler", "role:committee"} <= audiences
    assert queries.get_complaint(ctx, number)["case"]["priority"] == "major"


def test_a_media_complaint_escalates_at_registration(any_ctx: Context, now: datetime) -> None:
    number = f.registered(any_ctx, now - timedelta(hours=1), media_involved=True)

    [event] = _escalate_events(any_ctx, number)
    assert "舆情" in event["reason"] and event["details"]["trigger"] == "media"
    audiences = {r["audience"] for r in _rows(any_ctx, records.OUTBOX, kind="immediate_escalation")}
    assert audiences == {"role:senior_management", "role:public_opinion"}
    assert queries.get_complaint(any_ctx, number)["case"]["escalation_level"] == 3


def test_a_regulator_forwarded_complaint_escalates_at_registration(
    ctx: Context, now: datetime
) -> None:
    number = f.registered(
        ctx, now - timedelta(hours=1), channel="regulator", regulator_ref="12378-2026-001"
    )
    [event] = _escalate_events(ctx, number)
    assert event["details"]["trigger"] == "regulator"


def test_acceptance_as_major_escalates_at_once_and_keeps_the_returned_version(
    ctx: Context, now: datetime
) -> None:
    received = now - timedelta(hours=3)
    number = f.registered(ctx, received)
    result = a.accept(
        ctx,
        number,
        actor="clerk",
        category="claims",
        product="medical",
        owner="liaison",
        priority="major",
        priority_reason="群体事件",
    )

    [event] = _escalate_events(ctx, number)
    assert event["details"]["trigger"] == "major"
    assert {r["audience"] for r in _rows(ctx, records.OUTBOX)} >= {"role:committee"}
    a.investigate(ctx, number, actor="liaison", expected_version=result.version)


def test_a_major_complaint_escalates_once_although_seen_at_registration_and_acceptance(
    ctx: Context, now: datetime
) -> None:
    received = now - timedelta(hours=3)
    number = f.accepted(ctx, received, group_size=25)
    assert [e["details"]["trigger"] for e in _escalate_events(ctx, number)] == ["major"]


def _seed_due(ctx: Context, n: int, now: datetime) -> list[str]:
    """n unrelated complaints (distinct complainants and policies: no repeat merging)."""
    start = now - timedelta(hours=30)
    return [
        f.registered(
            ctx,
            start + timedelta(seconds=i),
            policy_no=f"P2026{i:06d}",
            complainant=Person(name=f"投诉人{i}", phone=f"139{i:08d}"),
        )
        for i in range(n)
    ]


def _two_sweeps_at_once(ctx: Context, now: datetime) -> None:
    numbers = _seed_due(ctx, 40, now)
    results: list[escalation.SweepResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(escalation.sweep(ctx, batch=5))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    results.append(escalation.sweep(ctx))  # anything skipped because the other held it

    with ctx.engine.connect() as conn:
        acted = conn.execute(
            select(ESCALATION.c.complaint_id, ESCALATION.c.deadline_name, ESCALATION.c.level).where(
                ESCALATION.c.outcome == "acted"
            )
        ).all()
        events = conn.execute(
            select(func.count())
            .select_from(records.EVENT)
            .where(records.EVENT.c.action == "escalate")
        ).scalar()
        alerts = conn.execute(select(func.count()).select_from(records.OUTBOX)).scalar()
    assert len(acted) == len(set(acted)) == len(numbers)  # each acted on exactly once
    assert events == alerts == len(numbers)
    assert sum(r.escalated for r in results) == len(numbers)


def test_two_sweeps_at_once_never_act_on_an_item_twice(any_ctx: Context, now: datetime) -> None:
    _two_sweeps_at_once(any_ctx, now)


def test_a_complaint_designated_major_at_registration_is_accepted_as_major(
    ctx: Context, now: datetime
) -> None:
    # Art. 29: designated by the regulator or caused by a major disaster; the designation is
    # kept on the case and acceptance's priority assessment must see it.
    number = f.accepted(ctx, now - timedelta(hours=3), major_designated=True)
    case = queries.get_complaint(ctx, number)["case"]
    assert case["priority"] == "major"
    assert any("第二十九条" in why for why in case["priority_reasons"])
    assert [e["details"]["trigger"] for e in _escalate_events(ctx, number)] == ["major"]
