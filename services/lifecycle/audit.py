"""Events that record something seen or noted without moving the lifecycle (e.g. an
unmasked view of personal data). They go into the same append-only `event` table as the
moves, with from_state = to_state = the current state, in one transaction that bumps the
complaint's `event_count` (the next `seq`) and `version`, and nothing else: the state, the
deadlines and `last_event_at` (which bounds `--at` of the next action) stay as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storage.timeutil import utcnow

if TYPE_CHECKING:
    from services.context import Context

VIEW_PII = "view_pii"  # 查看完整个人信息 (2022 Order No. 9: log access to personal data)

LABELS = {VIEW_PII: "查看完整个人信息"}


def event_label(action: str) -> str:
    """The Chinese label of any event in the log: registration, a lifecycle action, or one of
    the non-state events above."""
    from states import lifecycle as lc

    if action == "register":
        return "登记"
    found = lc.ACTIONS_BY_TRIGGER.get(action)
    return found.label if found else LABELS.get(action, action)


def record(
    ctx: Context,
    number: str,
    *,
    actor: str,
    action: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one non-state event; returns its id."""
    from storage import records  # here, so that `LABELS` is cheap to import for `show`

    now = utcnow()
    with ctx.engine.begin() as conn:
        case = records.load_case(conn, number)
        user = records.load_user(conn, actor)
        seq = case["event_count"] + 1
        records.update_case(conn, case, {"event_count": seq})
        return records.append_event(
            conn,
            complaint_id=case["id"],
            seq=seq,
            action=action,
            from_state=case["state"],
            to_state=case["state"],
            actor=user["username"],
            role=user["role"],
            at=now,
            recorded_at=now,
            reason=reason,
            details=details or {},
        )
