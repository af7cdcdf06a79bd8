"""The API's idempotency keys (`Idempotency-Key` on POST /api/v1/complaints). Schema only; the
rules live in services/intake/idempotency.py. Imports nothing of services/.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class IdempotencyKey(SQLModel, table=True):
    """One caller's key: the request it first came with (SHA-256 of the canonical body) and
    the response that request got, replayed to a retry until `expires_at`. `status_code` is
    0 while the first request is still being handled."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("username", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int = 0
    response: str | None = Field(default=None, sa_column=Column(Text))
    complaint_number: str | None = Field(default=None, max_length=32)
    created_at: datetime
    expires_at: datetime = Field(index=True)
