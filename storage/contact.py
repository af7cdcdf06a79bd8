"""The contact log table (联系记录). Schema only; the rules live in services/casefile/contacts.py.
Imports nothing of services/ or flows/.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class Contact(SQLModel, table=True):
    """One contact with the complainant, in or out; its event in the history is `event_id`."""

    __tablename__ = "contact"
    __table_args__ = (Index("ix_contact_complaint_at", "complaint_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    at: datetime
    channel: str = Field(max_length=16)  # states/casefile.py CHANNELS
    direction: str = Field(max_length=8)  # out | in
    summary: str = Field(sa_column=Column(Text, nullable=False))
    recording_ref: str | None = Field(default=None, max_length=200)
    unrecorded: bool = False  # a call or visit without a recording reference (Art. 7)
    actor: str = Field(max_length=64)
    event_id: int | None = None
    recorded_at: datetime
