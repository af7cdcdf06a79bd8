"""retention and repeats across identifiers (issue 13 items 7 and 11)

Revision ID: 0012_retention
Revises: 0009_notify_alerts

`party.erased_at`: when the retention flow erased the party's personal data (docs/rules.md
§3, Art. 28; `[retention]`). `ledger_member.matched_on`: which identifiers made a complaint a
repeat of its matter (ID number, phone, policy number + name; docs/rules.md §4).
`ix_complaint_complainant_id`: repeat detection finds a party's earlier complaints through
the party's keyed hashes (services/automatic/repeats.py).
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0012_retention"
down_revision: Union[str, None] = "0009_notify_alerts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("party") as batch:
        batch.add_column(sa.Column("erased_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("ledger_member") as batch:
        batch.add_column(
            sa.Column("matched_on", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    op.create_index("ix_complaint_complainant_id", "complaint", ["complainant_id"])


def downgrade() -> None:
    op.drop_index("ix_complaint_complainant_id", table_name="complaint")
    with op.batch_alter_table("ledger_member") as batch:
        batch.drop_column("matched_on")
    with op.batch_alter_table("party") as batch:
        batch.drop_column("erased_at")
