"""identity: passwords, login sessions and attempts, API tokens, OS-account links (issue 19)

Revision ID: 0018_identity
Revises: 0017_merge

Tables of storage/identity.py (rules in services/identity.py): `password_credential` (Argon2
hashes), `login_session` (SHA-256 of the cookie's token, idle/absolute expiry),
`login_attempt` (throttling shared by every web process), `api_token` (hashed, scoped,
revocable), `os_account_link` (the CLI's user per operating-system account) and
`identity_event` (the audit of logins, logouts, passwords, tokens and links).
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0018_identity"
down_revision: Union[str, None] = "0017_merge"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "password_credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("changed_at", T(), nullable=False),
        sa.Column("changed_by", S(length=64), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", S(length=64), nullable=False),
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("client", S(length=100), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("last_seen_at", T(), nullable=False),
        sa.Column("expires_at", T(), nullable=False),
        sa.Column("ended_at", T(), nullable=True),
        sa.Column("ended_reason", S(length=24), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_login_session_username", "login_session", ["username"])
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("client", S(length=100), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempt_username_at", "login_attempt", ["username", "at"])
    op.create_index("ix_login_attempt_client_at", "login_attempt", ["client", "at"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", S(length=64), nullable=False),
        sa.Column("prefix", S(length=16), nullable=False),
        sa.Column("name", S(length=100), nullable=False),
        sa.Column("kind", S(length=16), nullable=False),
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("scope", S(length=24), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("created_by", S(length=64), nullable=False),
        sa.Column("expires_at", T(), nullable=True),
        sa.Column("last_used_at", T(), nullable=True),
        sa.Column("revoked_at", T(), nullable=True),
        sa.Column("revoked_by", S(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_username", "api_token", ["username"])
    op.create_table(
        "os_account_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("os_account", S(length=64), nullable=False),
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("created_by", S(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("os_account"),
    )
    op.create_index("ix_os_account_link_username", "os_account_link", ["username"])
    op.create_table(
        "identity_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("action", S(length=24), nullable=False),
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("actor", S(length=64), nullable=False),
        sa.Column("client", S(length=100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identity_event_at", "identity_event", ["at"])
    op.create_index("ix_identity_event_username", "identity_event", ["username"])


def downgrade() -> None:
    for name in (
        "identity_event",
        "os_account_link",
        "api_token",
        "login_attempt",
        "login_session",
        "password_credential",
    ):
        op.drop_table(name)
