"""dashboard: open complaints by escalation level from the index (issue 19)

Revision ID: 0022_dashboard_levels
Revises: 0021_identity_audit

The supervisor's dashboard counts open complaints by state and by escalation level
(services/reporting/dashboard.py). `ix_complaint_state` served the first; the second read every
complaint row (about 0.3 s at a million complaints, once per `[dashboard] cache_seconds` in each
web worker). `ix_complaint_state_level` (state, escalation_level) covers both counts and every
lookup by state, so it replaces `ix_complaint_state` rather than adding a second index that each
state change would have to update.
No tables of its own, hence nothing to register in migrations/env.py.
"""
from typing import Sequence, Union

from alembic import op


revision: str = "0022_dashboard_levels"
down_revision: Union[str, None] = "0021_identity_audit"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_complaint_state_level", "complaint", ["state", "escalation_level"])
    op.drop_index("ix_complaint_state", table_name="complaint")


def downgrade() -> None:
    op.create_index("ix_complaint_state", "complaint", ["state"])
    op.drop_index("ix_complaint_state_level", table_name="complaint")
