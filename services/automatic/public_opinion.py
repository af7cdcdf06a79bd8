"""The 舆情 plan (docs/rules.md §4): a complaint found to involve the media starts the
public-opinion contingency plan at once. Owns the plan's task (the risk assessment by the upper
management team, `opinion_task`: owner, outcome) and its start; the immediate escalation
itself is services/automatic/escalation.py's (`[escalation_immediate.media]`).

Started by the `report_media` action (`tousu media`) and by a registration that already names
media involvement; the outcome is recorded by the `assess_opinion` action (`tousu opinion`,
services/lifecycle/effects.py). Settings: `[public_opinion]`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from services.automatic import escalation
from services.context import Context
from services.lifecycle import events
from storage import records
from storage.public_opinion import OpinionTask
from storage.schema import table_of
from storage.timeutil import to_db

OPINION_TASK = table_of(OpinionTask)


def default_assessor(ctx: Context) -> str | None:
    """`[public_opinion] assessor`: who owns the risk assessment when no one is named."""
    return str(ctx.config.section("public_opinion").get("assessor") or "") or None


def start_plan(
    ctx: Context,
    complaint_id: int,
    *,
    conn: Connection,
    actor: str,
    at: datetime,
    assessor: str | None,
    source: str | None,
) -> int | None:
    """Open the risk-assessment task (once per complaint) and escalate at once. Returns the
    task id, or None when the plan was already started."""
    exists = conn.execute(
        select(OPINION_TASK.c.id).where(OPINION_TASK.c.complaint_id == complaint_id)
    ).first()
    if exists is not None:
        return None
    task_id = records.inserted_id(
        conn.execute(
            insert(OPINION_TASK).values(
                complaint_id=complaint_id,
                kind="risk_assessment",
                owner=assessor or default_assessor(ctx),
                status="open",
                source=source,
                opened_at=to_db(at),
                opened_by=actor,
            )
        )
    )
    escalation.escalate_on_arrival(ctx, complaint_id, conn=conn)
    return task_id


def tasks_of(conn: Connection, complaint_id: int) -> list[dict[str, Any]]:
    """The plan's tasks of one complaint, oldest first."""
    return [
        dict(r)
        for r in conn.execute(
            select(OPINION_TASK)
            .where(OPINION_TASK.c.complaint_id == complaint_id)
            .order_by(OPINION_TASK.c.id)
        ).mappings()
    ]


@events.subscribe("start_opinion_plan")
def _on_media_reported(event: events.ActionTaken) -> None:
    start_plan(
        event.ctx,
        event.case["id"],
        conn=event.conn,
        actor=event.actor,
        at=event.at,
        assessor=event.fields.get("assessor"),
        source=event.fields.get("source"),
    )


@events.subscribe("opinion_plan_on_arrival")
def _on_registered(event: events.CaseRegistered) -> None:
    if not event.row["media_involved"]:
        return
    start_plan(
        event.ctx,
        event.complaint_id,
        conn=event.conn,
        actor=event.actor,
        at=event.row["received_at"],
        assessor=None,
        source="登记时已涉及舆情",
    )
