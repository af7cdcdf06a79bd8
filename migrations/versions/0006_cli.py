"""cli: index for work queues (issue 3)

Revision ID: 0006_cli
Revises: 0001

`tousu queue` orders a queue by each complaint's nearest running deadline. With this index the
per-complaint lookup (complaint_id, status = 'running') → min(due_at) is answered from the
index alone, so a queue costs what its own cases cost, not what the 1M-row table costs.
No tables of its own, hence nothing to register in migrations/env.py.
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0006_cli'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEX = "ix_deadline_complaint_status_due"


def upgrade() -> None:
    op.create_index(INDEX, "deadline", ["complaint_id", "status", "due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="deadline")
