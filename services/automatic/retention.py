"""Retention of personal data (docs/rules.md §3: Art. 28 records; Order 2022 No. 9).

Owns: erasing the personal data of complaints finished (closed, withdrawn, declined, merged)
more than `[retention] years` ago. The flow `retention` (flows/retention.py) runs it nightly.
Must not import cli/, flows/ or notifications/.

- The period counts from the day the case finished (`closed_at`, else its last event), that
  day not counted: closed on 2016-11-30, erased from 2026-12-01 (Asia/Shanghai) with 10 years.
- What is erased: the complainant's and the agent's `party` rows (name, ID number, phone,
  address, legal representative: the only place personal data lives, storage/models.py).
  The keyed hashes beside them (storage/vault.py) and the complaint's `complainant_hash` are
  kept only with `[retention] keep_hashes = true` (repeat matching and `tousu find` then still
  recognise the person, who can no longer be read). The case, its history and its figures
  stay: reports and the ledger keep counting it.
- Each erasure appends one event (`erase_pii`, 删除个人信息) to the complaint's history, in the
  same transaction as the erasure; `party.erased_at` marks it done, so a rerun finds nothing.
- A party still named by a complaint that is not past its period is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection

from services.casefile import evidence
from services.context import Context
from services.lifecycle import audit
from states import lifecycle as lc
from storage import records
from storage.message import ComplainantEmail
from storage.models import Party
from storage.records import COMPLAINT
from storage.schema import table_of
from storage.timeutil import to_db, utcnow

PARTY = table_of(Party)
COMPLAINANT_EMAIL = table_of(ComplainantEmail)
_FINISHED = sorted(s.value for s in lc.FINISHED)
_ended_at = func.coalesce(COMPLAINT.c.closed_at, COMPLAINT.c.last_event_at)
_DUE = (
    select(COMPLAINT.c.id, COMPLAINT.c.number, COMPLAINT.c.complainant_id, COMPLAINT.c.agent_id)
    .join_from(COMPLAINT, PARTY, PARTY.c.id == COMPLAINT.c.complainant_id)
    .where(
        COMPLAINT.c.received_at < bindparam("cutoff"),  # a range of ix_complaint_received_at
        COMPLAINT.c.state.in_(_FINISHED),
        _ended_at < bindparam("cutoff"),
        PARTY.c.erased_at.is_(None),
        COMPLAINT.c.id > bindparam("after"),
    )
    .order_by(COMPLAINT.c.id)
    .limit(bindparam("batch"))
)
# Another complaint of the same party that is still within its period (or still open).
_STILL_KEPT = (
    select(COMPLAINT.c.id)
    .where(
        COMPLAINT.c.complainant_id == bindparam("pid"),
        COMPLAINT.c.id != bindparam("cid"),
        (COMPLAINT.c.state.not_in(_FINISHED)) | (_ended_at >= bindparam("cutoff")),
    )
    .limit(1)
)
_PERSONAL = {
    "name_enc": "",
    "id_number_enc": None,
    "phone_enc": None,
    "address_enc": None,
    "legal_rep_enc": None,
}
_HASHES = {"name_hash": "", "id_number_hash": None, "phone_hash": None}


@dataclass
class RetentionResult:
    cutoff: datetime
    erased: list[str] = field(default_factory=list)  # complaint numbers
    parties: int = 0
    evidence_files: int = 0  # evidence files erased (services/casefile/evidence.py)


def cutoff(ctx: Context, now: datetime) -> datetime:
    """Cases finished before this instant are past the period: local midnight of the same date
    `years` years ago (28 February for a 29 February)."""
    day = now.astimezone(ctx.tz).date()
    years = ctx.config.retention_years
    try:
        then = day.replace(year=day.year - years)
    except ValueError:
        then = day.replace(year=day.year - years, day=28)
    return datetime.combine(then, time(0), ctx.tz)


def erase_expired(
    ctx: Context, *, now: datetime | None = None, batch: int = 200
) -> RetentionResult:
    """Erase the personal data of every case past the retention period; one transaction per
    batch of cases."""
    now = now or utcnow()
    # The evidence goes with the personal data: a store that cannot be reached stops the run
    # before anything is erased, so no case is left erased with its files still kept.
    evidence.store_ready(ctx)
    result = RetentionResult(cutoff=cutoff(ctx, now))
    after = 0
    while True:
        with ctx.transaction() as conn:
            rows = (
                conn.execute(_DUE, {"cutoff": to_db(result.cutoff), "after": after, "batch": batch})
                .mappings()
                .all()
            )
            for row in rows:
                _erase_case(ctx, conn, row, result, now)
        # The case's evidence follows its retention period too, each case with its own event
        # (after the personal data's commit: files go only once their rows say so).
        result.evidence_files += evidence.erase_cases(ctx, [r["id"] for r in rows], now=now)
        if len(rows) < batch:
            return result
        after = rows[-1]["id"]


def _erase_case(
    ctx: Context, conn: Connection, row: Any, result: RetentionResult, now: datetime
) -> None:
    keep = ctx.config.retention_keep_hashes
    values: dict[str, Any] = {**_PERSONAL, "erased_at": to_db(now)}
    if not keep:
        values.update(_HASHES)
    erased = []
    for role in ("complainant", "agent"):
        pid = row[f"{role}_id"]
        if pid is None:
            continue
        params = {"pid": pid, "cid": row["id"], "cutoff": to_db(result.cutoff)}
        if conn.execute(_STILL_KEPT, params).first() is not None:
            continue
        conn.execute(update(PARTY).where(PARTY.c.id == pid).values(**values))
        # The e-mail kept for messages to the complainant (services/casefile/messages.py).
        conn.execute(delete(COMPLAINANT_EMAIL).where(COMPLAINANT_EMAIL.c.party_id == pid))
        erased.append(role)
    if not erased:
        return
    if not keep:
        conn.execute(
            update(COMPLAINT).where(COMPLAINT.c.id == row["id"]).values(complainant_hash="")
        )
    years = ctx.config.retention_years
    audit.record_in(
        conn,
        records.load_case_by_id(conn, row["id"]),
        actor=lc.Role.system.value,
        role=lc.Role.system.value,
        action=audit.ERASE_PII,
        reason=f"办结已满 {years} 年 (保存期限), 删除投诉人个人信息",
        details={"parties": erased, "retention_years": years, "hashes_kept": keep},
    )
    result.erased.append(row["number"])
    result.parties += len(erased)
