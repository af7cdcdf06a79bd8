"""SQLModel tables. Times are aware UTC (sqlmodel's UTCDateTime; `storage.timeutil` converts at
the edges).

Personal data lives only in `party`, encrypted, with a keyed hash beside each identifying
field for matching without decrypting. The event log is append-only (a trigger created by
the first migration refuses UPDATE and DELETE).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Party(SQLModel, table=True):
    """A complainant, agent, heir or legal representative (个人信息, encrypted)."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="person", max_length=16)  # person | organisation
    name_enc: str
    name_hash: str = Field(index=True, max_length=64)
    id_type: str = Field(default="resident_id", max_length=24)
    id_number_enc: str | None = None
    id_number_hash: str | None = Field(default=None, index=True, max_length=64)
    phone_enc: str | None = None
    phone_hash: str | None = Field(default=None, index=True, max_length=64)
    address_enc: str | None = None
    credit_code: str | None = Field(default=None, max_length=18)  # organisations, not personal
    legal_rep_enc: str | None = None
    created_at: datetime
    # 0012: personal data erased past the retention period (`[retention]`, flows/retention.py);
    # the *_enc fields are then empty and the hashes kept only if configured.
    erased_at: datetime | None = None


class Institution(SQLModel, table=True):
    """The institution complained about (head office or a branch)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str
    branch: str = Field(default="head_office", max_length=64)
    level: str = Field(default="branch", max_length=16)  # head_office | branch


class User(SQLModel, table=True):
    """A person (or the `system` actor) who acts on complaints."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    name: str
    role: str = Field(max_length=24)
    team: str = Field(default="", max_length=64)
    branch: str = Field(default="head_office", max_length=64)
    # 0011: the staff number (工号), matched against the employee a complaint is about
    # (Art. 17 recusal).
    employee_no: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)
    # For @-mentions in WeCom robot alerts (0009): the WeCom user id, and the work mobile as
    # a Fernet token (storage/vault.py), never the number itself.
    wecom_userid: str = Field(default="", max_length=64)
    mobile_token: str | None = Field(default=None, sa_column=Column(Text))
    active: bool = True
    created_at: datetime


class Complaint(SQLModel, table=True):
    __table_args__ = (
        Index("ix_complaint_complainant_received", "complainant_hash", "received_at"),
        Index("ix_complaint_policy_received", "policy_no", "received_at"),
        # 0023: a queue (mine, a branch's) nearest running deadline first, from the index
        Index("ix_complaint_owner_state_due", "owner", "state", "next_due_at"),
        Index("ix_complaint_branch_state_due", "branch", "state", "next_due_at"),
        Index("ix_complaint_received_at", "received_at"),  # 0007: report periods
        Index("ix_complaint_complainant_id", "complainant_id"),  # 0012: repeats by identifier
        # 0022/0023: by state; open ones by escalation level, overdue and due today (the
        # dashboard) from the index
        Index("ix_complaint_state_level_due", "state", "escalation_level", "next_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, unique=True, max_length=32)
    external_ref: str | None = Field(default=None, unique=True, max_length=80)
    state: str = Field(max_length=24)  # indexed with escalation_level, next_due_at (0023)
    version: int = 1
    event_count: int = 0
    priority: str = Field(default="normal", max_length=8)
    priority_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    category: str | None = Field(default=None, max_length=40)
    product: str | None = Field(default=None, max_length=40)
    channel: str = Field(max_length=40)
    branch: str = Field(default="head_office", max_length=64)
    owner: str | None = Field(default=None, max_length=64)
    registered_by: str = Field(max_length=64)
    received_at: datetime
    registered_at: datetime
    accepted_at: datetime | None = None
    decided_at: datetime | None = None
    notified_at: datetime | None = None
    closed_at: datetime | None = None
    last_event_at: datetime
    complainant_id: int = Field(foreign_key="party.id")
    complainant_capacity: str = Field(default="consumer", max_length=16)
    complainant_hash: str = Field(max_length=64)
    agent_id: int | None = Field(default=None, foreign_key="party.id")
    power_of_attorney: str | None = None
    institution_id: int | None = Field(default=None, foreign_key="institution.id")
    employee_name: str | None = None
    employee_no: str | None = Field(default=None, max_length=40)
    claim: str = Field(sa_column=Column(Text, nullable=False))
    facts: str = Field(sa_column=Column(Text, nullable=False))
    basis: str | None = Field(default=None, sa_column=Column(Text))
    policy_no: str | None = Field(default=None, max_length=64)
    amount: float | None = None
    regulator_forwarded: bool = False
    regulator_ref: str | None = Field(default=None, max_length=64)
    regulator_forwarded_on: datetime | None = None
    group_size: int = 1
    media_involved: bool = False
    vulnerable: bool = False
    decided_by_branch: bool = False
    # Art. 20 (0010): the institutions (config/taxonomy.toml [branches]) that made the
    # decision and the review of it.
    decided_by: str | None = Field(default=None, max_length=64)
    reviewed_by: str | None = Field(default=None, max_length=64)
    extension_level: int = 0
    escalation_level: int = 0
    merged_into_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    linked_to_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    # The nearest `due_at` of the complaint's running deadlines (NULL while none runs), kept
    # by triggers on `deadline` (migrations/versions/0023_next_due.py); never written here.
    next_due_at: datetime | None = None


class Deadline(SQLModel, table=True):
    """A named deadline of one complaint; `next_check_at` is what the sweep indexes."""

    __table_args__ = (
        UniqueConstraint("complaint_id", "name"),
        # 0006: a handler's queue sorted by the nearest running deadline.
        Index("ix_deadline_complaint_status_due", "complaint_id", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    name: str = Field(max_length=32)
    status: str = Field(max_length=12)
    started_at: datetime
    allowance: int
    paused_at: datetime | None = None
    paused_seconds: int = 0
    due_at: datetime = Field(index=True)
    warnings: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    verified: bool = True
    rule: str
    met_at: datetime | None = None
    next_check_at: datetime | None = Field(default=None, index=True)


class Event(SQLModel, table=True):
    """Append-only history: the regulator's evidence and the source of every report."""

    __table_args__ = (
        UniqueConstraint("complaint_id", "seq"),
        Index("ix_event_action_at", "action", "at"),  # 0007: report counts by action
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    seq: int
    action: str = Field(max_length=40, index=True)
    from_state: str | None = Field(default=None, max_length=24)
    to_state: str | None = Field(default=None, max_length=24)
    actor: str = Field(max_length=64)
    role: str = Field(max_length=24)
    at: datetime = Field(index=True)
    recorded_at: datetime
    reason: str | None = Field(default=None, sa_column=Column(Text))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Outbox(SQLModel, table=True):
    """Alerts written in the transaction of the event that causes them (notifications/ sends)."""

    # 0003: the dispatcher's claim of pending alerts.
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    kind: str = Field(max_length=40)
    audience: str = Field(max_length=120)
    urgent: bool = False
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
