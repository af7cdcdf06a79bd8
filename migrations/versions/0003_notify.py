"""notifications: deliveries, attempts, channel health (issue 5)

Revision ID: 0003_notify
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_notify"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "notify_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", _S(length=240), nullable=False),
        sa.Column("channel_id", _S(length=40), nullable=False),
        sa.Column("channel_label", _S(length=300), nullable=False),
        sa.Column("tag", _S(length=120), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("fallback_of", sa.Integer(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _T(), nullable=False),
        sa.Column("lease_until", _T(), nullable=True),
        sa.Column("created_at", _T(), nullable=False),
        sa.Column("sent_at", _T(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.ForeignKeyConstraint(["fallback_of"], ["notify_delivery.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_notify_delivery_outbox_id", "notify_delivery", ["outbox_id"])
    op.create_index("ix_notify_delivery_channel_id", "notify_delivery", ["channel_id"])
    op.create_index("ix_notify_delivery_due", "notify_delivery", ["status", "next_attempt_at"])
    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", _S(length=40), nullable=False),
        sa.Column("started_at", _T(), nullable=False),
        sa.Column("finished_at", _T(), nullable=False),
        sa.Column("result", _S(length=12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["notify_delivery.id"]),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_attempt_delivery_id", "delivery_attempt", ["delivery_id"])
    op.create_index("ix_delivery_attempt_outbox_id", "delivery_attempt", ["outbox_id"])
    op.create_table(
        "notify_channel",
        sa.Column("channel_id", _S(length=40), nullable=False),
        sa.Column("label", _S(length=300), nullable=False),
        sa.Column("service", _S(length=40), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("total_sent", sa.Integer(), nullable=False),
        sa.Column("total_failed", sa.Integer(), nullable=False),
        sa.Column("last_ok_at", _T(), nullable=True),
        sa.Column("last_failure_at", _T(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    # The outbox is swept by status: pending alerts not yet fanned out.
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_next", table_name="outbox")
    op.drop_table("notify_channel")
    op.drop_table("delivery_attempt")
    op.drop_table("notify_delivery")
