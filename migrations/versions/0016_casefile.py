"""case file: contacts, evidence, rectification items (issue 18)

Revision ID: 0016_casefile
Revises: 0009_notify_alerts

`contact`: every contact with the complainant (services/casefile/contacts.py); `evidence`: the
files attached to a case, kept encrypted outside the database, by SHA-256 and size
(services/casefile/evidence.py); `rectification_item`: the rectification ledger (整改台账,
services/casefile/rectification.py).
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016_casefile"
down_revision: Union[str, None] = "0009_notify_alerts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("at", _T(), nullable=False),
        sa.Column("channel", _S(length=16), nullable=False),
        sa.Column("direction", _S(length=8), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recording_ref", _S(length=200), nullable=True),
        sa.Column("unrecorded", sa.Boolean(), nullable=False),
        sa.Column("actor", _S(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", _T(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_complaint_at", "contact", ["complaint_id", "at"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", _S(length=16), nullable=False),
        sa.Column("filename", _S(length=255), nullable=False),
        sa.Column("media_type", _S(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _S(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", _S(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("attached_at", _T(), nullable=False),
        sa.Column("erased_at", _T(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_complaint_id", "evidence", ["complaint_id"])
    op.create_table(
        "rectification_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("department", _S(length=40), nullable=False),
        sa.Column("branch", _S(length=40), nullable=False),
        sa.Column("due_at", _T(), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("completion_evidence", sa.Text(), nullable=True),
        sa.Column("completed_at", _T(), nullable=True),
        sa.Column("ladder_level", sa.Integer(), nullable=False),
        sa.Column("created_by", _S(length=64), nullable=False),
        sa.Column("created_at", _T(), nullable=False),
        sa.Column("updated_at", _T(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rectification_item_complaint_id", "rectification_item", ["complaint_id"])
    op.create_index("ix_rectification_status_due", "rectification_item", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_rectification_status_due", table_name="rectification_item")
    op.drop_index("ix_rectification_item_complaint_id", table_name="rectification_item")
    op.drop_table("rectification_item")
    op.drop_index("ix_evidence_complaint_id", table_name="evidence")
    op.drop_table("evidence")
    op.drop_index("ix_contact_complaint_at", table_name="contact")
    op.drop_table("contact")
