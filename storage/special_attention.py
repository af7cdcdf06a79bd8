"""Tables of the special-attention list (特别关注客户). Schema only; the rules live in
services/lifecycle/special_attention.py.

`special_attention_audit` is append-only (a trigger in 0004_ledger): the audit trail of who
saw and changed what.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


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
