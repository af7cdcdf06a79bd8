"""Priority re-assessed when a fact behind it changes (docs/rules.md §4).

Rows whose action changes such a fact (media involvement, group size, amount, regulator
forwarding, a repeat link) name the follow-up `reassess_priority`. When the assessment gives
another level, the system records a `reprioritize` event (the row a supervisor also takes by
hand with `tousu priority`) with the old and new level and the reasons, and sets the case's
priority, in the action's transaction. Like the escalations that happen inside an action
(services/automatic/alerts.py), it does not bump the version the action returned, so a
handler's next `--expect-version` still holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from services.lifecycle import events
from services.users import SYSTEM_USER
from states import lifecycle as lc
from states.priority import ORDER, assess
from storage import records
from storage.timeutil import to_db, utcnow

MANUAL = "人工设定"
REPRIORITIZE = lc.action("reprioritize")


def assessed(case: dict[str, Any], rules: Any) -> tuple[str, list[str]]:
    """The level the case's facts give, with the reasons."""
    return assess(
        {**case, **(case.get("details") or {}), "repeat": case.get("linked_to_id") is not None},
        rules,
    )


@events.subscribe("reassess_priority")
def _reassess(event: events.ActionTaken) -> None:
    before = event.case
    level, reasons = assessed({**before, **event.values}, event.ctx.config.priority)
    old = str(before["priority"])
    if level == old:
        return
    manual = any(str(r).startswith(MANUAL) for r in before["priority_reasons"] or ())
    if manual and ORDER[level] < ORDER[old]:  # type: ignore[index]
        return  # a level a supervisor set by hand is not lowered by the facts
    reason = (
        f"{event.action.label}: 优先级 {lc.PRIORITIES[old]} → {lc.PRIORITIES[level]}"
        f"({'; '.join(reasons)})"
    )
    case = records.load_case_by_id(event.conn, before["id"])  # after the action's own event
    lc.authorize(REPRIORITIZE, lc.Role.system)
    lc.check(REPRIORITIZE, case, {"reason": reason})
    seq = case["event_count"] + 1
    event.conn.execute(
        update(records.COMPLAINT)
        .where(records.COMPLAINT.c.id == case["id"])
        .values(
            priority=level,
            priority_reasons=reasons,
            event_count=seq,
            last_event_at=to_db(event.at),
        )
    )
    records.append_event(
        event.conn,
        complaint_id=case["id"],
        seq=seq,
        action=REPRIORITIZE.trigger,
        from_state=case["state"],
        to_state=case["state"],
        actor=SYSTEM_USER,
        role=lc.Role.system.value,
        at=event.at,
        recorded_at=utcnow(),
        reason=reason,
        details={
            "automatic": True,
            "from": old,
            "to": level,
            "reasons": reasons,
            "after": event.action.trigger,
        },
    )
