"""Tables of the notification side (issue 5): one delivery per alert and resolved channel,
every attempt to send it, and the health of each channel. Imports nothing of services/.

`outbox` (storage/models.py) holds the alert as the causing transaction wrote it. The
dispatcher fans an alert out into `notify_delivery` rows, one per channel its audience
resolves to; `dedupe_key` (complaint × event × kind × channel) is UNIQUE, so the same
recipient is never sent the same alert twice even when two audiences resolve to one channel.
Channels are named by `channel_id`, a hash of the Apprise URL: a secret never reaches a row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class NotifyDelivery(SQLModel, table=True):
    __tablename__ = "notify_delivery"
    __table_args__ = (Index("ix_notify_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    dedupe_key: str = Field(unique=True, max_length=240)
    channel_id: str = Field(max_length=40, index=True)
    channel_label: str = Field(max_length=300)  # Apprise's privacy URL: secrets elided
    tag: str = Field(max_length=120)  # the Apprise tag that routed it
    priority: int = 0  # Apprise tag priority: 0 primary, higher numbers are fallbacks
    fallback_of: int | None = Field(default=None, foreign_key="notify_delivery.id")
    urgent: bool = False
    # pending | sending | sent | failed_over (a fallback took over) | dead (given up)
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class DeliveryAttempt(SQLModel, table=True):
    """Every try to send a delivery, successful or not: the evidence that someone was told."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="notify_delivery.id", index=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    channel_id: str = Field(max_length=40)
    started_at: datetime
    finished_at: datetime
    result: str = Field(max_length=12)  # sent | failed | interrupted | throttled | uncertain
    error: str | None = Field(default=None, sa_column=Column(Text))  # secrets redacted


class NotifyChannel(SQLModel, table=True):
    """Health of a channel as the dispatcher last saw it (`tousu notifications status`)."""

    __tablename__ = "notify_channel"

    channel_id: str = Field(primary_key=True, max_length=40)
    label: str = Field(max_length=300)
    service: str = Field(max_length=40)
    consecutive_failures: int = 0
    total_sent: int = 0
    total_failed: int = 0
    last_ok_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class NotifyRateSlot(SQLModel, table=True):
    """One post to a rate-limited robot (WeCom, DingTalk: 20 a minute per robot): the budget
    every dispatcher of every process shares (notifications/budget.py). A dispatcher takes a
    slot in a transaction that counts the robot's slots within the window, so two
    dispatchers at once never exceed it together; old slots are pruned as new ones are taken."""

    __tablename__ = "notify_rate_slot"
    __table_args__ = (Index("ix_notify_rate_slot_channel_at", "channel_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str = Field(max_length=40)
    taken_at: datetime
