"""What every escalation writes, whoever fires it (the sweep, an arrival, a consultation):
the `escalate` event by the system actor, the alert rows in the outbox, and the facts an alert
carries. Shared by services/automatic/escalation.py, consultation.py and mediation.py, so none
of them reaches into another's private names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from services.context import Context
from states import lifecycle as lc
from storage import records
from storage.escalation import Escalation
from storage.rows import ComplaintRow
from storage.schema import table_of
from storage.timeutil import to_db

log = logging.getLogger("tousu.escalation")
ESCALATION = table_of(Escalation)
SYSTEM = "system"
ESCALATE = lc.action("escalate")


def insert_once(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(ESCALATION).on_conflict_do_nothing().returning(ESCALATION.c.id)


def cycle_of(started_at: datetime, allowance: int) -> str:
    """One run of a clock: a restart or an extension starts a new cycle, a pause does not."""
    return f"{started_at.isoformat()}/{allowance}"


def payload(ctx: Context, case: Mapping[str, Any], **more: Any) -> dict[str, Any]:
    state = lc.State(case["state"])
    return {
        "number": case["number"],
        "state": state.value,
        "state_label": state.label,
        "priority": case["priority"],
        "priority_label": lc.PRIORITIES[case["priority"]],
        "owner": case["owner"],
        "branch": case["branch"],
        **more,
    }


def append_escalation(
    ctx: Context,
    case: ComplaintRow,
    *,
    conn: Connection,
    at: datetime,
    now: datetime,
    rank: int,
    reason: str,
    details: dict[str, Any],
    bump_version: bool = True,
) -> int:
    """The `escalate` event by the system actor; updates `case` in place. Returns event id.

    The system is authorized like any other actor (deny by default), and the move checked."""
    lc.authorize(ESCALATE, lc.Role.system)
    lc.check(ESCALATE, case, {"reason": reason})
    seq = case["event_count"] + 1
    last_event_at = to_db(at)
    level = max(case["escalation_level"], rank)
    values = {"event_count": seq, "last_event_at": last_event_at, "escalation_level": level}
    if bump_version:
        case["version"] = records.update_case(conn, case, values)
    else:
        # Inside the caller's action (registration, acceptance): that action already holds the
        # row and bumped the version; the version it returned stays valid.
        conn.execute(
            update(records.COMPLAINT).where(records.COMPLAINT.c.id == case["id"]).values(**values)
        )
    case["event_count"] = seq
    case["last_event_at"] = last_event_at
    case["escalation_level"] = level
    return records.append_event(
        conn,
        complaint_id=case["id"],
        seq=seq,
        action="escalate",
        from_state=case["state"],
        to_state=case["state"],
        actor=SYSTEM,
        role=lc.Role.system.value,
        at=at,
        recorded_at=now,
        reason=reason,
        details={"automatic": True, "level": rank, **details},
    )


def alert(
    ctx: Context,
    case: Mapping[str, Any],
    *,
    conn: Connection,
    key: str,
    kind: str,
    audiences: Iterable[str],
    event_id: int,
    payload: dict[str, Any],
    urgent: bool,
    now: datetime,
) -> int:
    sent = 0
    for to in dict.fromkeys(audiences):
        if records.enqueue_alert(
            conn,
            dedupe_key=f"{key}:{to}",
            kind=kind,
            audience=f"role:{to}",
            complaint_id=case["id"],
            event_id=event_id,
            payload={**payload, "audience_role": to},
            urgent=urgent,
            now=now,
        ):
            sent += 1
            # Queued only: notifications/dispatch.py delivers the outbox row once this
            # transaction commits. The log line is a trace of what was queued.
            log.info("[%s → %s] %s %s", kind, to, case["number"], payload.get("title", ""))
    return sent
