"""The special-attention list (特别关注客户, docs/rules.md §4).

Owns: supervisors adding, listing, viewing and removing complainants with repeated,
fraudulent or malicious complaints, each entry with a reason and evidence.

- Visible to supervisors only: every function checks the role here, in the service.
- Every view and change, and every refused attempt, is written to `special_attention_audit`
  (append-only). Not to the complaint's `event` log: that history is shown to every handler
  of the case, and would reveal the listing to people who may not see it.
- Never used to refuse a complaint: registration, acceptance and decline do not import this
  module (tests/ledger/test_special_attention.py checks it). It exists so supervisors can
  prepare, not so anyone can turn a complainant away (Art. 14/18 ¶4: the only ground to
  decline is a complainant who may not complain).
Must not import cli/, flows/ or notifications/.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from services.context import Context
from states import lifecycle as lc
from states.errors import Forbidden, InvalidInput, NotFound
from storage import records
from storage.rows import ActorRow
from storage.schema import table_of
from storage.special_attention import SpecialAttention, SpecialAttentionAudit
from storage.timeutil import to_db, utcnow

SPECIAL_ATTENTION = table_of(SpecialAttention)
SPECIAL_ATTENTION_AUDIT = table_of(SpecialAttentionAudit)


def _audit(
    conn: Connection,
    *,
    action: str,
    user: ActorRow,
    entry_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(SPECIAL_ATTENTION_AUDIT).values(
            entry_id=entry_id,
            action=action,
            actor=user["username"],
            role=user["role"],
            at=to_db(utcnow()),
            details=details or {},
        )
    )


def _supervisor(ctx: Context, actor: str, action: str, details: dict[str, Any]) -> None:
    """Deny by default; a refused attempt is audited in its own transaction and raised."""
    with ctx.engine.begin() as conn:
        user = records.load_user(conn, actor)
        if lc.Role(user["role"]) == lc.Role.supervisor:
            return
        _audit(conn, action="denied", user=user, details={"attempted": action, **details})
    raise Forbidden("特别关注客户名单仅主管可见")


def add(ctx: Context, *, actor: str, number: str, reason: str, evidence: str) -> int:
    """List the complainant of complaint `number` (matched by identity hash, never by name)."""
    _supervisor(ctx, actor, "add", {"complaint": number})
    if not (reason or "").strip():
        raise InvalidInput("reason", "须填写列入原因")
    if not (evidence or "").strip():
        raise InvalidInput("evidence", "须填写依据材料(如投诉编号、录音、书面材料)")
    with ctx.engine.begin() as conn:
        user = records.load_user(conn, actor)
        case = records.load_case(conn, number)
        key = case["complainant_hash"]
        if not key:
            raise InvalidInput("number", "该投诉的投诉人无可识别身份, 不能列入名单")
        active = conn.execute(
            select(SPECIAL_ATTENTION.c.id).where(
                SPECIAL_ATTENTION.c.complainant_hash == key, SPECIAL_ATTENTION.c.active.is_(True)
            )
        ).scalar()
        if active is not None:
            raise InvalidInput("number", f"该投诉人已在名单中(条目 #{active})")
        entry_id = records.inserted_id(
            conn.execute(
                insert(SPECIAL_ATTENTION).values(
                    complainant_hash=key,
                    complaint_id=case["id"],
                    reason=reason.strip(),
                    evidence=evidence.strip(),
                    added_by=user["username"],
                    added_at=to_db(utcnow()),
                    active=True,
                )
            )
        )
        _audit(
            conn,
            action="add",
            user=user,
            entry_id=entry_id,
            details={"complaint": number, "reason": reason.strip()},
        )
    return entry_id


def _view(conn: Connection, row: Any) -> dict[str, Any]:
    out = dict(row)
    out["complaint"] = (
        conn.execute(
            select(records.COMPLAINT.c.number).where(records.COMPLAINT.c.id == row["complaint_id"])
        ).scalar()
        if row["complaint_id"]
        else None
    )
    return out


def list_entries(
    ctx: Context, *, actor: str, include_removed: bool = False
) -> list[dict[str, Any]]:
    _supervisor(ctx, actor, "list", {})
    with ctx.engine.begin() as conn:
        user = records.load_user(conn, actor)
        stmt = select(SPECIAL_ATTENTION).order_by(SPECIAL_ATTENTION.c.added_at.desc())
        if not include_removed:
            stmt = stmt.where(SPECIAL_ATTENTION.c.active.is_(True))
        out = [_view(conn, r) for r in conn.execute(stmt).mappings().all()]
        _audit(
            conn,
            action="list",
            user=user,
            details={"count": len(out), "include_removed": include_removed},
        )
    return out


def show(ctx: Context, entry_id: int, *, actor: str) -> dict[str, Any]:
    _supervisor(ctx, actor, "view", {"entry": entry_id})
    with ctx.engine.begin() as conn:
        user = records.load_user(conn, actor)
        row = (
            conn.execute(select(SPECIAL_ATTENTION).where(SPECIAL_ATTENTION.c.id == entry_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"名单条目 #{entry_id} 不存在")
        _audit(conn, action="view", user=user, entry_id=entry_id)
        entry = _view(conn, row)
        entry["audit"] = [
            dict(a)
            for a in conn.execute(
                select(SPECIAL_ATTENTION_AUDIT)
                .where(SPECIAL_ATTENTION_AUDIT.c.entry_id == entry_id)
                .order_by(SPECIAL_ATTENTION_AUDIT.c.id)
            ).mappings()
        ]
    return entry


def flag_for(ctx: Context, number: str, *, actor: str) -> dict[str, Any] | None:
    """For a supervisor viewing a complaint: the active entry of its complainant, if any."""
    _supervisor(ctx, actor, "view", {"complaint": number})
    with ctx.engine.begin() as conn:
        user = records.load_user(conn, actor)
        case = records.load_case(conn, number)
        row = (
            conn.execute(
                select(SPECIAL_ATTENTION).where(
                    SPECIAL_ATTENTION.c.complainant_hash == case["complainant_hash"],
                    SPECIAL_ATTENTION.c.active.is_(True),
                )
            )
            .mappings()
            .first()
        )
        _audit(
            conn,
            action="view",
            user=user,
            entry_id=row["id"] if row else None,
            details={"complaint": number, "listed": row is not None},
        )
        return _view(conn, row) if row else None


def remove(ctx: Context, entry_id: int, *, actor: str, reason: str) -> None:
    """Take a complainant off the list; the entry is kept, inactive, with who and why."""
    _supervisor(ctx, actor, "remove", {"entry": entry_id})
    if not (reason or "").strip():
        raise InvalidInput("reason", "须填写移出原因")
    with ctx.engine.begin() as conn:
        user = records.load_user(conn, actor)
        done = conn.execute(
            update(SPECIAL_ATTENTION)
            .where(SPECIAL_ATTENTION.c.id == entry_id, SPECIAL_ATTENTION.c.active.is_(True))
            .values(
                active=False,
                removed_by=user["username"],
                removed_at=to_db(utcnow()),
                removal_reason=reason.strip(),
            )
        )
        if done.rowcount != 1:
            raise NotFound(f"名单条目 #{entry_id} 不存在或已移出")
        _audit(
            conn, action="remove", user=user, entry_id=entry_id, details={"reason": reason.strip()}
        )


def audit_log(ctx: Context, *, actor: str) -> list[dict[str, Any]]:
    _supervisor(ctx, actor, "audit", {})
    with ctx.engine.begin() as conn:
        user = records.load_user(conn, actor)
        rows = [
            dict(r)
            for r in conn.execute(
                select(SPECIAL_ATTENTION_AUDIT).order_by(SPECIAL_ATTENTION_AUDIT.c.id)
            ).mappings()
        ]
        _audit(conn, action="view", user=user, details={"audit_log": True})
    return rows
