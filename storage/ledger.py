"""Tables of the repeat/backlog ledger (台账). Schema only; the rules live in
services/automatic/repeats.py and services/automatic/ledger.py. The special-attention list is
in storage/special_attention.py.

`ledger_action` is append-only (a trigger in 0004_ledger): the audit trail of who changed what.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class LedgerMatter(SQLModel, table=True):
    """One complainant matter: a master complaint and every repeat of it (合并 or 关联)."""

    __tablename__ = "ledger_matter"
    __table_args__ = (Index("ix_ledger_matter_status", "status", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    master_complaint_id: int = Field(foreign_key="complaint.id", unique=True)
    complainant_hash: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # repeat | backlog | dissatisfied
    owner: str | None = Field(default=None, max_length=64)
    resolution_class: str | None = Field(default=None, max_length=16)
    status: str = Field(default="open", max_length=16)  # open | resolved
    stopped_on: date | None = None  # 停访息诉
    complaint_count: int = 1
    case_count: int = 1  # complaints not merged away (each handled and counted on its own)
    regulator_count: int = 0
    first_received_at: datetime
    last_received_at: datetime
    opened_at: datetime
    updated_at: datetime
    consulted_at: datetime | None = None
    version: int = 1
    note: str | None = Field(default=None, sa_column=Column(Text))


class LedgerMember(SQLModel, table=True):
    """A complaint of a matter: `master`, `merged` (Art. 18 ¶3) or `linked` (own case)."""

    __tablename__ = "ledger_member"

    id: int | None = Field(default=None, primary_key=True)
    matter_id: int = Field(foreign_key="ledger_matter.id", index=True)
    complaint_id: int = Field(foreign_key="complaint.id", unique=True)
    relation: str = Field(max_length=12)
    added_at: datetime
    # 0012: the identifiers that made it a repeat, comma-separated (id_number, phone,
    # policy_name; then policy, category): services/automatic/repeats.py.
    matched_on: str | None = Field(default=None, max_length=64)


class LedgerAction(SQLModel, table=True):
    """Append-only: measures taken (措施) and every change to a matter."""

    __tablename__ = "ledger_action"

    id: int | None = Field(default=None, primary_key=True)
    matter_id: int = Field(foreign_key="ledger_matter.id", index=True)
    at: datetime
    actor: str = Field(max_length=64)
    kind: str = Field(max_length=24)
    note: str | None = Field(default=None, sa_column=Column(Text))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
