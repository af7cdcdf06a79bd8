"""Tables of the automatic side (issue 4): escalations fired, joint consultations (会商),
mediation referrals (调解转介). Imports nothing of services/ or flows/.

`escalation` is what makes "act once" hold: one row per (complaint, deadline, level, cycle),
UNIQUE, written in the transaction that appends the event and the outbox alert. `cycle` names
one run of a clock: the deadline's start and allowance, so a restart (Art. 18 ¶3) or an
extension (Art. 18) fires the ladder again while a pause (Art. 18 ¶2, Art. 23), which only
shifts the due time, does not. Immediate escalations use deadline_name "immediate".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Escalation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint(
            "complaint_id", "deadline_name", "level", "cycle", name="uq_escalation_once"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    deadline_name: str = Field(max_length=32)
    level: str = Field(max_length=40)  # ladder code (warn_50 …) or immediate trigger (media …)
    cycle: str = Field(max_length=64)
    rank: int = 0  # the ladder's numeric level (complaint.escalation_level)
    audience: str = Field(default="", max_length=120)
    due_at: datetime | None = None
    fired_at: datetime
    outcome: str = Field(default="acted", max_length=12)  # acted | superseded
    event_id: int | None = Field(default=None, foreign_key="event.id")


class Consultation(SQLModel, table=True):
    """A joint consultation: departments invited, a meeting in working hours, the decision."""

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    # Why it was convened, once per key: "deadline:<cycle>", "major", "ledger:<…>", "manual:<…>".
    dedupe_key: str = Field(unique=True, max_length=160)
    reason_code: str = Field(max_length=24)  # deadline_share | major | repeat | backlog | manual
    reason: str = Field(sa_column=Column(Text, nullable=False))
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    meeting_at: datetime
    status: str = Field(default="convened", max_length=12, index=True)  # convened | concluded
    convened_by: str = Field(max_length=64)
    convened_at: datetime
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    decision: str | None = Field(default=None, sa_column=Column(Text))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None


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
