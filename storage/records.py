"""Prepared Core statements the use cases share (one reused connection per transaction).

An ORM session per action cost about six times as much when measured here, so the service
layer reads and writes through these statements; the SQLModel classes remain the schema.
Optimistic locking is the compare-and-swap in `update_case` (Core bypasses version_id_col).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection, CursorResult

from states.deadlines import ACTIVE, MET, Ending
from states.deadlines import Deadline as ClockDeadline
from states.errors import Conflict, InvalidInput, NotFound
from storage import models
from storage.models import Complaint, Deadline, Event, User
from storage.rows import ActorRow, ComplaintRow, NamedUserRow, UserRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db

COMPLAINT = table_of(Complaint)
DEADLINE = table_of(Deadline)
EVENT = table_of(Event)
USER = table_of(User)
OUTBOX = table_of(models.Outbox)

_SEL_CASE = select(COMPLAINT).where(COMPLAINT.c.number == bindparam("number"))
_SEL_CASE_ID = select(COMPLAINT).where(COMPLAINT.c.id == bindparam("cid"))
_SEL_USER = select(USER).where(USER.c.username == bindparam("username"))
_SEL_DEADLINES = select(DEADLINE).where(DEADLINE.c.complaint_id == bindparam("cid"))
_INS_EVENT = insert(EVENT)
_SEL_ALERT = select(OUTBOX.c.id).where(OUTBOX.c.dedupe_key == bindparam("key"))
_INS_ALERT = insert(OUTBOX)
_INS_DEADLINE = insert(DEADLINE)
_UPD_DEADLINE = (
    update(DEADLINE)
    .where(DEADLINE.c.id == bindparam("_id"))
    .values(
        {
            c: bindparam(c)
            for c in (
                "status",
                "started_at",
                "allowance",
                "paused_at",
                "paused_seconds",
                "due_at",
                "warnings",
                "verified",
                "rule",
                "met_at",
                "next_check_at",
            )
        }
    )
)


_ACTOR = (
    USER.c.username.label("actor_username"),
    USER.c.role.label("actor_role"),
    USER.c.active.label("actor_active"),
)
_WITH_ACTOR = COMPLAINT.outerjoin(USER, USER.c.username == bindparam("actor"))
_SEL_CASE_AND_ACTOR = (
    select(COMPLAINT, *_ACTOR)
    .select_from(_WITH_ACTOR)
    .where(COMPLAINT.c.number == bindparam("number"))
)
PERSON = USER.alias("person")
_SEL_CASE_ACTOR_AND_PERSON = (
    select(
        COMPLAINT,
        *_ACTOR,
        PERSON.c.username.label("person_username"),
        PERSON.c.role.label("person_role"),
        PERSON.c.active.label("person_active"),
    )
    .select_from(_WITH_ACTOR.outerjoin(PERSON, PERSON.c.username == bindparam("person")))
    .where(COMPLAINT.c.number == bindparam("number"))
)


def load_case_and_actor(
    conn: Connection, number: str, actor: str, *, person: str | None = None
) -> tuple[ComplaintRow, ActorRow, NamedUserRow | None]:
    """The complaint, the acting user and (when the action names one) another user, in one
    round trip. The other user is returned unchecked ({"username": None, ...} when unknown):
    the effect that needs it checks it with `checked_user`, in its turn."""
    params = {"number": number, "actor": actor, "person": person}
    query = _SEL_CASE_AND_ACTOR if person is None else _SEL_CASE_ACTOR_AND_PERSON
    row = conn.execute(query, params).mappings().first()
    if row is None:
        raise NotFound(f"投诉 {number} 不存在")
    case = dict(row)
    user = checked_user({k: case.pop(f"actor_{k}") for k in ("username", "role", "active")}, actor)
    named = None
    if person is not None:
        named = NamedUserRow(
            username=case.pop("person_username"),
            role=case.pop("person_role"),
            active=case.pop("person_active"),
        )
    return cast(ComplaintRow, case), user, named


def checked_user(row: Mapping[Any, Any] | None, username: str, field: str = "user") -> ActorRow:
    """A user row as loaded, refused when unknown or disabled; `field` names the option that
    gave the name (the acting --user, or e.g. --owner)."""
    if row is None or row["username"] is None:
        raise InvalidInput(field, f"用户 {username} 不存在")
    if not row["active"]:
        raise InvalidInput(field, f"用户 {username} 已停用")
    return cast(ActorRow, dict(row))


def complaint_row(row: Mapping[Any, Any]) -> ComplaintRow:
    """A copy of a `complaint` row selected with every column, typed."""
    return cast(ComplaintRow, dict(row))


def load_case(conn: Connection, number: str) -> ComplaintRow:
    row = conn.execute(_SEL_CASE, {"number": number}).mappings().first()
    if row is None:
        raise NotFound(f"投诉 {number} 不存在")
    return complaint_row(row)


def load_case_by_id(conn: Connection, cid: int) -> ComplaintRow:
    row = conn.execute(_SEL_CASE_ID, {"cid": cid}).mappings().first()
    if row is None:
        raise NotFound(f"投诉 #{cid} 不存在")
    return complaint_row(row)


def load_user(conn: Connection, username: str, field: str = "user") -> UserRow:
    """A user by name, refused when unknown or disabled (the statement selects every column)."""
    row = conn.execute(_SEL_USER, {"username": username}).mappings().first()
    return cast(UserRow, checked_user(row, username, field))


def load_deadlines(conn: Connection, cid: int) -> dict[str, ClockDeadline]:
    out: dict[str, ClockDeadline] = {}
    for r in conn.execute(_SEL_DEADLINES, {"cid": cid}).mappings():
        dl = ClockDeadline(
            name=r["name"],
            started_at=from_db(r["started_at"]),
            allowance=r["allowance"],
            status=r["status"],
            paused_at=from_db(r["paused_at"]),
            paused_seconds=r["paused_seconds"],
            met_at=from_db(r["met_at"]),
            due_at=from_db(r["due_at"]),
            warnings=list(r["warnings"] or []),
            verified=r["verified"],
            rule=r["rule"],
            changed=False,
            row_id=r["id"],
        )
        out[dl.name] = dl
    return out


def deadline_values(dl: ClockDeadline) -> dict[str, Any]:
    return {
        "status": dl.status,
        "started_at": to_db(dl.started_at),
        "allowance": dl.allowance,
        "paused_at": to_db(dl.paused_at),
        "paused_seconds": dl.paused_seconds,
        "due_at": to_db(dl.due_at),
        "warnings": dl.warnings,
        "verified": dl.verified,
        "rule": dl.rule,
        "met_at": to_db(dl.met_at),
        "next_check_at": to_db(dl.next_check_at),
    }


def save_deadlines(conn: Connection, cid: int, deadlines: Mapping[str, ClockDeadline]) -> None:
    new, changed = [], []
    for dl in deadlines.values():
        if not dl.changed:
            continue
        values = deadline_values(dl)
        if dl.row_id is not None:
            changed.append({"_id": dl.row_id, **values})
        else:
            new.append({"complaint_id": cid, "name": dl.name, **values})
    if changed:
        conn.execute(_UPD_DEADLINE, changed)
    if new:
        conn.execute(_INS_DEADLINE, new)


_END_BY_ENDING: dict[Ending, Any] = {}


def _end_statement(ending: Ending) -> Any:
    """One prepared UPDATE per ending (`states.deadlines.end`, in SQL)."""
    stmt = _END_BY_ENDING.get(ending)
    if stmt is None:
        # OR of equalities rather than IN: an IN list is expanded anew at every execution.
        where = [
            DEADLINE.c.complaint_id == bindparam("cid"),
            or_(*(DEADLINE.c.status == s for s in ACTIVE)),
        ]
        if ending.names is not None:
            where.append(or_(*(DEADLINE.c.name == n for n in ending.names)))
        values: dict[str, Any] = {"status": ending.status, "next_check_at": None}
        if ending.status == MET:
            values["met_at"] = bindparam("at")
        else:
            values["paused_at"] = None
        stmt = _END_BY_ENDING[ending] = update(DEADLINE).where(*where).values(values)
    return stmt


def end_deadlines(conn: Connection, cid: int, ending: Ending, at: datetime) -> None:
    """Mark a complaint's running or paused deadlines met or stopped, without loading them."""
    params: dict[str, Any] = {"cid": cid}
    if ending.status == MET:
        params["at"] = to_db(at)
    conn.execute(_end_statement(ending), params)


