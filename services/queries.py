"""Read side: one complaint with its deadlines and history; work queues. No writes except
the audit event for an unmasked view of personal data (`reveal=True`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services import records
from services.context import Context
from storage.models import Party
from storage.timeutil import from_db

P = Party.__table__  # type: ignore[attr-defined]


def deadline_view(row: Any) -> dict[str, Any]:
    return {"name": row["name"], "status": row["status"], "due": from_db(row["due_at"]),
            "started": from_db(row["started_at"]), "verified": bool(row["verified"]),
            "rule": row["rule"], "warnings": row["warnings"], "met": from_db(row["met_at"]),
            "allowance": row["allowance"], "paused_seconds": row["paused_seconds"]}


def get_complaint(ctx: Context, number: str) -> dict[str, Any]:
    """The complaint row, its named deadlines (by due time) and its events (in order)."""
    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        deadlines = conn.execute(select(records.D).where(records.D.c.complaint_id == case["id"])
                                 .order_by(records.D.c.due_at)).mappings().all()
        events = conn.execute(select(records.E).where(records.E.c.complaint_id == case["id"])
                              .order_by(records.E.c.seq)).mappings().all()
    return {"case": case, "deadlines": [deadline_view(d) for d in deadlines],
            "events": [dict(e) for e in events]}


def decrypt_party(ctx: Context, party_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(P).where(P.c.id == party_id)).mappings().first()
    if row is None:
        return {}
    v = ctx.vault
    return {"kind": row["kind"], "name": v.decrypt(row["name_enc"]),
            "id_number": v.decrypt(row["id_number_enc"]), "phone": v.decrypt(row["phone_enc"]),
            "address": v.decrypt(row["address_enc"]), "credit_code": row["credit_code"],
            "legal_rep": v.decrypt(row["legal_rep_enc"])}
