"""The events the case file appends to a complaint's history.

Like the other events that record something without moving the lifecycle (an unmasked view,
services/lifecycle/audit.py): from_state = to_state = the current state, `seq` from the
complaint's `event_count`, the complaint's version bumped by the compare-and-swap update, in
the caller's transaction. The state, the deadlines and `last_event_at` (which bounds `--at`
of the next lifecycle action) stay as they are; a contact logged afterwards may carry the
time it happened (`at`), while `recorded_at` keeps when it was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from services.context import Context
from services.lifecycle import audit
from states import lifecycle as lc
from states.errors import Forbidden, InvalidInput
from storage import records
from storage.rows import ComplaintRow, UserRow
from storage.timeutil import from_db


def append(
    conn: Connection,
    case: ComplaintRow,
    *,
    actor: str,
    role: str,
    action: str,
    at: datetime,
    now: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """One non-state event on `case` (updated in place: version, event_count); its id."""
    return audit.record_in(
        conn,
        case,
        actor=actor,
        role=role,
        action=action,
        reason=reason,
        details=details,
        at=at,
        now=now,
    )


def acting_user(conn: Connection, username: str, roles: Iterable[lc.Role], what: str) -> UserRow:
    """The acting user, refused (deny by default) when the role is not among `roles`."""
    user = records.load_user(conn, username)
    check_role(user, roles, what)
    return user


def check_role(user: Mapping[str, Any], roles: Iterable[lc.Role], what: str) -> None:
    """Forbidden (deny by default) when the user's role is not among `roles`."""
    allowed = tuple(roles)
    if lc.Role(user["role"]) not in allowed:
        names = "、".join(r.label for r in allowed)
        raise Forbidden(f"角色「{lc.Role(user['role']).label}」不能{what}; 可由: {names}")


def in_scope(ctx: Context, conn: Connection, case: ComplaintRow, user: UserRow) -> None:
    """Forbidden when the case lies outside the user's scope (`[access]`, services/access.py),
    as for the lifecycle's actions."""
    from services.access import check_scope

    check_scope(ctx, conn, case, user["username"], user["role"])


def happened_at(ctx: Context, case: ComplaintRow, at: datetime | None, now: datetime) -> datetime:
    """When a contact happened: default now; never in the future (beyond `[clock]
    skew_seconds`) nor before the complaint was received."""
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput("at", "时间须带时区")
    skew = timedelta(seconds=float(ctx.config.section("clock").get("skew_seconds", 0)))
    if at > now + skew:
        raise InvalidInput("at", f"时间 {at.astimezone(ctx.tz).isoformat()} 晚于当前时间")
    received = from_db(case["received_at"])
    if received is not None and at < received:
        raise InvalidInput(
            "at",
            f"时间 {at.astimezone(ctx.tz).isoformat()} 早于投诉收到时间 "
            f"{received.astimezone(ctx.tz).isoformat()}",
        )
    return at
