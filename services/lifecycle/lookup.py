"""Finding complaints by a person's identifier (`tousu find`), without decrypting anything.

- Who: the roles that may see personal data (`states.lifecycle.PII_ROLES`: intake clerks,
  liaisons, supervisors); others are refused.
- How: a phone or ID number (or credit code) is validated as at registration, then compared
  through its keyed hash (storage/vault.py) with the `party` rows of complainants and agents;
  a policy number is compared with the complaint's. Several given narrow the search (all must
  match).
- Logged like `show --reveal` (Order 2022 No. 9: access to personal data is logged): every
  complaint found gets a `find_pii` event naming who searched and by which identifier, never
  the value searched for.
- A party whose data the retention flow erased is found only while its hashes are kept
  (`[retention] keep_hashes`); its name then shows as erased.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection, RowMapping

from services import privacy
from services.context import Context
from services.lifecycle import audit
from states import lifecycle as lc
from states import validation as v
from states.errors import Forbidden, InvalidInput
from storage import records
from storage.models import Party
from storage.records import COMPLAINT
from storage.schema import table_of

PARTY = table_of(Party)
LABELS = {"phone": "联系电话", "id_number": "证件号码", "policy": "保单号"}
_COLUMNS = (
    COMPLAINT.c.id,
    COMPLAINT.c.number,
    COMPLAINT.c.state,
    COMPLAINT.c.received_at,
    COMPLAINT.c.channel,
    COMPLAINT.c.category,
    COMPLAINT.c.branch,
    COMPLAINT.c.owner,
    COMPLAINT.c.policy_no,
    COMPLAINT.c.complainant_id,
    COMPLAINT.c.agent_id,
)


def _id_hash(ctx: Context, value: str) -> str | None:
    """A resident ID number, else a credit code (organisations), hashed as registration does."""
    try:
        normal = v.resident_id(value)
    except InvalidInput as first:
        try:
            normal = v.credit_code(value, "id_number")
        except InvalidInput:
            raise first from None
    return ctx.vault.match_hash("id", normal)


def find(
    ctx: Context,
    *,
    actor: Mapping[str, Any],
    phone: str | None = None,
    id_number: str | None = None,
    policy: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Complaints whose complainant or agent has this phone / ID number, or on this policy;
    newest first. Each found complaint records the search in its history."""
    role = lc.Role(actor["role"])
    if role not in lc.PII_ROLES:
        allowed = "、".join(r.label for r in lc.PII_ROLES)
        raise Forbidden(f"角色「{role.label}」无权按个人信息查找投诉, 可查找角色: {allowed}")
    given = {
        k: val.strip()
        for k, val in (("phone", phone), ("id_number", id_number), ("policy", policy))
        if val is not None and val.strip()
    }
    if not given:
        raise InvalidInput("phone", "请给出 --phone、--id-number 或 --policy 中的至少一项")
    hashes: dict[str, str | None] = {}
    if "phone" in given:
        hashes["phone_hash"] = ctx.vault.match_hash("phone", v.phone(given["phone"]))
    if "id_number" in given:
        hashes["id_number_hash"] = _id_hash(ctx, given["id_number"])
    stmt = select(*_COLUMNS).order_by(COMPLAINT.c.received_at.desc()).limit(limit)
    if hashes:
        parties = select(PARTY.c.id).where(
            *(getattr(PARTY.c, column) == value for column, value in hashes.items())
        )
        stmt = stmt.where(
            or_(COMPLAINT.c.complainant_id.in_(parties), COMPLAINT.c.agent_id.in_(parties))
        )
    if "policy" in given:
        stmt = stmt.where(COMPLAINT.c.policy_no == given["policy"])
    by = list(given)
    reason = "按" + "、".join(LABELS[k] for k in by) + "查找投诉"
    found: list[dict[str, Any]] = []
    with ctx.transaction() as conn:
        rows = conn.execute(stmt).mappings().all()
        party_rows: dict[int, dict[str, Any]] = {
            p["id"]: dict(p)
            for p in conn.execute(
                select(PARTY).where(PARTY.c.id.in_([r["complainant_id"] for r in rows] or [-1]))
            ).mappings()
        }
        matched = _matched_parties(conn, hashes, rows)
        for row in rows:
            audit.record_in(
                conn,
                records.load_case_by_id(conn, row["id"]),
                actor=actor["username"],
                role=actor["role"],
                action=audit.FIND_PII,
                reason=reason,
                details={"by": by, "parties": matched.get(row["id"], [])},
            )
            item = dict(row)
            party = party_rows.get(item.pop("complainant_id"))
            item.pop("agent_id")
            item["complainant"] = _masked_name(ctx, party)
            item["matched"] = matched.get(item.pop("id"), []) + (
                ["policy"] if "policy" in given else []
            )
            found.append(item)
    return found


def _matched_parties(
    conn: Connection, hashes: dict[str, str | None], rows: Sequence[RowMapping]
) -> dict[int, list[str]]:
    """Which party of each complaint (complainant, agent) the identifiers matched."""
    if not hashes:
        return {}
    ids = {r["complainant_id"] for r in rows} | {r["agent_id"] for r in rows if r["agent_id"]}
    hit = {
        p
        for (p,) in conn.execute(
            select(PARTY.c.id).where(
                PARTY.c.id.in_(sorted(ids) or [-1]),
                *(getattr(PARTY.c, column) == value for column, value in hashes.items()),
            )
        )
    }
    return {r["id"]: [k for k in ("complainant", "agent") if r[f"{k}_id"] in hit] for r in rows}


def _masked_name(ctx: Context, party: Mapping[str, Any] | None) -> str:
    if party is None:
        return "—"
    if party["erased_at"] is not None:
        return "(已超过保存期限删除)"
    name = ctx.vault.decrypt(party["name_enc"]) or ""
    if party["kind"] == "organisation":
        return name
    return privacy.mask_name(name) or "—"
