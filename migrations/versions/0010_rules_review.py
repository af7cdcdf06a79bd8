"""rules review: which institution decided and reviewed, the 舆情 plan's tasks (issue 13)

Revision ID: 0010_rules_review
Revises: 0009_notify_alerts

`complaint.decided_by` / `complaint.reviewed_by` are branch codes of config/taxonomy.toml
(Art. 20: a branch's decision is reviewed by a higher institution). `opinion_task` holds the
risk-assessment task the 舆情 plan opens (storage/public_opinion.py).
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0010_rules_review"
down_revision: Union[str, None] = "0009_notify_alerts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(
            sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("reviewed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    op.create_table(
        "opinion_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("done_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_opinion_task_complaint_id", "opinion_task", ["complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_opinion_task_complaint_id", table_name="opinion_task")
    op.drop_table("opinion_task")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("reviewed_by")
        batch.drop_column("decided_by")
