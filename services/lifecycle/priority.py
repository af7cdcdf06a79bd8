"""Priority re-assessed when a fact behind it changes (docs/rules.md §4).

Rows whose action changes such a fact (media involvement, group size, amount, regulator
forwarding, a repeat link) name the follow-up `reassess_priority`; when the assessment gives
another level, the `reprioritize` action is taken by the system in the same transaction, so
every change of priority is an event of the case's history with its reasons.
"""

from __future__ import annotations

from services.lifecycle import actions, events
from services.users import SYSTEM_USER
from states import lifecycle as lc
from states.priority import ORDER, assess

MANUAL = "人工设定"


@events.subscribe("reassess_priority")
def _reassess(event: events.ActionTaken) -> None:
    before = event.case
    facts = {**before, **event.values}
    level, reasons = assess(
        {
            **facts,
            **(facts.get("details") or {}),
            "repeat": facts.get("linked_to_id") is not None,
        },
        event.ctx.config.priority,
    )
    old = str(before["priority"])
    if level == old:
        return
    manual = any(str(r).startswith(MANUAL) for r in before["priority_reasons"] or ())
    if manual and ORDER[level] < ORDER[old]:  # type: ignore[index]
        return  # a level a supervisor set by hand is not lowered by the facts
    actions.perform(
        event.ctx,
        before["number"],
        "reprioritize",
        conn=event.conn,
        actor=SYSTEM_USER,
        at=event.at,
        fields={
            "priority": None,
            "reason": (
                f"{event.action.label}: 优先级 {lc.PRIORITIES[old]} → {lc.PRIORITIES[level]}"
                f"({'; '.join(reasons)})"
            ),
            "from": old,
            "to": level,
        },
    )
