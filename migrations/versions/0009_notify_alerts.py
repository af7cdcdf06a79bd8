"""notify alerts: the shared rate budget of robots, users' WeCom id and work mobile (issue 16)

Revision ID: 0009_notify_alerts
Revises: 0008_merge

`notify_rate_slot` holds one row per post to a rate-limited robot so that every dispatcher,
in every process, counts the same budget (notifications/budget.py). `user.wecom_userid` and
`user.mobile_token` (a Fernet token, storage/vault.py) name whom a robot alert @-mentions.
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0009_notify_alerts"
down_revision: Union[str, None] = "0008_merge"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "notify_rate_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_notify_rate_slot_channel_at", "notify_rate_slot", ["channel_id", "taken_at"]
    )
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column(
                "wecom_userid",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
        batch.add_column(sa.Column("mobile_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("mobile_token")
        batch.drop_column("wecom_userid")
    op.drop_index("ix_notify_rate_slot_channel_at", table_name="notify_rate_slot")
    op.drop_table("notify_rate_slot")
