"""The escalation table (issue 4): escalations fired. Imports nothing of services/ or flows/.
Joint consultations are in storage/consultation.py, mediation referrals in
storage/mediation_referral.py.

`escalation` is what makes "act once" hold: one row per (complaint, deadline, level, cycle),
UNIQUE, written in the transaction that appends the event and the outbox alert. `cycle` names
one run of a clock: the deadline's start and allowance, so a restart (Art. 18 ¶3) or an
extension (Art. 18) fires the ladder again while a pause (Art. 18 ¶2, Art. 23), which only
shifts the due time, does not. Immediate escalations use deadline_name "immediate".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
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
