"""Read side: one complaint with its deadlines and history; work queues. No writes except
the audit event for an unmasked view of personal data (`reveal=True`).

Two paths. `get_complaint`, `decrypt_party`, `deadlines_of` read through storage.records
(the SQLModel tables). The command line's hot reads (`actor`, `complaint_view`, `queue`) use
lightweight `table()/column()` statements and never import storage.models: declaring the
SQLModel classes costs about 30 ms per process, a quarter of the start-up budget of
`tousu show` (bench/cli_latency.py). tests/cli checks both paths return the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, literal_column, select, table
from sqlalchemy.engine import Connection

from services.context import Context
from storage.db import read_only
from storage.timeutil import from_db


def deadline_view(row: Any) -> dict[str, Any]:
    return {
        "name": row["name"],
        "status": row["status"],
        "due": from_db(row["due_at"]),
        "started": from_db(row["started_at"]),
        "verified": bool(row["verified"]),
        "rule": row["rule"],
        # Stored as UTC text; read back as times so that every time goes out in one zone.
        "warnings": [{**w, "at": datetime.fromisoformat(w["at"])} for w in row["warnings"] or []],
        "met": from_db(row["met_at"]),
        "allowance": row["allowance"],
        "paused_seconds": row["paused_seconds"],
    }


def get_complaint(ctx: Context, number: str) -> dict[str, Any]:
    """The complaint row, its named deadlines (by due time) and its events (in order)."""
    from storage import records

    with read_only(ctx.engine) as conn:
        case = records.load_case(conn, number)
        deadlines = _deadlines_by_due(conn, case["id"])
        events = (
            conn.execute(
                select(records.EVENT)
                .where(records.EVENT.c.complaint_id == case["id"])
                .order_by(records.EVENT.c.seq)
            )
            .mappings()
            .all()
        )
    return {"case": case, "deadlines": deadlines, "events": [dict(e) for e in events]}


def _deadlines_by_due(conn: Connection, complaint_id: int) -> list[dict[str, Any]]:
    """A complaint's named deadlines as shown, nearest first."""
    from storage import records

    rows = conn.execute(
        select(records.DEADLINE)
        .where(records.DEADLINE.c.complaint_id == complaint_id)
        .order_by(records.DEADLINE.c.due_at)
    ).mappings()
    return [deadline_view(d) for d in rows]


def decrypt_party(ctx: Context, party_id: int) -> dict[str, Any]:
    from storage.models import Party
    from storage.schema import table_of

    PARTY = table_of(Party)
    with read_only(ctx.engine) as conn:
        row = conn.execute(select(PARTY).where(PARTY.c.id == party_id)).mappings().first()
    return _decrypt(ctx, row)


def _decrypt(ctx: Context, row: Any) -> dict[str, Any]:
    if row is None:
        return {}
    v = ctx.vault
    return {
        "kind": row["kind"],
        "name": v.decrypt(row["name_enc"]),
        "id_number": v.decrypt(row["id_number_enc"]),
        "phone": v.decrypt(row["phone_enc"]),
        "address": v.decrypt(row["address_enc"]),
        "credit_code": row["credit_code"],
        "legal_rep": v.decrypt(row["legal_rep_enc"]),
    }


# ---- Views for the command line (cli/cases.py): the light path -----------------------------

_JSON_COLUMNS = ("priority_reasons", "details", "warnings")
_BOOL_COLUMNS = (
    "regulator_forwarded",
    "media_involved",
    "vulnerable",
    "decided_by_branch",
    "verified",
    "active",
)


def _typed(row: Any) -> dict[str, Any]:
    """A raw row as the typed columns would give it: JSON decoded, booleans, aware UTC times."""
    out = dict(row)
    for key, value in out.items():
        if value is None:
            continue
        if key in _JSON_COLUMNS and isinstance(value, str):
            out[key] = json.loads(value)
        elif key in _BOOL_COLUMNS:
            out[key] = bool(value)
        elif key.endswith(("_at", "_on")) or key == "at":
            out[key] = from_db(value)
    return out


def _all(name: str) -> Any:
    return select(literal_column("*")).select_from(table(name))


def _one(conn: Any, name: str, key: str, value: Any) -> dict[str, Any] | None:
    row = conn.execute(_all(name).where(column(key) == value)).mappings().first()
    return None if row is None else _typed(row)


