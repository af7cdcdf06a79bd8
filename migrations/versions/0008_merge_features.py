"""merge the feature branches into one head

Each feature (flows, notifications, ledger, CLI indexes, reports) was migrated from 0001 in
parallel; this revision joins them so that plain `alembic upgrade head` works too and later
migrations have one parent.

Revision ID: 0008_merge
Revises: 0002_flows, 0003_notify, 0004_ledger, 0006_cli, 0007_reports
Create Date: 2026-11-23
"""
from typing import Sequence, Union

revision: str = "0008_merge"
down_revision: Union[str, Sequence[str], None] = (
    "0002_flows", "0003_notify", "0004_ledger", "0006_cli", "0007_reports")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A merge point only: the joined revisions carry every schema change."""


def downgrade() -> None:
    """Nothing to undo here; downgrading continues into each joined revision."""
