"""Tables of the repeat/backlog ledger (台账) and the special-attention list (特别关注客户).
Schema only; the rules live in services/automatic/repeats.py, services/automatic/ledger.py and
services/lifecycle/special_attention.py.

`special_attention_audit` and `ledger_action` are append-only (triggers in 0004_ledger):
they are the audit trail of who saw and changed what.
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


class SpecialAttention(SQLModel, table=True):
    """A complainant on the special-attention list. Keyed by the identity hash only."""

    __tablename__ = "special_attention"

    id: int | None = Field(default=None, primary_key=True)
    complainant_hash: str = Field(max_length=64, index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    added_by: str = Field(max_length=64)
    added_at: datetime
    active: bool = True
    removed_by: str | None = Field(default=None, max_length=64)
    removed_at: datetime | None = None
    removal_reason: str | None = Field(default=None, sa_column=Column(Text))


class SpecialAttentionAudit(SQLModel, table=True):
    """Append-only: every view and change of the special-attention list."""

    __tablename__ = "special_attention_audit"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int | None = Field(default=None, foreign_key="special_attention.id", index=True)
    action: str = Field(max_length=16)  # add | list | view | remove | denied
    actor: str = Field(max_length=64)
    role: str = Field(max_length=24)
    at: datetime
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
