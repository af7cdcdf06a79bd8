"""Refused attempts to act (unknown or disabled user, a role or scope outside its rights).
Schema only; services/access.py writes it. Imports nothing of services/ or flows/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class AccessRefusal(SQLModel, table=True):
    __tablename__ = "access_refusal"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    username: str = Field(max_length=64)  # as given (may name no user)
    role: str | None = Field(default=None, max_length=24)
    command: str = Field(max_length=200)  # the command and complaint number, never values
    reason: str = Field(sa_column=Column(Text, nullable=False))
