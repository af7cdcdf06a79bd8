"""complaint.next_due_at: the nearest running deadline, kept by the database (issue 19)

Revision ID: 0023_next_due
Revises: 0022_dashboard_levels

The work queue is ordered by each complaint's nearest running deadline, and the dashboard
counts the complaints whose nearest one has passed (overdue) or falls today. Both found it by
looking up every open complaint's deadlines: at a million complaints about 1 ms for a
liaison's queue and 0.2 s for the two counts. `complaint.next_due_at` holds that time (NULL
while no deadline runs), so the queue is a range of an index and the counts read an index.

Triggers on `deadline` keep it, in the transaction of every change: a deadline inserted,
deleted, or whose status, due time or complaint changes recomputes the minimum for its
complaint(s). No code path writes the column (storage/records.py never names it), so no
write, the bench's bulk loads and raw SQL included, can leave it stale. The upgrade fills it
in for the complaints open now. On PostgreSQL (READ COMMITTED) one statement's snapshot is taken
before it waits for a lock: the trigger function first locks the complaint row(s) and then
computes the minimum in a statement of its own, whose fresh snapshot (a VOLATILE function's
each statement) sees what the transaction it waited for committed.

Indexes: (owner, state, next_due_at) and (branch, state, next_due_at) replace (owner, state)
and (branch, state), which they cover; (state, escalation_level, next_due_at) replaces 0022's
(state, escalation_level): the counts by state and level still read it in order, and the
overdue and due-today counts read it without touching a row (a second index starting with
state would be chosen for the first count without covering it: 0.2 s instead of 5 ms).
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0023_next_due"
down_revision: Union[str, None] = "0022_dashboard_levels"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The nearest running deadline of the complaint row being updated.
NEAREST = (
    "(SELECT min(d.due_at) FROM deadline d "
    "WHERE d.complaint_id = complaint.id AND d.status = 'running')"
)
# A change that can move a complaint's nearest running deadline.
MOVES = (
    "(OLD.status = 'running' OR NEW.status = 'running') AND "
    "(OLD.status IS NOT NEW.status OR OLD.due_at IS NOT NEW.due_at "
    "OR OLD.complaint_id IS NOT NEW.complaint_id)"
)


def upgrade() -> None:
    op.add_column(
        "complaint", sa.Column("next_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )
    op.execute(
        f"UPDATE complaint SET next_due_at = {NEAREST} WHERE EXISTS "
        "(SELECT 1 FROM deadline d WHERE d.complaint_id = complaint.id AND d.status = 'running')"
    )
    op.create_index("ix_complaint_owner_state_due", "complaint", ["owner", "state", "next_due_at"])
    op.create_index(
        "ix_complaint_branch_state_due", "complaint", ["branch", "state", "next_due_at"]
    )
    op.create_index(
        "ix_complaint_state_level_due", "complaint", ["state", "escalation_level", "next_due_at"]
    )
    op.drop_index("ix_complaint_owner_state", table_name="complaint")
    op.drop_index("ix_complaint_branch_state", table_name="complaint")
    op.drop_index("ix_complaint_state_level", table_name="complaint")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER deadline_next_due_insert AFTER INSERT ON deadline "
            "WHEN NEW.status = 'running' BEGIN "
            f"UPDATE complaint SET next_due_at = {NEAREST} WHERE id = NEW.complaint_id; END"
        )
        op.execute(
            "CREATE TRIGGER deadline_next_due_update "
            f"AFTER UPDATE OF status, due_at, complaint_id ON deadline WHEN {MOVES} BEGIN "
            f"UPDATE complaint SET next_due_at = {NEAREST} "
            "WHERE id IN (OLD.complaint_id, NEW.complaint_id); END"
        )
        op.execute(
            "CREATE TRIGGER deadline_next_due_delete AFTER DELETE ON deadline "
            "WHEN OLD.status = 'running' BEGIN "
            f"UPDATE complaint SET next_due_at = {NEAREST} WHERE id = OLD.complaint_id; END"
        )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION tousu_next_due() RETURNS trigger AS $$ "
            "DECLARE ids integer[]; BEGIN "
            "IF TG_OP = 'INSERT' THEN ids := ARRAY[NEW.complaint_id]; "
            "ELSIF TG_OP = 'DELETE' THEN ids := ARRAY[OLD.complaint_id]; "
            "ELSE ids := ARRAY[OLD.complaint_id, NEW.complaint_id]; END IF; "
            "PERFORM 1 FROM complaint WHERE id = ANY(ids) ORDER BY id FOR UPDATE; "
            f"UPDATE complaint SET next_due_at = {NEAREST} WHERE id = ANY(ids); "
            "RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        moves = MOVES.replace("IS NOT", "IS DISTINCT FROM")
        op.execute(
            "CREATE TRIGGER deadline_next_due_insert AFTER INSERT ON deadline FOR EACH ROW "
            "WHEN (NEW.status = 'running') EXECUTE FUNCTION tousu_next_due()"
        )
        op.execute(
            "CREATE TRIGGER deadline_next_due_update "
            "AFTER UPDATE OF status, due_at, complaint_id ON deadline FOR EACH ROW "
            f"WHEN ({moves}) EXECUTE FUNCTION tousu_next_due()"
        )
        op.execute(
            "CREATE TRIGGER deadline_next_due_delete AFTER DELETE ON deadline FOR EACH ROW "
            "WHEN (OLD.status = 'running') EXECUTE FUNCTION tousu_next_due()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS deadline_next_due_{verb}")
    else:
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS deadline_next_due_{verb} ON deadline")
        op.execute("DROP FUNCTION IF EXISTS tousu_next_due()")
    op.create_index("ix_complaint_owner_state", "complaint", ["owner", "state"])
    op.create_index("ix_complaint_branch_state", "complaint", ["branch", "state"])
    op.create_index("ix_complaint_state_level", "complaint", ["state", "escalation_level"])
    op.drop_index("ix_complaint_state_level_due", table_name="complaint")
    op.drop_index("ix_complaint_branch_state_due", table_name="complaint")
    op.drop_index("ix_complaint_owner_state_due", table_name="complaint")
    # SQLite (3.35+) drops the column in place: a batch copy would lose complaint's triggers.
    op.execute("ALTER TABLE complaint DROP COLUMN next_due_at")
