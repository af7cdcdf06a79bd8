"""Messages to the complainant (短信/电子邮件告知) and the complainant's e-mail address.
Schema only; the rules live in services/casefile/messages.py. Imports nothing of services/.

`complainant_message` is the durable queue of one message per row (kind × channel): a send
that fails is retried with back-off and, after `[messages] failures_shown` failures, is
`failed` (shown in the handler's queue) until a retry succeeds or it is dismissed. The text
is rendered when the message is queued and holds no personal data beyond the case number; the
phone number or address is read from the vault at send time only and never stored here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class ComplainantMessage(SQLModel, table=True):
    __tablename__ = "complainant_message"
    __table_args__ = (
        Index("ix_complainant_message_due", "status", "next_attempt_at"),
        Index("ix_complainant_message_complaint", "complaint_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    kind: str = Field(max_length=16)  # acceptance | extension | decision
    channel: str = Field(max_length=8)  # sms | email
    # pending | sending | sent | failed (retried, shown in the queue) | dismissed
    status: str = Field(default="pending", max_length=12)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    created_at: datetime
    sent_at: datetime | None = None
    actor: str = Field(max_length=64)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # The contact recorded for its outcome (sent, or failed when it first reached the queue).
    contact_id: int | None = None


class ComplainantEmail(SQLModel, table=True):
    """The complainant's e-mail address, encrypted with the vault like the party's phone
    (registration keeps no e-mail; `tousu message NUMBER --email ADDRESS` records it)."""

    __tablename__ = "complainant_email"

    # `id` as every table with a Fernet token has (the key rotation walks them by id).
    id: int | None = Field(default=None, primary_key=True)
    party_id: int = Field(foreign_key="party.id", unique=True)
    email_enc: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=64)
    recorded_at: datetime
