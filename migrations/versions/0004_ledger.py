"""ledger, special-attention list, callbacks (issue 6)

Revision ID: 0004_ledger
Revises: 0001

`ledger_action` and `special_attention_audit` are made append-only here, as `event` is in 0001:
they are the audit trail of the ledger and of every view or change of the special-attention list.
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004_ledger'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

APPEND_ONLY = ("ledger_action", "special_attention_audit")


def upgrade() -> None:
    op.create_table('callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('window_end_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('calendar_verified', sa.Boolean(), nullable=False),
    sa.Column('alerted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('escalated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('satisfaction', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('nps', sa.Integer(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_callback_status_due', ['status', 'due_at'], unique=False)

    op.create_table('ledger_matter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('master_complaint_id', sa.Integer(), nullable=False),
    sa.Column('complainant_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('resolution_class', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('stopped_on', sa.Date(), nullable=True),
    sa.Column('complaint_count', sa.Integer(), nullable=False),
    sa.Column('case_count', sa.Integer(), nullable=False),
    sa.Column('regulator_count', sa.Integer(), nullable=False),
    sa.Column('first_received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('consulted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['master_complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('master_complaint_id')
    )
    with op.batch_alter_table('ledger_matter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_matter_complainant_hash'), ['complainant_hash'], unique=False)
        batch_op.create_index('ix_ledger_matter_status', ['status', 'kind'], unique=False)

    op.create_table('special_attention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complainant_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('removed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('removal_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('special_attention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_special_attention_complainant_hash'), ['complainant_hash'], unique=False)

    op.create_table('ledger_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['matter_id'], ['ledger_matter.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ledger_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_action_matter_id'), ['matter_id'], unique=False)

    op.create_table('ledger_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('relation', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['matter_id'], ['ledger_matter.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('complaint_id')
    )
    with op.batch_alter_table('ledger_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_member_matter_id'), ['matter_id'], unique=False)

    op.create_table('special_attention_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['special_attention.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('special_attention_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_special_attention_audit_entry_id'), ['entry_id'], unique=False)

    _append_only()


def _append_only() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_append_only_{verb.lower()} BEFORE {verb} "
                           f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    else:
        op.execute("CREATE OR REPLACE FUNCTION tousu_ledger_append_only() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ "
                   "LANGUAGE plpgsql")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION tousu_ledger_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS tousu_ledger_append_only() CASCADE")
    for table in ("special_attention_audit", "special_attention", "ledger_action",
                  "ledger_member", "ledger_matter", "callback"):
        op.drop_table(table)
