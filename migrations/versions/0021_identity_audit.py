"""identity audit is append-only (issue 19)

Revision ID: 0021_identity_audit
Revises: 0020_messages

`identity_event` (logins, failed logins, logouts, password and token changes, links) can be
appended to, never changed or deleted, like the ledger's and special attention's audit trails
(0004_ledger): on SQLite a trigger per verb, on PostgreSQL the ledger's trigger function.
"""
from typing import Sequence, Union

from alembic import op


revision: str = "0021_identity_audit"
down_revision: Union[str, None] = "0020_messages"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER identity_event_append_only_{verb.lower()} BEFORE {verb} "
                "ON identity_event BEGIN SELECT RAISE(ABORT, 'identity_event is append-only'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER identity_event_append_only BEFORE UPDATE OR DELETE ON identity_event "
            "FOR EACH ROW EXECUTE FUNCTION tousu_ledger_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS identity_event_append_only_{verb}")
    else:
        op.execute("DROP TRIGGER IF EXISTS identity_event_append_only ON identity_event")
