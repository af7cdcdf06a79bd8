"""The rectification table (整改台账). Schema only; the rules live in
services/casefile/rectification.py. Imports nothing of services/ or flows/.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class RectificationItem(SQLModel, table=True):
    """One item to put right, opened from a case's root cause (以案促改)."""

    __tablename__ = "rectification_item"
    __table_args__ = (Index("ix_rectification_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    what: str = Field(sa_column=Column(Text, nullable=False))
    root_cause: str | None = Field(default=None, sa_column=Column(Text))
    department: str = Field(max_length=40)  # [consultation] departments
    branch: str = Field(max_length=40)  # the complaint's branch
    due_at: datetime
    status: str = Field(max_length=16)  # states/casefile.py ITEM_STATUSES
    completion_evidence: str | None = Field(default=None, sa_column=Column(Text))
    completed_at: datetime | None = None
    ladder_level: int = 0  # the highest rung of [[rectification.ladder]] reached
    created_by: str = Field(max_length=64)
    created_at: datetime
    updated_at: datetime
