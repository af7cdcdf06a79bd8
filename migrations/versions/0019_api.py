"""api: idempotency keys of the HTTP API's registrations (issue 19)

Revision ID: 0019_api
Revises: 0018_identity

Table of storage/idempotency.py (rules in services/intake/idempotency.py): `idempotency_key`,
one row per (user, Idempotency-Key) with the hash of the first request and its response.
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0019_api"
down_revision: Union[str, None] = "0018_identity"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("key", S(length=200), nullable=False),
        sa.Column("request_hash", S(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("complaint_number", S(length=32), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("expires_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", "key"),
    )
    op.create_index("ix_idempotency_key_expires_at", "idempotency_key", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_expires_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