_UPDATE_BY_COLUMNS: dict[frozenset[str], Any] = {}


def _case_update(columns: frozenset[str]) -> Any:
    """One prepared UPDATE per set of columns (each action sets a fixed set)."""
    stmt = _UPDATE_BY_COLUMNS.get(columns)
    if stmt is None:
        stmt = (
            update(COMPLAINT)
            .where(COMPLAINT.c.id == bindparam("_id"), COMPLAINT.c.version == bindparam("_v"))
            .values({c: bindparam(c) for c in sorted(columns)})
        )
        _UPDATE_BY_COLUMNS[columns] = stmt
    return stmt


def update_case(conn: Connection, case: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """Compare-and-swap on `version`; raises Conflict if someone else moved the case first."""
    new_version: int = case["version"] + 1
    params = {**values, "version": new_version}
    result = conn.execute(
        _case_update(frozenset(params)), {**params, "_id": case["id"], "_v": case["version"]}
    )
    if result.rowcount != 1:
        raise Conflict(f"投诉 {case['number']} 已被他人修改(版本 {case['version']}), 请刷新后重试")
    return new_version


def append_event(
    conn: Connection,
    *,
    complaint_id: int,
    seq: int,
    action: str,
    from_state: str | None,
    to_state: str | None,
    actor: str,
    role: str,
    at: datetime,
    recorded_at: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    result = conn.execute(
        _INS_EVENT,
        {
            "complaint_id": complaint_id,
            "seq": seq,
            "action": action,
            "from_state": from_state,
            "to_state": to_state,
            "actor": actor,
            "role": role,
            "at": to_db(at),
            "recorded_at": to_db(recorded_at),
            "reason": reason,
            "details": details or {},
        },
    )
    return inserted_id(result)


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT just wrote. SQLAlchemy types
    `inserted_primary_key` as optional: it is None only for a statement that is no INSERT."""
    key = result.inserted_primary_key
    if key is None:
        raise TypeError("inserted_id() needs the result of a single-row INSERT")
    return int(key[0])


def enqueue_alert(
    conn: Connection,
    *,
    dedupe_key: str,
    kind: str,
    audience: str,
    complaint_id: int | None,
    event_id: int | None,
    payload: dict[str, Any],
    urgent: bool,
    now: datetime,
) -> bool:
    """Write one alert to the outbox in the caller's transaction; False if already queued."""
    exists = conn.execute(_SEL_ALERT, {"key": dedupe_key}).first()
    if exists:
        return False
    conn.execute(
        _INS_ALERT,
        {
            "dedupe_key": dedupe_key,
            "kind": kind,
            "audience": audience,
            "complaint_id": complaint_id,
            "event_id": event_id,
            "payload": payload,
            "urgent": urgent,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": to_db(now),
            "created_at": to_db(now),
        },
    )
    return True


def master_of(conn: Connection, row: Mapping[str, Any]) -> ComplaintRow:
    """The first complaint of the matter `row` belongs to (merges and links point to it).
    `row` may hold only some columns (at least `id`); the master is returned in full."""
    if row.get("merged_into_id"):
        row = load_case_by_id(conn, row["merged_into_id"])
    if row.get("linked_to_id"):
        row = load_case_by_id(conn, row["linked_to_id"])
    return complaint_row(row) if "complainant_hash" in row else load_case_by_id(conn, row["id"])


def rows_of_case(conn: Connection, table: Table, number: str) -> list[dict[str, Any]]:
    """The rows of a per-complaint table (consultations, referrals, ...) for one complaint,
    oldest first; NotFound when the number is unknown."""
    case = load_case(conn, number)
    query = select(table).where(table.c.complaint_id == case["id"]).order_by(table.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]