def actor(ctx: Context, username: str) -> dict[str, Any]:
    """The user row (active or not); NotFound when there is no such user."""
    from states.errors import NotFound

    with read_only(ctx.engine) as conn:
        found = _one(conn, "user", "username", username)
    if found is None:
        raise NotFound(f"用户 {username} 不存在")
    return found


def _case_light(conn: Any, number: str) -> dict[str, Any]:
    from states.errors import NotFound

    case = _one(conn, "complaint", "number", number)
    if case is None:
        raise NotFound(f"投诉 {number} 不存在")
    return case


def complaint_light(ctx: Context, number: str) -> dict[str, Any]:
    """What `get_complaint` returns, read without the SQLModel tables."""
    with read_only(ctx.engine) as conn:
        case = _case_light(conn, number)
        deadlines = (
            conn.execute(
                _all("deadline")
                .where(column("complaint_id") == case["id"])
                .order_by(column("due_at"))
            )
            .mappings()
            .all()
        )
        events = (
            conn.execute(
                _all("event").where(column("complaint_id") == case["id"]).order_by(column("seq"))
            )
            .mappings()
            .all()
        )
        parties = {
            key: _one(conn, "party", "id", case[f"{key}_id"])
            for key in ("complainant", "agent")
            if case[f"{key}_id"]
        }
        institution = (
            _one(conn, "institution", "id", case["institution_id"])
            if case["institution_id"]
            else None
        )
        # The 舆情 plan's tasks (storage/public_opinion.py), read only for a case that has them.
        opinion = (
            conn.execute(
                _all("opinion_task")
                .where(column("complaint_id") == case["id"])
                .order_by(column("id"))
            )
            .mappings()
            .all()
            if case["media_involved"]
            else []
        )
    return {
        "case": case,
        "deadlines": [deadline_view(_typed(d)) for d in deadlines],
        "events": [_typed(e) for e in events],
        "_parties": parties,
        "institution": institution["name"] if institution else None,
        "opinion_tasks": [_typed(t) for t in opinion],
    }


def complaint_view(
    ctx: Context, number: str, *, actor: dict[str, Any], reveal: bool = False
) -> dict[str, Any]:
    """One complaint as a handler sees it: parties masked unless `reveal` is asked for by a
    role in PII_ROLES, in which case the view is recorded in the event log first."""
    from services import privacy
    from states import lifecycle as lc
    from states.errors import Forbidden

    role = lc.Role(actor["role"])
    if reveal:
        if role not in lc.PII_ROLES:
            allowed = "、".join(r.label for r in lc.PII_ROLES)
            raise Forbidden(f"角色「{role.label}」无权查看完整个人信息, 可查看角色: {allowed}")
        from services.access import check_scope
        from services.lifecycle import audit

        with read_only(ctx.engine) as conn:
            case = _case_light(conn, number)
            check_scope(ctx, conn, case, actor["username"], role.value)
        parts = ["complainant"] + (["agent"] if case["agent_id"] else [])
        audit.record(
            ctx,
            number,
            actor=actor["username"],
            action=audit.VIEW_PII,
            reason="查看完整个人信息",
            details={"parties": parts},
        )
    view = complaint_light(ctx, number)
    parties = {}
    for key, row in view.pop("_parties").items():
        party = _decrypt(ctx, row)
        parties[key] = party if reveal else privacy.mask_party(party)
    view["parties"] = parties
    if not reveal:  # phone and ID numbers typed into free text are masked like the parties'
        case = view["case"]
        for key in ("claim", "facts", "basis"):
            case[key] = privacy.mask_text(case.get(key))
        for event in view["events"]:
            for key in ("reason", "details"):
                if key in event:
                    event[key] = privacy.mask_details(event[key])
    view["masked"] = not reveal
    # What this person may do now: their role's moves from the state whose case guards pass,
    # the commands they type (the system's own moves have none).
    possible = lc.allowed_actions(view["case"]["state"], role, view["case"])
    view["allowed_actions"] = [a.trigger for a in possible if a.command]
    return view


def deadlines_of(ctx: Context, number: str) -> list[dict[str, Any]]:
    """The named deadlines of one complaint, nearest first."""
    from storage import records

    with read_only(ctx.engine) as conn:
        return _deadlines_by_due(conn, records.load_case(conn, number)["id"])


