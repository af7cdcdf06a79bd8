"""The evidence table (证据材料). Schema only; the rules live in services/casefile/evidence.py.
Imports nothing of services/ or flows/.

The file itself is not here: it is kept encrypted in the evidence store (`[evidence] dir`),
under its SHA-256. This row and the `attach` event keep the hash and the size, so that
`tousu evidence verify` can tell a changed or missing file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    kind: str = Field(max_length=16)  # states/casefile.py EVIDENCE_KINDS
    filename: str = Field(max_length=255)  # as given, shown to handlers
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    note: str | None = Field(default=None, sa_column=Column(Text))
    actor: str = Field(max_length=64)
    event_id: int | None = None
    attached_at: datetime
    erased_at: datetime | None = None  # the retention period ended: the file was deleted
