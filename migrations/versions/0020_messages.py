"""messages: the queue of messages to the complainant and the complainant's e-mail (issue 18)

Revision ID: 0020_messages
Revises: 0019_api

Tables of storage/message.py (rules in services/casefile/messages.py): `complainant_message`,
one row per SMS or e-mail to the complainant with its retries, and `complainant_email`, the
complainant's encrypted e-mail address.
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0020_messages"
down_revision: Union[str, None] = "0019_api"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "complainant_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", S(length=16), nullable=False),
        sa.Column("channel", S(length=8), nullable=False),
        sa.Column("status", S(length=12), nullable=False),
        sa.Column("subject", S(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", T(), nullable=False),
        sa.Column("lease_until", T(), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("sent_at", T(), nullable=True),
        sa.Column("actor", S(length=64), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_complainant_message_due", "complainant_message", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_complainant_message_complaint", "complainant_message", ["complaint_id", "status"]
    )
    op.create_table(
        "complainant_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("email_enc", sa.Text(), nullable=False),
        sa.Column("actor", S(length=64), nullable=False),
        sa.Column("recorded_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("party_id"),
    )


def downgrade() -> None:
    op.drop_table("complainant_email")
    op.drop_index("ix_complainant_message_complaint", table_name="complainant_message")
    op.drop_index("ix_complainant_message_due", table_name="complainant_message")
    op.drop_table("complainant_message")