SUPERVISING = ("supervisor", "committee")
SCOPES = {"mine": "我的投诉", "team": "本组", "branch": "本机构", "all": "全部"}

_QUEUE_COMPLAINT = table(
    "complaint",
    *(
        column(c)
        for c in (
            "id",
            "number",
            "state",
            "priority",
            "category",
            "product",
            "branch",
            "owner",
            "received_at",
            "escalation_level",
        )
    ),
)
_QUEUE_DEADLINE = table(
    "deadline", *(column(c) for c in ("complaint_id", "name", "status", "due_at", "verified"))
)
_QUEUE_USER = table("user", column("username"), column("team"))


@dataclass(frozen=True)
class _QueueFilters:
    """A queue's filters once checked: states as values, branch and category canonical."""

    scope: str
    team: str | None
    branch: str | None
    handler: str | None
    states: list[str]
    priority: str | None
    category: str | None
    limit: int


def queue(
    ctx: Context,
    *,
    actor: dict[str, Any],
    scope: str = "mine",
    team: str | None = None,
    branch: str | None = None,
    handler: str | None = None,
    states: list[str] | None = None,
    priority: str | None = None,
    category: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Open complaints in a work queue, nearest running deadline first.

    The filters ride on the indexes (owner, state) / (branch, state) / (state); the nearest
    deadline is a correlated lookup through deadline's (complaint_id, name) key, so the cost
    follows the size of the queue, not of the table."""
    filters = _queue_filters(
        ctx,
        actor=actor,
        scope=scope,
        team=team,
        branch=branch,
        handler=handler,
        states=states,
        priority=priority,
        category=category,
        limit=limit,
    )
    query = _queue_query(filters, actor)
    with read_only(ctx.engine) as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        soonest = _nearest_deadlines(conn, [r["id"] for r in rows])
        failing = _failed_messages(conn, [r["id"] for r in rows])
    items = [_queue_item(r, soonest.get(r["id"])) for r in rows]
    for item in items:  # sends to the complainant that keep failing (services/casefile/messages.py)
        item["message_failures"] = failing.get(item["id"], [])
    return {"scope": scope, "items": items, "limit": limit}


def _queue_filters(
    ctx: Context,
    *,
    actor: dict[str, Any],
    scope: str,
    team: str | None,
    branch: str | None,
    handler: str | None,
    states: list[str] | None,
    priority: str | None,
    category: str | None,
    limit: int,
) -> _QueueFilters:
    """Check the queue's filters against the actor's role and the taxonomy."""
    from states import lifecycle as lc
    from states.errors import Forbidden, InvalidInput
    from states.validation import choice

    tax = ctx.config.taxonomy
    role = actor["role"]
    if scope not in SCOPES:
        raise InvalidInput(
            "scope", f"范围取值: {', '.join(f'{k}({v})' for k, v in SCOPES.items())}"
        )
    wants_others = scope != "mine" or (handler not in (None, actor["username"]))
    if wants_others and role not in SUPERVISING:
        raise Forbidden(
            f"角色「{lc.Role(role).label}」只能查看自己的投诉; 本组、本机构或他人的"
            "队列仅限主管和消委会委员"
        )
    try:
        wanted = [lc.State(s).value for s in states] if states else [s.value for s in lc.OPEN]
    except ValueError:
        raise InvalidInput("state", f"状态取值: {', '.join(s.value for s in lc.State)}") from None
    if priority is not None and priority not in lc.PRIORITIES:
        raise InvalidInput("priority", f"优先级取值: {', '.join(lc.PRIORITIES)}")
    if category is not None:
        category = choice(category, tax.categories, "category")
    if branch is not None:
        branch = choice(branch, tax.branches, "branch")
    if limit < 1:
        raise InvalidInput("limit", "条数至少为 1")
    return _QueueFilters(
        scope=scope,
        team=team,
        branch=branch,
        handler=handler,
        states=wanted,
        priority=priority,
        category=category,
        limit=limit,
    )


def _queue_query(filters: _QueueFilters, actor: dict[str, Any]) -> Any:
    """The queue's statement: its rows with their nearest running due time, nearest first."""
    from sqlalchemy import func, or_

    COMPLAINT, DEADLINE = _QUEUE_COMPLAINT, _QUEUE_DEADLINE
    f = filters
    nearest = (
        select(func.min(DEADLINE.c.due_at))
        .where(DEADLINE.c.complaint_id == COMPLAINT.c.id, DEADLINE.c.status == "running")
        .correlate(COMPLAINT)
        .scalar_subquery()
        .label("nearest_due")
    )
    query = select(
        COMPLAINT.c.id,
        COMPLAINT.c.number,
        COMPLAINT.c.state,
        COMPLAINT.c.priority,
        COMPLAINT.c.category,
        COMPLAINT.c.product,
        COMPLAINT.c.branch,
        COMPLAINT.c.owner,
        COMPLAINT.c.received_at,
        COMPLAINT.c.escalation_level,
        nearest,
    ).where(COMPLAINT.c.state.in_(f.states))
    if f.scope == "mine" and f.handler in (None, actor["username"]):
        mine = COMPLAINT.c.owner == actor["username"]
        if actor["role"] == "intake_clerk":
            # First contact: a clerk also sees the unaccepted complaints of the branch.
            mine = or_(
                mine, (COMPLAINT.c.branch == actor["branch"]) & (COMPLAINT.c.state == "registered")
            )
        query = query.where(mine)
    elif f.handler is not None:
        query = query.where(COMPLAINT.c.owner == f.handler)
    if f.scope == "team":
        USER = _QUEUE_USER
        members = select(USER.c.username).where(USER.c.team == (f.team or actor["team"]))
        query = query.where(COMPLAINT.c.owner.in_(members))
    elif f.scope == "branch":
        query = query.where(COMPLAINT.c.branch == (f.branch or actor["branch"]))
    if f.branch is not None and f.scope != "branch":
        query = query.where(COMPLAINT.c.branch == f.branch)
    if f.priority is not None:
        query = query.where(COMPLAINT.c.priority == f.priority)
    if f.category is not None:
        query = query.where(COMPLAINT.c.category == f.category)
    return query.order_by(nearest.is_(None), nearest, COMPLAINT.c.id).limit(f.limit)


def _nearest_deadlines(conn: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each listed complaint's nearest running deadline (name, due time, verified)."""
    DEADLINE = _QUEUE_DEADLINE
    named: dict[int, dict[str, Any]] = {}
    if ids:
        for d in conn.execute(
            select(DEADLINE.c.complaint_id, DEADLINE.c.name, DEADLINE.c.due_at, DEADLINE.c.verified)
            .where(DEADLINE.c.complaint_id.in_(ids), DEADLINE.c.status == "running")
            .order_by(DEADLINE.c.due_at)
        ).mappings():
            named.setdefault(d["complaint_id"], dict(d))
    return named


# Messages to the complainant that keep failing (status `failed` in services/casefile/
# messages.py): shown until sent or dismissed. Read here as a plain table, like the deadlines.
_QUEUE_MESSAGE = table(
    "complainant_message", column("complaint_id"), column("channel"), column("status")
)
_MESSAGE_FAILED = {"sms": "短信发送失败", "email": "邮件发送失败"}


def _failed_messages(conn: Any, ids: list[int]) -> dict[int, list[str]]:
    """Each listed complaint's failing sends, as the queue shows them (短信发送失败, ...)."""
    out: dict[int, list[str]] = {}
    if ids:
        M = _QUEUE_MESSAGE
        for cid, channel in conn.execute(
            select(M.c.complaint_id, M.c.channel)
            .where(M.c.complaint_id.in_(ids), M.c.status == "failed")
            .distinct()
            .order_by(M.c.complaint_id, M.c.channel)
        ):
            out.setdefault(cid, []).append(_MESSAGE_FAILED.get(channel, f"{channel}发送失败"))
    return out


def _queue_item(row: dict[str, Any], soonest: dict[str, Any] | None) -> dict[str, Any]:
    """One queue row as the command line shows it: aware times, its nearest deadline named."""
    return {
        **row,
        "received_at": from_db(row["received_at"]),
        "nearest_due": from_db(soonest["due_at"]) if soonest else None,
        "nearest_deadline": soonest["name"] if soonest else None,
        "verified": bool(soonest["verified"]) if soonest else None,
    }
