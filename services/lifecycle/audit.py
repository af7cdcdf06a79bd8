"""Events that record something seen or noted without moving the lifecycle (e.g. an
unmasked view of personal data). They go into the same append-only `event` table as the
moves, with from_state = to_state = the current state, in one transaction that bumps the
complaint's `event_count` (the next `seq`) and `version`, and nothing else: the state, the
deadlines and `last_event_at` (which bounds `--at` of the next action) stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.timeutil import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from services.context import Context

VIEW_PII = "view_pii"  # 查看完整个人信息 (2022 Order No. 9: log access to personal data)
FIND_PII = "find_pii"  # 按个人信息查找 (`tousu find`, logged like a view)
ERASE_PII = "erase_pii"  # 个人信息超过保存期限删除 (`[retention]`, docs/rules.md §3)

LABELS = {
    VIEW_PII: "查看完整个人信息",
    FIND_PII: "按个人信息查找",
    ERASE_PII: "删除个人信息(超过保存期限)",
}


def event_label(action: str) -> str:
    """The Chinese label of any event in the log: registration, a lifecycle action, or one of
    the non-state events above."""
    from states import lifecycle as lc

    if action == "register":
        return "登记"
    from states.casefile import EVENT_LABELS  # contacts, evidence, rectification

    found = lc.ACTIONS_BY_TRIGGER.get(action)
    if found:
        return found.label
    return LABELS.get(action) or EVENT_LABELS.get(action, action)


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

    with ctx.engine.begin() as conn:
        case = records.load_case(conn, number)
        user = records.load_user(conn, actor)
        return record_in(
            conn,
            case,
            actor=user["username"],
            role=user["role"],
            action=action,
            reason=reason,
            details=details,
        )


def record_in(
    conn: Connection,
    case: Mapping[str, Any],
    *,
    actor: str,
    role: str,
    action: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Append one non-state event to a loaded case inside the caller's transaction. A mutable
    `case` is updated in place (version, event_count) for the caller's next write."""
    from storage import records

    now = now or utcnow()
    seq = case["event_count"] + 1
    version = records.update_case(conn, case, {"event_count": seq})
    if isinstance(case, dict):
        case["version"], case["event_count"] = version, seq
    return records.append_event(
        conn,
        complaint_id=case["id"],
        seq=seq,
        action=action,
        from_state=case["state"],
        to_state=case["state"],
        actor=actor,
        role=role,
        at=at or now,
        recorded_at=now,
        reason=reason,
        details=details or {},
    )
