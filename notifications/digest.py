"""The daily digest: one message per supervisor listing the open escalations and overdue
deadlines they should chase (kind `daily_digest`, audience `user:<username>`).

Composed into the outbox like any alert (dedupe key per supervisor and local day, so a second
run the same day adds nothing); the dispatcher sends it in working hours. A supervisor of a
branch sees that branch; one at head office sees every branch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from notifications.settings import load_settings
from services.context import Context
from states.deadlines import ACTIVE
from states.lifecycle import FINISHED
from storage.models import Complaint, Deadline, User
from storage.records import enqueue_alert
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

COMPLAINT = table_of(Complaint)
DEADLINE = table_of(Deadline)
USER = table_of(User)
MAX_ITEMS = 200  # the email lists them all up to this; WeCom shows what fits in 4096 bytes


def _scope(branch: str | None) -> str | None:
    """The branch whose cases a supervisor sees; None (every branch) for head office."""
    return branch if branch and branch != "head_office" else None


def _open_items(conn: Connection, now: datetime, branch: str | None) -> list[dict[str, Any]]:
    stmt = (
        select(
            COMPLAINT.c.number,
            COMPLAINT.c.state,
            COMPLAINT.c.branch,
            COMPLAINT.c.escalation_level,
            DEADLINE.c.name,
            DEADLINE.c.due_at,
        )
        .select_from(COMPLAINT.join(DEADLINE, DEADLINE.c.complaint_id == COMPLAINT.c.id))
        .where(
            COMPLAINT.c.state.not_in([s.value for s in FINISHED]),
            DEADLINE.c.status.in_(list(ACTIVE)),
            or_(DEADLINE.c.due_at <= to_db(now), COMPLAINT.c.escalation_level >= 2),
        )
        .order_by(DEADLINE.c.due_at)
        .limit(MAX_ITEMS)
    )
    if branch is not None:
        stmt = stmt.where(COMPLAINT.c.branch == branch)
    items = []
    for r in conn.execute(stmt).mappings():
        due = from_db(r["due_at"])
        overdue = due is not None and due <= now
        items.append(
            {
                "number": r["number"],
                "state": r["state"],
                "deadline": r["name"],
                "due": due.isoformat() if due else None,
                "status": "已超时" if overdue else f"已升级至第{r['escalation_level']}级",
            }
        )
    return items


def compose_digests(ctx: Context, now: datetime | None = None) -> int:
    """Write today's digest for every supervisor to the outbox; returns how many were new."""
    settings = load_settings(ctx.config)
    now = now or utcnow()
    day = now.astimezone(ctx.tz).date().isoformat()
    made = 0
    with ctx.engine.begin() as conn:
        people = (
            conn.execute(
                select(USER.c.username, USER.c.branch).where(
                    USER.c.role.in_(settings.digest_roles), USER.c.active.is_(True)
                )
            )
            .mappings()
            .all()
        )
        # Supervisors of one branch (and all of head office) share one list: read it once.
        by_scope: dict[str | None, list[dict[str, Any]]] = {}
        for person in people:
            scope = _scope(person["branch"])
            if scope not in by_scope:
                by_scope[scope] = _open_items(conn, now, scope)
            items = by_scope[scope]
            made += enqueue_alert(
                conn,
                dedupe_key=f"digest:{person['username']}:{day}",
                kind="daily_digest",
                audience=f"user:{person['username']}",
                complaint_id=None,
                event_id=None,
                payload={"day": day, "items": items},
                urgent=False,
                now=now,
            )
    return made
