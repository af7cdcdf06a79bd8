"""The joint consultation table (会商). Schema only; the rules live in
services/automatic/consultation.py. Imports nothing of services/ or flows/.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


class Consultation(SQLModel, table=True):
    """A joint consultation: departments invited, a meeting in working hours, the decision."""

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    # Why it was convened, once per key: "deadline:<cycle>", "major", "ledger:<…>", "manual:<…>".
    dedupe_key: str = Field(unique=True, max_length=160)
    reason_code: str = Field(max_length=24)  # deadline_share | major | repeat | backlog | manual
    reason: str = Field(sa_column=Column(Text, nullable=False))
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    meeting_at: datetime
    status: str = Field(default="convened", max_length=12, index=True)  # convened | concluded
    convened_by: str = Field(max_length=64)
    convened_at: datetime
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    decision: str | None = Field(default=None, sa_column=Column(Text))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None
