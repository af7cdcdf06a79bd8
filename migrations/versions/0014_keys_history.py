"""keys, history and access (issue 14)

Revision ID: 0014_keys_history
Revises: 0009_notify_alerts

`key_check`: the personal-data key's check value and the match-hash key it protects
(services/keys.py); `access_refusal`: every refused attempt to act, and `pii_access`: personal
data shown in full outside a complaint's history, e.g. unmasked import rejects
(services/access.py).
The history cannot be emptied wholesale: on PostgreSQL a statement-level trigger refuses
TRUNCATE of `event` (also when cascaded from `complaint`); on SQLite, where foreign keys are
off for any connection that does not turn them on, a trigger refuses to delete a complaint
that has events.
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0014_keys_history"
down_revision: Union[str, None] = "0009_notify_alerts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("hash_key_enc", sa.Text(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("completed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    op.create_table(
        "access_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
        sa.Column("command", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_refusal_at", "access_refusal", ["at"])
    op.create_table(
        "pii_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pii_access_at", "pii_access", ["at"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER complaint_keeps_history BEFORE DELETE ON complaint "
            "WHEN EXISTS (SELECT 1 FROM event WHERE complaint_id = OLD.id) "
            "BEGIN SELECT RAISE(ABORT, 'event log is append-only: complaint has events'); END"
        )
    else:
        op.execute(
            "CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON event "
            "FOR EACH STATEMENT EXECUTE FUNCTION tousu_event_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS complaint_keeps_history")
    else:
        op.execute("DROP TRIGGER IF EXISTS event_no_truncate ON event")
    op.drop_index("ix_pii_access_at", table_name="pii_access")
    op.drop_table("pii_access")
    op.drop_index("ix_access_refusal_at", table_name="access_refusal")
    op.drop_table("access_refusal")
    op.drop_table("key_check")
