"""rules recusal: the staff number of each user (issue 13, Art. 17)

Revision ID: 0011_rules_recusal
Revises: 0009_notify_alerts

`user.employee_no` (工号) is matched against `complaint.employee_no`, the employee complained
about, so that neither the owner nor the investigator is that employee (Art. 17 recusal,
services/lifecycle/effects.py).
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0011_rules_recusal"
down_revision: Union[str, None] = "0009_notify_alerts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column(
                "employee_no",
                sqlmodel.sql.sqltypes.AutoString(length=40),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("employee_no")
