"""Identity: passwords, login sessions, login attempts, API tokens, OS-account links, and the
audit of what happens to them. Schema only; the rules live in services/identity.py. Imports
nothing of services/ or flows/.

Secrets are never stored: a password as its Argon2 hash (pwdlib), a session or API token as
the SHA-256 of the random value handed out once. Throttling and sessions live here, not in a
process, so that several web processes on one database agree (docs/web.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class PasswordCredential(SQLModel, table=True):
    """One password per user (absent: the user cannot log in to the web)."""

    __tablename__ = "password_credential"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    hash: str = Field(sa_column=Column(Text, nullable=False))  # pwdlib (Argon2) hash
    changed_at: datetime
    changed_by: str = Field(max_length=64)
    # Set by an administrator's reset: the user is asked to choose their own at next login.
    must_change: bool = False


class LoginSession(SQLModel, table=True):
    """A browser's login. Ends at logout, after `session_idle_minutes` without a request, or
    `session_max_hours` after login, whichever comes first ([web] in config/tousu.toml)."""

    __tablename__ = "login_session"
    __table_args__ = (Index("ix_login_session_username", "username"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex of the cookie's value
    username: str = Field(max_length=64)
    client: str = Field(default="", max_length=100)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute limit
    ended_at: datetime | None = None
    ended_reason: str | None = Field(default=None, max_length=24)  # logout | disabled | password


class LoginAttempt(SQLModel, table=True):
    """Every login attempt, successful or not: the throttling state (failures per username
    and per client within `login_window_minutes`)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_client_at", "client", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    username: str = Field(max_length=64)  # as typed (may name no user)
    client: str = Field(default="", max_length=100)
    ok: bool = False


class ApiToken(SQLModel, table=True):
    """A bearer token for the API (and `TOUSU_TOKEN` for the CLI). `kind`: personal (a
    person's own) or integration (a system's, e.g. the call centre, acting as its own user).
    `scope`: the role it acts in (the user's role when made) or "readonly"; it can only
    narrow the user's rights, never widen them."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_username", "username"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the first characters, to tell tokens apart
    name: str = Field(max_length=100)
    kind: str = Field(default="personal", max_length=16)  # personal | integration
    username: str = Field(max_length=64)
    scope: str = Field(max_length=24)
    created_at: datetime
    created_by: str = Field(max_length=64)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=64)


class OsAccountLink(SQLModel, table=True):
    """The tousu user the CLI acts as when this operating-system account runs it."""

    __tablename__ = "os_account_link"

    id: int | None = Field(default=None, primary_key=True)
    os_account: str = Field(max_length=64, unique=True)
    username: str = Field(max_length=64, index=True)
    created_at: datetime
    created_by: str = Field(max_length=64)


class IdentityEvent(SQLModel, table=True):
    """The audit of identity: login, failed login, logout, password set/changed/reset,
    disable/enable, token create/revoke, OS-account link/unlink. Refused attempts to act
    go to `access_refusal` as well (services/access.py)."""

    __tablename__ = "identity_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    action: str = Field(max_length=24)
    username: str = Field(max_length=64, index=True)  # whom it concerns
    actor: str = Field(max_length=64)  # who did it (the user themself, an administrator)
    client: str = Field(default="", max_length=100)  # address, or "cli"
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
