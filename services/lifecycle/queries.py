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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import bindparam, column, literal_column, select, table
from sqlalchemy.engine import Connection

from services.context import Context
from storage.db import raw_reads, read_only
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
    return _decrypt_with(ctx.vault, row)


def _decrypt_with(v: Any, row: Any) -> dict[str, Any]:
    if row is None:
        return {}
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


def typed_row(row: Any) -> dict[str, Any]:
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


# The statements below are built once and bound with parameters: building a Select and
# deriving its cache key on every call cost more than running it (a case page runs six).
@cache
def _one_statement(name: str, key: str) -> Any:
    return _all(name).where(column(key) == bindparam("value"))


@cache
def _of_case_statement(name: str, order: str) -> Any:
    """Every row of table `name` belonging to one complaint, ordered by `order`."""
    return _all(name).where(column("complaint_id") == bindparam("case_id")).order_by(column(order))


def _one(conn: Any, name: str, key: str, value: Any) -> dict[str, Any] | None:
    row = conn.execute(_one_statement(name, key), {"value": value}).mappings().first()
    return None if row is None else typed_row(row)


def _of_case(conn: Any, name: str, case_id: int, order: str) -> Any:
    return conn.execute(_of_case_statement(name, order), {"case_id": case_id}).mappings().all()


def actor(ctx: Context, username: str) -> dict[str, Any]:
    """The user row (active or not); NotFound when there is no such user."""
    from states.errors import NotFound

    with read_only(ctx.engine) as conn:
        found = user_row(conn, username)
    if found is None:
        raise NotFound(f"用户 {username} 不存在")
    return found


def user_row(conn: Any, username: str) -> dict[str, Any] | None:
    """The user row as `actor` returns it, read on a connection the caller holds."""
    return _one(conn, "user", "username", username)


def _case_light(conn: Any, number: str) -> dict[str, Any]:
    from states.errors import NotFound

    case = _one(conn, "complaint", "number", number)
    if case is None:
        raise NotFound(f"投诉 {number} 不存在")
    return case


def complaint_light(ctx: Context, number: str, *, masked: bool = False) -> dict[str, Any]:
    """What `get_complaint` returns, read without the SQLModel tables (storage/db.py
    `raw_reads`, one snapshot); `masked`: the events' reasons and details with phone and ID
    numbers masked (`masked_event`)."""
    from states.errors import NotFound

    with raw_reads(ctx.engine) as reads:
        found = reads.first(_one_statement("complaint", "number"), {"value": number})
        if found is None:
            raise NotFound(f"投诉 {number} 不存在")
        case = typed_row(found)
        of_case = {"case_id": case["id"]}
        deadlines = reads.all(_of_case_statement("deadline", "due_at"), of_case)
        keys, events = reads.rows(_of_case_statement("event", "seq"), of_case)
        parties = {
            key: _typed_or_none(
                reads.first(_one_statement("party", "id"), {"value": case[f"{key}_id"]})
            )
            for key in ("complainant", "agent")
            if case[f"{key}_id"]
        }
        institution = (
            reads.first(_one_statement("institution", "id"), {"value": case["institution_id"]})
            if case["institution_id"]
            else None
        )
        # The 舆情 plan's tasks (storage/public_opinion.py), read only for a case that has them.
        opinion = (
            reads.all(_of_case_statement("opinion_task", "id"), of_case)
            if case["media_involved"]
            else []
        )
    return {
        "case": case,
        "deadlines": [deadline_view(typed_row(d)) for d in deadlines],
        "events": [
            dict(masked_event(keys, _hashable(e)))
            if masked
            else typed_row(dict(zip(keys, e, strict=True)))
            for e in events
        ],
        "_parties": parties,
        "institution": institution["name"] if institution else None,
        "opinion_tasks": [typed_row(t) for t in opinion],
    }


