"""reports: period indexes (issue 7)

Revision ID: 0007_reports
Revises: 0001

Reports aggregate the complaints received in a period and the events recorded in it
(services/reporting/reports.py). `ix_complaint_received_at` turns each period filter into an index range
instead of a scan of every complaint (the existing (complainant_hash, received_at) index cannot
serve a range on receipt time alone); `ix_event_action_at` does the same for the few actions a
report counts (escalate, consult, mediate, settle, end_mediation) in a period.
No tables of its own, hence nothing to register in migrations/env.py.
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0007_reports'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = (("ix_complaint_received_at", "complaint", ["received_at"]),
           ("ix_event_action_at", "event", ["action", "at"]))


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
