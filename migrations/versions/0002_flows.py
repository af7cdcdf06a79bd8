"""flows: escalation, consultation, mediation_referral (issue 4)

Revision ID: 0002_flows
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_flows"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("deadline_name", _S(length=32), nullable=False),
        sa.Column("level", _S(length=40), nullable=False),
        sa.Column("cycle", _S(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("audience", _S(length=120), nullable=False),
        sa.Column("due_at", _T(), nullable=True),
        sa.Column("fired_at", _T(), nullable=False),
        sa.Column("outcome", _S(length=12), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "deadline_name", "level", "cycle",
                            name="uq_escalation_once"),
    )
    op.create_index("ix_escalation_complaint_id", "escalation", ["complaint_id"])
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", _S(length=160), nullable=False),
        sa.Column("reason_code", _S(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=True),
        sa.Column("meeting_at", _T(), nullable=False),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("convened_by", _S(length=64), nullable=False),
        sa.Column("convened_at", _T(), nullable=False),
        sa.Column("reminded_at", _T(), nullable=True),
        sa.Column("escalated_at", _T(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("decided_by", _S(length=64), nullable=True),
        sa.Column("decided_at", _T(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_consultation_complaint_id", "consultation", ["complaint_id"])
    op.create_index("ix_consultation_status", "consultation", ["status"])
    op.create_table(
        "mediationreferral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("channel", _S(length=16), nullable=False),
        sa.Column("organisation", _S(length=120), nullable=False),
        sa.Column("contact", _S(length=120), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("referred_at", _T(), nullable=False),
        sa.Column("follow_up_at", _T(), nullable=False),
        sa.Column("followed_up", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("advice", _S(length=16), nullable=True),
        sa.Column("result_at", _T(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "event_seq"),
    )
    op.create_index("ix_mediationreferral_complaint_id", "mediationreferral", ["complaint_id"])
    op.create_index("ix_mediationreferral_status", "mediationreferral", ["status"])
    op.create_index("ix_mediationreferral_follow_up_at", "mediationreferral", ["follow_up_at"])


def downgrade() -> None:
    op.drop_table("mediationreferral")
    op.drop_table("consultation")
    op.drop_table("escalation")