def _hashable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as a key: JSON the driver decoded (PostgreSQL's) as its text, which `typed_row`
    decodes again."""
    if not any(isinstance(v, dict | list) for v in row):
        return row
    return tuple(
        json.dumps(v, ensure_ascii=False, sort_keys=True) if isinstance(v, dict | list) else v
        for v in row
    )


def _typed_or_none(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else typed_row(row)


@lru_cache(maxsize=65536)  # as many as web/pages/case.py keeps timeline items
def masked_event(keys: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    """One event row, typed, its reason and details with phone and ID numbers masked
    (services/privacy.py). Events are only ever appended and the key is the whole row, so
    an event is masked once per process however often its case is shown; callers copy the
    dict and change nothing in it. The key is the row as stored (the event log is not
    encrypted, so it holds nothing the database does not); no revealed view is kept."""
    from services import privacy

    event = typed_row(dict(zip(keys, values, strict=True)))
    for key in ("reason", "details"):
        if key in event:
            event[key] = privacy.mask_details(event[key])
    return event


@lru_cache(maxsize=4096)
def _masked_party(vault: Any, row: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """A party row (encrypted fields; none: a missing row) decrypted and masked, once per
    process for the same ciphertexts: the key holds only ciphertexts and keyed hashes, the
    value only masked fields, so no personal data is kept in clear. Callers copy the dict."""
    from services import privacy

    return privacy.mask_party(_decrypt_with(vault, dict(row) if row else None))


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
    view = complaint_light(ctx, number, masked=not reveal)
    parties = {}
    for key, row in view.pop("_parties").items():
        if reveal:
            parties[key] = _decrypt(ctx, row)
        else:
            parties[key] = dict(_masked_party(ctx.vault, tuple(sorted((row or {}).items()))))
    view["parties"] = parties
    if not reveal:  # phone and ID numbers typed into free text are masked like the parties'
        case = view["case"]
        for key in ("claim", "facts", "basis"):
            case[key] = privacy.mask_text(case.get(key))
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
            "next_due_at",
        )
    ),
)
_QUEUE_DEADLINE = table(
    "deadline", *(column(c) for c in ("complaint_id", "name", "status", "due_at", "verified"))
)
_QUEUE_USER = table("user", column("username"), column("team"))
_QUEUE_CONTACT = table("contact", column("complaint_id"), column("at"))


@dataclass(frozen=True)
class _QueueFilters:
    """A queue's filters once checked: states as values, branch and category canonical."""

    scope: str
    team: str | None
    branch: str | None
    handler: str | None
    states: tuple[str, ...]
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

    The filters and the order ride on the indexes (owner, state, next_due_at) / (branch,
    state, next_due_at) / (state, next_due_at): `complaint.next_due_at` is the nearest running
    deadline, kept by the database (migrations/versions/0023_next_due.py), so the cost follows
    the size of the queue, not of the table."""
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
    query = _queue_query(
        filters, actor["username"], actor["role"], actor.get("branch"), actor.get("team")
    )
    with raw_reads(ctx.engine, snapshot=False) as reads:
        keys, rows = reads.rows(query)
    return {"scope": scope, "items": queue_items(keys, rows), "limit": limit}


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
        states=tuple(wanted),
        priority=priority,
        category=category,
        limit=limit,
    )


@lru_cache(maxsize=1024)
def _queue_query(
    filters: _QueueFilters, username: str, role: str, branch: str | None, team: str | None
) -> Any:
    """The queue's statement (`queue_statement`) for these filters and this actor."""
    from sqlalchemy import or_

    COMPLAINT = _QUEUE_COMPLAINT
    f = filters
    where: list[Any] = [COMPLAINT.c.state.in_(f.states)]
    if f.scope == "mine" and f.handler in (None, username):
        mine = COMPLAINT.c.owner == username
        if role == "intake_clerk":
            # First contact: a clerk also sees the unaccepted complaints of the branch.
            mine = or_(mine, (COMPLAINT.c.branch == branch) & (COMPLAINT.c.state == "registered"))
        where.append(mine)
    elif f.handler is not None:
        where.append(COMPLAINT.c.owner == f.handler)
    if f.scope == "team":
        USER = _QUEUE_USER
        members = select(USER.c.username).where(USER.c.team == (f.team or team))
        where.append(COMPLAINT.c.owner.in_(members))
    elif f.scope == "branch":
        where.append(COMPLAINT.c.branch == (f.branch or branch))
    if f.branch is not None and f.scope != "branch":
        where.append(COMPLAINT.c.branch == f.branch)
    if f.priority is not None:
        where.append(COMPLAINT.c.priority == f.priority)
    if f.category is not None:
        where.append(COMPLAINT.c.category == f.category)
    return queue_statement(COMPLAINT, where, f.limit)


def queue_statement(complaint: Any, where: Iterable[Any], limit: int) -> Any:
    """The work queue's rows: at most `limit` complaints meeting `where` (conditions on
    `complaint`, the complaint table as the caller's conditions name it), nearest running
    deadline first (`complaint.next_due_at`), with their nearest deadline, their last
    contact and their failing sends (read into items by `queue_item`). The dashboard's lists
    (services/reporting/dashboard.py) share it.

    The choice and the order are settled on an index alone (`next_due_at` after the
    filtered columns, then the row id); only the rows shown are read from the wide table."""
    from sqlalchemy import exists, func

    nearest = complaint.c.next_due_at
    top = (
        select(complaint.c.id, nearest.label("nearest_due"))
        .where(*where)
        .order_by(nearest.is_(None), nearest, complaint.c.id)
        .limit(limit)
        .subquery("top")
    )
    COMPLAINT, DEADLINE, MESSAGE = _QUEUE_COMPLAINT, _QUEUE_DEADLINE, _QUEUE_MESSAGE
    CONTACT = _QUEUE_CONTACT

    def of_nearest(col: Any) -> Any:  # a column of the row's nearest running deadline
        return (
            select(col)
            .where(DEADLINE.c.complaint_id == top.c.id, DEADLINE.c.status == "running")
            .order_by(DEADLINE.c.due_at, DEADLINE.c.name)
            .limit(1)
            .scalar_subquery()
        )

    return (
        select(
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
            top.c.nearest_due,
            of_nearest(DEADLINE.c.name).label("nearest_deadline"),
            of_nearest(DEADLINE.c.verified).label("verified"),
            # The latest contact with the complainant (services/casefile/quiet.py).
            select(func.max(CONTACT.c.at))
            .where(CONTACT.c.complaint_id == top.c.id)
            .scalar_subquery()
            .label("last_contact"),
            *(
                exists()
                .where(
                    MESSAGE.c.complaint_id == top.c.id,
                    MESSAGE.c.channel == channel,
                    MESSAGE.c.status == "failed",
                )
                .label(f"failed_{channel}")
                for channel in _MESSAGE_FAILED
            ),
        )
        .select_from(top.join(COMPLAINT, COMPLAINT.c.id == top.c.id))
        .order_by(top.c.nearest_due.is_(None), top.c.nearest_due, top.c.id)
    )


# Messages to the complainant that keep failing (status `failed` in services/casefile/
# messages.py): shown until sent or dismissed. Read here as a plain table, like the deadlines.
_QUEUE_MESSAGE = table(
    "complainant_message", column("complaint_id"), column("channel"), column("status")
)
_MESSAGE_FAILED = {"sms": "短信发送失败", "email": "邮件发送失败"}


def queue_items(keys: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The rows of a `queue_statement` (its column names and value tuples) as queue items
    (`queue_item`), each a new dict.

    A queue is read again and again with most of its rows unchanged: an item is built once
    per distinct row (its values are the key, so a changed row is a new item, never a stale
    one) and copied out."""
    out = []
    for row in rows:
        item = dict(_queue_item(keys, tuple(row)))
        item["message_failures"] = list(item["message_failures"])
        out.append(item)
    return out


@lru_cache(maxsize=8192)
def _queue_item(keys: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    """Shared between calls: only ever copied (`queue_items`), never handed out."""
    item = queue_item(dict(zip(keys, values, strict=True)))
    item["message_failures"] = tuple(item["message_failures"])
    return item


def queue_item(row: Any) -> dict[str, Any]:
    """One queue row as the command line shows it: aware times, its nearest deadline named,
    the sends to the complainant that keep failing (短信发送失败, ...)."""
    out = {k: v for k, v in row.items() if not k.startswith("failed_")}
    due = out["nearest_due"]
    out["received_at"] = from_db(out["received_at"])
    out["last_contact"] = from_db(out["last_contact"])
    out["nearest_due"] = from_db(due) if due is not None else None
    out["verified"] = bool(out["verified"]) if due is not None else None
    out["message_failures"] = [
        label for channel, label in _MESSAGE_FAILED.items() if row[f"failed_{channel}"]
    ]
    return out
