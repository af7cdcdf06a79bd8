"""The satisfaction callback table (回访). Schema only; the rules live in
services/automatic/callbacks.py. Imports nothing of services/ or flows/.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class Callback(SQLModel, table=True):
    """One satisfaction callback attempt (回访). `round` counts notifications of a decision."""

    __tablename__ = "callback"
    __table_args__ = (Index("ix_callback_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    round: int = 1
    attempt: int = 1
    status: str = Field(max_length=16)  # scheduled | reached | unreachable | cancelled
    due_at: datetime
    window_end_at: datetime
    assignee: str = Field(max_length=64)
    calendar_verified: bool = True
    alerted_at: datetime | None = None
    escalated_at: datetime | None = None
    recorded_by: str | None = Field(default=None, max_length=64)
    recorded_at: datetime | None = None
    satisfaction: str | None = Field(default=None, max_length=24)
    nps: int | None = None
    outcome: str | None = Field(default=None, max_length=24)
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
