"""The personal-data key's check values (storage/vault.py). Schema only; the rules live in
services/keys.py. Imports nothing of services/ or flows/.

One row per key the database has known: its fingerprint (a one-way check value, never the
key), whether it is the key in use, the key being rotated to, or retired, and the match-hash
key (which must outlive rotations, or repeat detection would lose every earlier complaint)
encrypted with that key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


class KeyCheck(SQLModel, table=True):
    __tablename__ = "key_check"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(unique=True, max_length=64)
    state: str = Field(max_length=12)  # current | rotating | retired
    hash_key_enc: str = Field(sa_column=Column(Text, nullable=False))
    # Rotation to this key: the last row id re-encrypted per table, so a rerun resumes.
    progress: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime
    completed_at: datetime | None = None
