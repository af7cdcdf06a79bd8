"""merge the branches of the rules, retention, keys and case-file work into one head

Issues 13, 14 and 18 were migrated from 0009 in parallel; this revision joins them so that
plain `alembic upgrade head` works too and later migrations have one parent.

Revision ID: 0017_merge
Revises: 0010_rules_review, 0011_rules_recusal, 0012_retention, 0014_keys_history, 0016_casefile
Create Date: 2026-11-30
"""
from typing import Sequence, Union

revision: str = "0017_merge"
down_revision: Union[str, Sequence[str], None] = (
    "0010_rules_review",
    "0011_rules_recusal",
    "0012_retention",
    "0014_keys_history",
    "0016_casefile",
)
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A merge point only: the joined revisions carry every schema change."""


def downgrade() -> None:
    """Nothing to undo here; downgrading continues into each joined revision."""
