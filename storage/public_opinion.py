"""The public-opinion (舆情) plan's tasks. Schema only; the rules live in
services/automatic/public_opinion.py. Imports nothing of services/ or flows/.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class OpinionTask(SQLModel, table=True):
    """One task of the 舆情 plan (docs/rules.md §4): today the risk assessment by the upper
    management team, opened when a complaint is found to involve the media, with its owner and,
    once recorded, its outcome."""

    __tablename__ = "opinion_task"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    kind: str = Field(default="risk_assessment", max_length=24)
    owner: str | None = Field(default=None, max_length=64)
    status: str = Field(default="open", max_length=12)  # open | done
    source: str | None = Field(default=None, sa_column=Column(Text))
    opened_at: datetime
    opened_by: str = Field(max_length=64)
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    done_at: datetime | None = None
    done_by: str | None = Field(default=None, max_length=64)
