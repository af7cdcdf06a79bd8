"""Personal data shown in full outside a complaint's own history (e.g. an import's rejects
file written unmasked). Schema only; services/access.py writes it. A reveal on one complaint
is an event in that complaint's history instead (services/lifecycle/audit.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class PiiAccess(SQLModel, table=True):
    __tablename__ = "pii_access"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    username: str = Field(max_length=64)
    role: str = Field(max_length=24)
    what: str = Field(max_length=200)  # e.g. "import rejects"
    detail: str = Field(sa_column=Column(Text, nullable=False))  # the file written, never data
