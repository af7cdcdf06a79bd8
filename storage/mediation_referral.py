"""The mediation referral table (调解转介). Schema only; the rules live in
services/automatic/mediation.py. Imports nothing of services/ or flows/.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class MediationReferral(SQLModel, table=True):
    """A referral to a mediation organisation; the clock stays paused while it runs."""

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    # The mediate event this referral belongs to: one referral per referral event.
    event_seq: int
    channel: str = Field(max_length=16)  # industry | people | judicial
    organisation: str = Field(max_length=120)
    contact: str = Field(max_length=120)  # outbox audience tag of the mediation contact
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = Field(default="referred", max_length=12, index=True)  # referred | agreed | failed
    referred_at: datetime
    follow_up_at: datetime = Field(index=True)
    followed_up: int = 0
    result: str | None = Field(default=None, sa_column=Column(Text))
    advice: str | None = Field(default=None, max_length=16)  # arbitration | litigation
    result_at: datetime | None = None

    __table_args__ = (UniqueConstraint("complaint_id", "event_seq"),)
