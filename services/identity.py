"""Identity: who is acting, proven (issue 19; docs/web.md "身份与登录").

- Passwords: hashed with pwdlib's recommended hasher (Argon2); rules from `[web]`
  (`password_min_length`). A person changes their own (knowing the current one); an
  administrator resets anyone's (the user then chooses their own at the next login).
- Login sessions: a random token in the `tousu_session` cookie, stored only as its SHA-256;
  ended by logout, by `session_idle_minutes` without a request, by `session_max_hours` after
  login, by a password change or reset, or by disabling the user.
- Throttling: `login_max_failures` failed logins within `login_window_minutes` for one
  username (since its last successful login) or from one client refuse further attempts
  (`TooManyAttempts`, exit 3 / HTTP 429). The state is in the database, so several web
  processes agree.
- API tokens (`Authorization: Bearer`, and `TOUSU_TOKEN` for the CLI): hashed at rest, per
  person or per integration, scoped to the user's role or "readonly" (never wider than the
  user), revocable, last use recorded.
- The CLI acts as the user linked to the operating-system account running it, or with a
  token; naming someone else (--user) needs a proven administrator, unless `[cli]
  single_user` declares a single-user local setup (`cli_user`).
- Every login, failed login, logout, password set/change/reset, disable/enable, token
  create/revoke and link/unlink is a row of `identity_event`; every refusal also goes to
  `access_refusal` (services/access.py), as every refusal in tousu does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Table,
    bindparam,
    column,
    func,
    insert,
    literal_column,
    select,
    table,
    update,
)
from sqlalchemy.engine import Connection

from services.context import Context
from states.errors import Conflict, Forbidden, InvalidInput, NotFound
from states.lifecycle import Role
from storage.db import first_row, read_only
from storage.timeutil import from_db, to_db, utcnow

if TYPE_CHECKING:
    from pwdlib import PasswordHash


@dataclass(frozen=True)
class _Tables:
    user: Table
    credential: Table
    session: Table
    attempt: Table
    token: Table
    link: Table
    event: Table


@lru_cache(maxsize=1)
def _t() -> _Tables:
    """The typed tables, imported on first use: `tousu show`/`queue` resolve their user
    without loading the SQLModel tables (tests/cli/test_show_queue.py)."""
    from storage.identity import (
        ApiToken,
        IdentityEvent,
        LoginAttempt,
        LoginSession,
        OsAccountLink,
        PasswordCredential,
    )
    from storage.models import User
    from storage.schema import table_of

    return _Tables(
        user=table_of(User),
        credential=table_of(PasswordCredential),
        session=table_of(LoginSession),
        attempt=table_of(LoginAttempt),
        token=table_of(ApiToken),
        link=table_of(OsAccountLink),
        event=table_of(IdentityEvent),
    )


_NAMES = {
    "USER": "user",
    "CREDENTIAL": "credential",
    "SESSION": "session",
    "ATTEMPT": "attempt",
    "TOKEN": "token",
    "LINK": "link",
    "EVENT": "event",
}


def __getattr__(name: str) -> Any:
    """`identity.SESSION` etc.: the typed tables, for readers outside this module."""
    if name in _NAMES:
        return getattr(_t(), _NAMES[name])
    raise AttributeError(name)


READONLY = "readonly"  # a token's scope that reads only (GET) whatever the user's role
TOKEN_PREFIX = "tsk_"
KINDS = ("personal", "integration")
# A session's last_seen_at (and a token's last_used_at) is written at most this often, so
# that every request is not a write; idle expiry is exact to within this much.
TOUCH_SECONDS = 30

# identity_event.action values and their labels (what people read)
ACTIONS = {
    "login": "登录",
    "login_failed": "登录失败",
    "login_throttled": "登录受限(尝试过多)",
    "logout": "退出登录",
    "password_set": "设置密码",
    "password_change": "修改密码",
    "password_reset": "重置密码",
    "disable": "停用用户",
    "enable": "启用用户",
    "token_create": "创建令牌",
    "token_revoke": "撤销令牌",
    "link": "关联操作系统账户",
    "unlink": "解除操作系统账户关联",
}


class TooManyAttempts(Forbidden):
    """Login refused by throttling (exit 3; HTTP 429 on the login form)."""


class Unauthenticated(Forbidden):
    """No valid proof of identity (a missing, unknown, expired or revoked session or token):
    exit 3 on the CLI, HTTP 401 on the API."""


# ---- Settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WebSettings:
    host: str
    port: int
    base_url: str
    session_idle: timedelta
    session_max: timedelta
    max_failures: int
    window: timedelta
    password_min_length: int
    cookie_secure: bool


def web_settings(ctx: Context) -> WebSettings:
    """`[web]` of config/tousu.toml, checked (a value out of range is a configuration error)."""
    from config import ConfigError

    raw = ctx.config.section("web")

    def positive(key: str, default: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"配置 [web] {key} 须为正整数, 实际 {value!r}")
        return value

    return WebSettings(
        host=str(raw.get("host", "127.0.0.1")),
        port=positive("port", 8000),
        base_url=str(raw.get("base_url", "")).rstrip("/"),
        session_idle=timedelta(minutes=positive("session_idle_minutes", 30)),
        session_max=timedelta(hours=positive("session_max_hours", 12)),
        max_failures=positive("login_max_failures", 5),
        window=timedelta(minutes=positive("login_window_minutes", 15)),
        password_min_length=positive("password_min_length", 10),
        cookie_secure=bool(raw.get("cookie_secure", False)),
    )


def single_user(ctx: Context) -> bool:
    """Whether the configuration declares a single-user local setup (`[cli] single_user`)."""
    return bool(ctx.config.section("cli").get("single_user", False))


# ---- Helpers ------------------------------------------------------------------------------


_HASHERS: dict[tuple[int, int], PasswordHash] = {}


def _hasher(ctx: Context) -> PasswordHash:
    """Argon2id with `[web] password_hash_time_cost` and `password_hash_memory_kib` (default
    argon2-cffi's RFC 9106 low-memory profile: 3 passes over 64 MiB). Each stored hash names
    its own parameters, so a change applies to new and re-verified passwords (a login
    re-hashes with the current ones). The test suite lowers them (tests/conftest.py)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from config import ConfigError

    raw = ctx.config.section("web")
    params = (raw.get("password_hash_time_cost", 3), raw.get("password_hash_memory_kib", 65536))
    if any(isinstance(v, bool) or not isinstance(v, int) for v in params) or not (
        params[0] >= 1 and params[1] >= 64
    ):
        raise ConfigError(
            "配置 [web] password_hash_time_cost 须为 ≥ 1 的整数, password_hash_memory_kib ≥ 64"
        )
    key = (int(params[0]), int(params[1]))
    if key not in _HASHERS:
        _HASHERS[key] = PasswordHash((Argon2Hasher(time_cost=key[0], memory_cost=key[1]),))
    return _HASHERS[key]


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: derived from its secret cookie value (which a page of
    another site can neither read nor guess), so it needs no storage and dies with it."""
    return hmac.new(session_token.encode(), b"tousu-csrf", hashlib.sha256).hexdigest()[:40]


def record_event(
    conn: Connection,
    *,
    action: str,
    username: str,
    actor: str,
    at: datetime,
    client: str = "",
    detail: str = "",
) -> None:
    conn.execute(
        insert(_t().event).values(
            at=to_db(at),
            action=action,
            username=username[:64],
            actor=actor[:64],
            client=client[:100],
            detail=detail,
        )
    )


def _refuse(ctx: Context, *, username: str, command: str, reason: str) -> None:
    from services.access import record_refusal

    record_refusal(ctx, username=username or "(未指定)", command=command, reason=reason)


def _user(conn: Connection, username: str) -> Any:
    return (
        conn.execute(select(_t().user).where(_t().user.c.username == username)).mappings().first()
    )


def _person(conn: Connection, username: str) -> Any:
    """An existing person's row (NotFound otherwise; the system actor is no person)."""
    row = _user(conn, username)
    if row is None:
        raise NotFound(f"用户 {username} 不存在")
    if row["role"] == Role.system:
        raise InvalidInput("username", f"{username} 是系统自动处理使用的身份, 不能登录或持有凭据")
    return row


def _admin(conn: Connection, actor: str) -> None:
    row = _user(conn, actor)
    if row is None or not row["active"] or row["role"] != Role.admin:
        raise Forbidden("只有系统管理员可以执行此操作")


def _is_admin(conn: Connection, actor: str) -> bool:
    row = _user(conn, actor)
    return row is not None and bool(row["active"]) and row["role"] == Role.admin


def _actor_row(ctx: Context, username: str) -> dict[str, Any]:
    from services.lifecycle.queries import actor

    return actor(ctx, username)


# ---- Passwords ----------------------------------------------------------------------------


def check_password_rules(ctx: Context, username: str, password: str) -> None:
    settings = web_settings(ctx)
    if len(password) < settings.password_min_length:
        raise InvalidInput("password", f"密码至少 {settings.password_min_length} 个字符")
    if len(password) > 1024:
        raise InvalidInput("password", "密码最多 1024 个字符")
    if password.strip() != password:
        raise InvalidInput("password", "密码首尾不能是空白字符")
    if password.lower() == username.lower():
        raise InvalidInput("password", "密码不能与用户名相同")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        raise InvalidInput("password", "密码不能包含控制字符")
    if len(set(password)) < 4:
        raise InvalidInput("password", "密码过于简单: 至少包含 4 个不同的字符")


def _store_password(
    conn: Connection,
    username: str,
    hashed: str,
    *,
    by: str,
    must_change: bool,
    now: datetime,
) -> bool:
    """Insert or replace; True when the user had a password before."""
    values = {
        "hash": hashed,
        "changed_at": to_db(now),
        "changed_by": by,
        "must_change": must_change,
    }
    done = conn.execute(
        update(_t().credential).where(_t().credential.c.username == username).values(**values)
    )
    if done.rowcount:
        return True
    conn.execute(insert(_t().credential).values(username=username, **values))
    return False


def end_sessions(
    conn: Connection,
    username: str,
    *,
    reason: str,
    now: datetime,
    keep_hash: str | None = None,
) -> int:
    """End every open session of a user (all but `keep_hash`'s); returns how many."""
    where = [_t().session.c.username == username, _t().session.c.ended_at.is_(None)]
    if keep_hash is not None:
        where.append(_t().session.c.token_hash != keep_hash)
    done = conn.execute(
        update(_t().session).where(*where).values(ended_at=to_db(now), ended_reason=reason)
    )
    return int(done.rowcount or 0)


def reset_password(
    ctx: Context,
    username: str,
    password: str,
    *,
    actor: str,
    now: datetime | None = None,
    client: str = "cli",
    must_change: bool = True,
) -> None:
    """An administrator sets someone's password (the first one, or a reset): every session
    of that user ends; with `must_change` the user chooses their own at the next login."""
    now = now or utcnow()
    with ctx.engine.begin() as conn:
        _admin(conn, actor)
        _person(conn, username)
    check_password_rules(ctx, username, password)
    hashed = _hasher(ctx).hash(password)
    with ctx.engine.begin() as conn:
        had = _store_password(
            conn, username, hashed, by=actor, must_change=must_change and actor != username, now=now
        )
        ended = end_sessions(conn, username, reason="password", now=now)
        record_event(
            conn,
            action="password_reset" if had else "password_set",
            username=username,
            actor=actor,
            at=now,
            client=client,
            detail=f"结束会话 {ended} 个" if ended else "",
        )


def change_password(
    ctx: Context,
    username: str,
    current: str,
    new: str,
    *,
    now: datetime | None = None,
    client: str = "cli",
    keep_session: str | None = None,
) -> None:
    """A person changes their own password, knowing the current one. Every other session of
    theirs ends (`keep_session`: the raw token of the session making the change)."""
    now = now or utcnow()
    # Guesses of the current password are throttled like logins, on a key of their own (an
    # open session left on a desk must not let anyone guess it without limit, nor lock the
    # owner's logins): `login_max_failures` within `login_window_minutes`.
    key = f"pw:{username}"[:64]
    with ctx.engine.begin() as conn:
        row = _person(conn, username)
        if not row["active"]:
            raise Forbidden(f"用户 {username} 已停用")
        _one_at_a_time(conn, key, "")
        throttled = _throttled(ctx, conn, key, "", now)
        attempt = None
        if throttled:
            record_event(
                conn,
                action="password_change_throttled",
                username=username,
                actor=username,
                at=now,
                client=client,
            )
        else:
            attempt = conn.execute(
                insert(_t().attempt)
                .values(at=to_db(now), username=key, client="", ok=False)
                .returning(_t().attempt.c.id)
            ).scalar_one()
        stored = conn.execute(
            select(_t().credential.c.hash).where(_t().credential.c.username == username)
        ).scalar()
    if throttled:
        minutes = int(web_settings(ctx).window.total_seconds() // 60)
        reason = f"当前密码错误次数过多, 请 {minutes} 分钟后再试"
        _refuse(ctx, username=username, command="password change", reason=reason)
        raise TooManyAttempts(reason)
    if stored is None or not _hasher(ctx).verify(current, stored):
        reason = "当前密码不正确"
        _refuse(ctx, username=username, command="password change", reason=reason)
        raise Forbidden(reason)
    with ctx.engine.begin() as conn:
        conn.execute(update(_t().attempt).where(_t().attempt.c.id == attempt).values(ok=True))
    if new == current:
        raise InvalidInput("new_password", "新密码不能与当前密码相同")
    check_password_rules(ctx, username, new)
    hashed = _hasher(ctx).hash(new)
    with ctx.engine.begin() as conn:
        _store_password(conn, username, hashed, by=username, must_change=False, now=now)
        keep = _digest(keep_session) if keep_session else None
        end_sessions(conn, username, reason="password", now=now, keep_hash=keep)
        record_event(
            conn, action="password_change", username=username, actor=username, at=now, client=client
        )


def has_password(ctx: Context, username: str) -> bool:
    with read_only(ctx.engine) as conn:
        return (
            conn.execute(
                select(_t().credential.c.id).where(_t().credential.c.username == username)
            ).first()
            is not None
        )


# ---- Login, sessions, logout --------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    user: dict[str, Any]
    token: str  # the raw cookie value
    must_change: bool
    expires_at: datetime

    @cached_property
    def csrf(self) -> str:
        """Derived once per request, however many forms the page has."""
        return csrf_for(self.token)


def _failures(conn: Connection, column: Any, value: str, since: datetime) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(_t().attempt)
            .where(column == value, _t().attempt.c.at > to_db(since), _t().attempt.c.ok.is_(False))
        ).scalar()
        or 0
    )


def _one_at_a_time(conn: Connection, username: str, client: str) -> None:
    """Attempts for one username or from one client are weighed in turn. SQLite's writes
    already are (BEGIN IMMEDIATE, storage/db.py); PostgreSQL takes transaction-level advisory
    locks on both keys (in a fixed order, so two attempts never wait on each other)."""
    if conn.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    for key in sorted({f"login-user:{username}", f"login-client:{client}"}):
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def _throttled(ctx: Context, conn: Connection, username: str, client: str, now: datetime) -> bool:
    settings = web_settings(ctx)
    start = now - settings.window
    last_ok = conn.execute(
        select(func.max(_t().attempt.c.at)).where(
            _t().attempt.c.username == username,
            _t().attempt.c.ok.is_(True),
            _t().attempt.c.at > to_db(start),
        )
    ).scalar()
    since = max(start, from_db(last_ok)) if last_ok is not None else start
    if _failures(conn, _t().attempt.c.username, username, since) >= settings.max_failures:
        return True
    return bool(
        client and _failures(conn, _t().attempt.c.client, client, start) >= settings.max_failures
    )


# Verified against when the username has no password, so that a wrong username costs the
# same time as a wrong password (no telling which usernames exist).
_DUMMY: dict[int, str] = {}  # id(hasher) → a hash made with its parameters


def _dummy_hash(ctx: Context) -> str:
    hasher = _hasher(ctx)
    if id(hasher) not in _DUMMY:
        _DUMMY[id(hasher)] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY[id(hasher)]


def login(
    ctx: Context, username: str, password: str, *, client: str, now: datetime | None = None
) -> tuple[dict[str, Any], str]:
    """Check the password and open a session: (the user row, the raw session token). A wrong
    username or password, a disabled user and throttling are refused (Forbidden /
    TooManyAttempts) and audited; the message never says which of the two was wrong."""
    now = now or utcnow()
    username = (username or "").strip()[:64]
    client = (client or "")[:100]
    settings = web_settings(ctx)
    attempt: int | None = None
    with ctx.engine.begin() as conn:
        # The attempt counts as failed from the moment it is weighed against the throttle, in
        # the same transaction (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory locks keep
        # concurrent ones in turn); a right password marks it ok afterwards. Counted only once
        # verified, guesses sent at once would all be weighed against the same count.
        _one_at_a_time(conn, username, client)
        throttled = _throttled(ctx, conn, username, client, now)
        if throttled:
            record_event(
                conn,
                action="login_throttled",
                username=username or "(空)",
                actor=username or "(空)",
                at=now,
                client=client,
            )
        else:
            attempt = conn.execute(
                insert(_t().attempt)
                .values(at=to_db(now), username=username, client=client, ok=False)
                .returning(_t().attempt.c.id)
            ).scalar_one()
        row = None if throttled else _user(conn, username)
        stored = (
            None
            if row is None
            else conn.execute(
                select(_t().credential.c.hash, _t().credential.c.must_change).where(
                    _t().credential.c.username == username
                )
            ).first()
        )
    if throttled:
        minutes = int(settings.window.total_seconds() // 60)
        reason = f"登录失败次数过多, 请 {minutes} 分钟后再试 (或联系系统管理员)"
        _refuse(ctx, username=username, command="web login", reason=reason)
        raise TooManyAttempts(reason)
    ok, new_hash = _hasher(ctx).verify_and_update(
        password or "", stored.hash if stored is not None else _dummy_hash(ctx)
    )
    why = None
    if row is None or stored is None or not ok or row["role"] == Role.system:
        why = "用户名或密码错误"
    elif not row["active"]:
        why = "用户已停用, 请联系系统管理员"
    if why is not None:
        with ctx.engine.begin() as conn:  # the attempt is recorded failed already
            record_event(
                conn,
                action="login_failed",
                username=username or "(空)",
                actor=username or "(空)",
                at=now,
                client=client,
                detail=why,
            )
        _refuse(ctx, username=username, command="web login", reason=why)
        raise Forbidden(why)
    assert row is not None and stored is not None
    raw = secrets.token_urlsafe(32)
    with ctx.engine.begin() as conn:
        if new_hash is not None:  # pwdlib's parameters changed: keep the stronger hash
            conn.execute(
                update(_t().credential)
                .where(_t().credential.c.username == username)
                .values(hash=new_hash)
            )
        conn.execute(update(_t().attempt).where(_t().attempt.c.id == attempt).values(ok=True))
        # Attempts only matter within the window (the audit is identity_event): keep a day.
        keep = now - max(settings.window, timedelta(days=1))
        conn.execute(_t().attempt.delete().where(_t().attempt.c.at < to_db(keep)))
        conn.execute(
            insert(_t().session).values(
                token_hash=_digest(raw),
                username=username,
                client=client,
                created_at=to_db(now),
                last_seen_at=to_db(now),
                expires_at=to_db(now + settings.session_max),
            )
        )
        record_event(conn, action="login", username=username, actor=username, at=now, client=client)
    return _actor_row(ctx, username), raw


@dataclass(frozen=True)
class SessionLookup:
    """A session read without writing: `info` (None when there is no live session) and the
    write the lookup owes, if any (ending the session, or moving last_seen_at on), for the
    caller to run where a wait for SQLite's write lock harms no one (web/auth.py runs it off
    the event loop)."""

    info: SessionInfo | None
    owed: Callable[[], None] | None = None


@lru_cache(maxsize=1)
def _session_statement() -> Any:
    """A session by its token's digest, with its user's whole row (`_SESSION_KEYS` apart) and
    `must_change`: one read per page; built once (building it cost more than running it)."""
    t = _t()
    session, credential = t.session, t.credential
    return (
        select(
            session.c.id.label("session_id"),
            session.c.last_seen_at.label("session_last_seen_at"),
            session.c.expires_at.label("session_expires_at"),
            session.c.ended_at.label("session_ended_at"),
            credential.c.must_change.label("session_must_change"),
            # The user row as `services.lifecycle.queries.user_row` reads it (`SELECT *`).
            literal_column('"user".*'),
        )
        .select_from(
            session.join(t.user, t.user.c.username == session.c.username).join(
                credential, credential.c.username == session.c.username, isouter=True
            )
        )
        .where(session.c.token_hash == bindparam("digest"))
    )


_SESSION_KEYS = (
    "session_id",
    "session_last_seen_at",
    "session_expires_at",
    "session_ended_at",
    "session_must_change",
)


def look_up_session(ctx: Context, token: str | None, *, now: datetime) -> SessionLookup:
    """`session_info` in two halves: this one only reads."""
    from services.lifecycle.queries import typed_row

    if not token or len(token) > 200:
        return SessionLookup(None)
    settings = web_settings(ctx)
    digest = _digest(token)
    found = first_row(ctx.engine, _session_statement(), {"digest": digest})
    if found is None or found["session_ended_at"] is not None:
        return SessionLookup(None)
    user = typed_row({k: v for k, v in found.items() if k not in _SESSION_KEYS})
    session_id = found["session_id"]
    last_seen = from_db(found["session_last_seen_at"])
    expires = from_db(found["session_expires_at"])
    ended = None
    if now >= expires:
        ended = "expired"
    elif now - last_seen > settings.session_idle:
        ended = "idle"
    elif not user["active"]:
        ended = "disabled"
    if ended is not None:

        def end() -> None:
            with ctx.engine.begin() as conn:
                conn.execute(
                    update(_t().session)
                    .where(_t().session.c.id == session_id, _t().session.c.ended_at.is_(None))
                    .values(ended_at=to_db(now), ended_reason=ended)
                )

        return SessionLookup(None, end)
    info = SessionInfo(
        user=user, token=token, must_change=bool(found["session_must_change"]), expires_at=expires
    )
    if (now - last_seen).total_seconds() >= TOUCH_SECONDS:

        def touch() -> None:
            with ctx.engine.begin() as conn:
                conn.execute(
                    update(_t().session)
                    .where(_t().session.c.id == session_id)
                    .values(last_seen_at=to_db(now))
                )

        return SessionLookup(info, touch)
    return SessionLookup(info)


def session_info(
    ctx: Context, token: str | None, *, now: datetime | None = None
) -> SessionInfo | None:
    """The session of a cookie's token, or None when there is none, it ended, it was idle
    longer than `session_idle_minutes`, it passed `session_max_hours`, or its user is
    disabled. A live session's last_seen_at moves on (at most every TOUCH_SECONDS)."""
    found = look_up_session(ctx, token, now=now or utcnow())
    if found.owed is not None:
        found.owed()
    return found.info


def session_user(
    ctx: Context, token: str | None, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The user row of a live session (see `session_info`), or None."""
    found = session_info(ctx, token, now=now)
    return None if found is None else found.user


def logout(
    ctx: Context, token: str | None, *, now: datetime | None = None, client: str = ""
) -> bool:
    """End the session of this token; False when it was not live."""
    if not token:
        return False
    now = now or utcnow()
    with ctx.engine.begin() as conn:
        username = conn.execute(
            select(_t().session.c.username).where(
                _t().session.c.token_hash == _digest(token), _t().session.c.ended_at.is_(None)
            )
        ).scalar()
        if username is None:
            return False
        conn.execute(
            update(_t().session)
            .where(_t().session.c.token_hash == _digest(token))
            .values(ended_at=to_db(now), ended_reason="logout")
        )
        record_event(
            conn, action="logout", username=username, actor=username, at=now, client=client
        )
    return True


# ---- Disable / enable ---------------------------------------------------------------------


def set_active(
    ctx: Context,
    username: str,
    active: bool,
    *,
    actor: str,
    now: datetime | None = None,
    client: str = "cli",
) -> None:
    """services/users.set_active, audited; disabling ends the user's sessions at once (their
    tokens stop working too: a token acts only for an active user)."""
    from services import users

    now = now or utcnow()
    users.set_active(ctx, username, active, actor=actor)
    with ctx.engine.begin() as conn:
        ended = 0 if active else end_sessions(conn, username, reason="disabled", now=now)
        record_event(
            conn,
            action="enable" if active else "disable",
            username=username,
            actor=actor,
            at=now,
            client=client,
            detail=f"结束会话 {ended} 个" if ended else "",
        )


# ---- API tokens ---------------------------------------------------------------------------


def _token_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "prefix": row["prefix"],
        "name": row["name"],
        "kind": row["kind"],
        "username": row["username"],
        "scope": row["scope"],
        "created_at": from_db(row["created_at"]),
        "created_by": row["created_by"],
        "expires_at": from_db(row["expires_at"]),
        "last_used_at": from_db(row["last_used_at"]),
        "revoked_at": from_db(row["revoked_at"]),
        "revoked_by": row["revoked_by"],
    }


def create_token(
    ctx: Context,
    *,
    username: str,
    name: str,
    actor: str,
    scope: str | None = None,
    kind: str = "personal",
    expires_days: int | None = None,
    now: datetime | None = None,
    client: str = "cli",
) -> tuple[dict[str, Any], str]:
    """A new token: (its listing, the raw token, shown this once only). A person makes their
    own personal tokens; an administrator makes anyone's, and integration tokens. `scope`:
    the user's role (default) or "readonly"."""
    from states.validation import text

    now = now or utcnow()
    name = text(name, "name", limit=100, required=True, multiline=False) or ""
    if kind not in KINDS:
        raise InvalidInput("kind", f"令牌类型取值: {', '.join(KINDS)}")
    if expires_days is not None and not 0 < expires_days <= 3660:
        raise InvalidInput("expires_days", "有效天数须在 1 到 3660 之间")
    with ctx.engine.begin() as conn:
        if actor != username or kind == "integration":
            _admin(conn, actor)
        row = _person(conn, username)
        if not row["active"]:
            raise Forbidden(f"用户 {username} 已停用, 不能为其创建令牌")
        scope = scope or row["role"]
        if scope not in (row["role"], READONLY):
            raise Forbidden(
                f"令牌的权限只能是用户本人的角色 ({row['role']}) 或 {READONLY} (只读), "
                "不能超出用户的权限"
            )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ctx.engine.begin() as conn:
        token_id = conn.execute(
            insert(_t().token)
            .values(
                token_hash=_digest(raw),
                prefix=raw[: len(TOKEN_PREFIX) + 6],
                name=name,
                kind=kind,
                username=username,
                scope=scope,
                created_at=to_db(now),
                created_by=actor,
                expires_at=to_db(now + timedelta(days=expires_days)) if expires_days else None,
            )
            .returning(_t().token.c.id)
        ).scalar_one()
        record_event(
            conn,
            action="token_create",
            username=username,
            actor=actor,
            at=now,
            client=client,
            detail=f"令牌 #{token_id} {name} ({kind}, {scope})",
        )
        created = (
            conn.execute(select(_t().token).where(_t().token.c.id == token_id)).mappings().one()
        )
    return _token_view(created), raw


def list_tokens(
    ctx: Context, *, actor: str, username: str | None = None, include_revoked: bool = False
) -> list[dict[str, Any]]:
    """One's own tokens; an administrator's listing covers everyone (or `username`'s)."""
    with read_only(ctx.engine) as conn:
        admin = _is_admin(conn, actor)
        if username is not None and username != actor and not admin:
            raise Forbidden("只有系统管理员可以查看他人的令牌")
        query = select(_t().token).order_by(_t().token.c.id)
        if username is not None or not admin:
            query = query.where(_t().token.c.username == (username or actor))
        if not include_revoked:
            query = query.where(_t().token.c.revoked_at.is_(None))
        return [_token_view(r) for r in conn.execute(query).mappings()]


def revoke_token(
    ctx: Context, token_id: int, *, actor: str, now: datetime | None = None, client: str = "cli"
) -> dict[str, Any]:
    """Revoke a token (one's own; an administrator any): it stops working at once."""
    now = now or utcnow()
    with ctx.engine.begin() as conn:
        row = conn.execute(select(_t().token).where(_t().token.c.id == token_id)).mappings().first()
        if row is None:
            raise NotFound(f"令牌 #{token_id} 不存在")
        if row["username"] != actor:
            _admin(conn, actor)
        if row["revoked_at"] is not None:
            raise Conflict(f"令牌 #{token_id} 已于此前撤销")
        conn.execute(
            update(_t().token)
            .where(_t().token.c.id == token_id)
            .values(revoked_at=to_db(now), revoked_by=actor)
        )
        record_event(
            conn,
            action="token_revoke",
            username=row["username"],
            actor=actor,
            at=now,
            client=client,
            detail=f"令牌 #{token_id} {row['name']}",
        )
        done = conn.execute(select(_t().token).where(_t().token.c.id == token_id)).mappings().one()
    return _token_view(done)


def token_user(
    ctx: Context, raw: str | None, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The user a bearer token acts as, or None (unknown, revoked, expired, user disabled, or
    the user's role no longer the one the token was scoped to). The row carries
    `token_scope` (the role, or "readonly") and `token_id`; its last use is recorded."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    now = now or utcnow()
    with read_only(ctx.engine) as conn:
        row = (
            conn.execute(
                select(
                    _t().token.c.id,
                    _t().token.c.username,
                    _t().token.c.scope,
                    _t().token.c.expires_at,
                    _t().token.c.revoked_at,
                    _t().token.c.last_used_at,
                    _t().user.c.active,
                    _t().user.c.role,
                )
                .join(_t().user, _t().user.c.username == _t().token.c.username)
                .where(_t().token.c.token_hash == _digest(raw))
            )
            .mappings()
            .first()
        )
    if row is None or row["revoked_at"] is not None or not row["active"]:
        return None
    if row["expires_at"] is not None and now >= from_db(row["expires_at"]):
        return None
    if row["scope"] not in (READONLY, row["role"]):
        return None  # the user's role changed since: the token would no longer narrow it
    last = from_db(row["last_used_at"])
    if last is None or (now - last).total_seconds() >= TOUCH_SECONDS:
        with ctx.engine.begin() as conn:
            conn.execute(
                update(_t().token)
                .where(_t().token.c.id == row["id"])
                .values(last_used_at=to_db(now))
            )
    user = dict(_actor_row(ctx, row["username"]))
    user["token_scope"] = row["scope"]
    user["token_id"] = row["id"]
    return user


# ---- Operating-system accounts (the CLI) ----------------------------------------------------


def current_os_account() -> str:
    """The operating-system account running this process, by its effective uid (not the
    USER/LOGNAME variables, which anyone can set)."""
    import os

    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):  # no passwd entry (or not a POSIX system)
        import getpass

        return getpass.getuser()


def link_os_account(
    ctx: Context,
    username: str,
    os_account: str,
    *,
    actor: str | None,
    now: datetime | None = None,
    client: str = "cli",
) -> None:
    """Link an OS account to a tousu user (administrators; `actor` None only while
    bootstrapping the first administrator). One OS account names one user."""
    now = now or utcnow()
    os_account = (os_account or "").strip()
    if not os_account or len(os_account) > 64 or any(c.isspace() for c in os_account):
        raise InvalidInput("os_account", "操作系统账户名不能为空、含空白或超过 64 个字符")
    with ctx.engine.begin() as conn:
        if actor is not None:
            _admin(conn, actor)
        row = _person(conn, username)
        if not row["active"]:
            raise Forbidden(f"用户 {username} 已停用")
        linked = conn.execute(
            select(_t().link.c.username).where(_t().link.c.os_account == os_account)
        ).scalar()
        if linked == username:
            return
        if linked is not None:
            raise Conflict(
                f"操作系统账户 {os_account} 已关联用户 {linked}; 请先解除 (tousu users unlink)"
            )
        conn.execute(
            insert(_t().link).values(
                os_account=os_account,
                username=username,
                created_at=to_db(now),
                created_by=actor or username,
            )
        )
        record_event(
            conn,
            action="link",
            username=username,
            actor=actor or username,
            at=now,
            client=client,
            detail=f"操作系统账户 {os_account}",
        )


def unlink_os_account(
    ctx: Context,
    os_account: str,
    *,
    actor: str,
    now: datetime | None = None,
    client: str = "cli",
) -> str:
    """Remove an OS account's link (administrators); returns the user it named."""
    now = now or utcnow()
    with ctx.engine.begin() as conn:
        _admin(conn, actor)
        username = conn.execute(
            select(_t().link.c.username).where(_t().link.c.os_account == os_account)
        ).scalar()
        if username is None:
            raise NotFound(f"操作系统账户 {os_account} 未关联任何用户")
        conn.execute(_t().link.delete().where(_t().link.c.os_account == os_account))
        record_event(
            conn,
            action="unlink",
            username=username,
            actor=actor,
            at=now,
            client=client,
            detail=f"操作系统账户 {os_account}",
        )
    return str(username)


def linked_user(ctx: Context, os_account: str) -> str | None:
    """The username linked to an OS account (read by plain table name: the CLI's start-up)."""
    with read_only(ctx.engine) as conn:
        found = conn.execute(
            select(column("username"))
            .select_from(table("os_account_link"))
            .where(column("os_account") == os_account)
        ).scalar()
    return None if found is None else str(found)


def list_links(ctx: Context, *, actor: str) -> list[dict[str, Any]]:
    with read_only(ctx.engine) as conn:
        _admin(conn, actor)
        rows = conn.execute(select(_t().link).order_by(_t().link.c.os_account)).mappings()
        return [
            {
                "os_account": r["os_account"],
                "username": r["username"],
                "created_at": from_db(r["created_at"]),
                "created_by": r["created_by"],
            }
            for r in rows
        ]


def _usable(user: dict[str, Any], how: str) -> dict[str, Any]:
    if not user["active"]:
        raise Forbidden(f"用户 {user['username']} 已停用 ({how})")
    if user["role"] == Role.system:
        raise Forbidden(f"{user['username']} 是系统自动处理使用的身份, 不能在命令行中使用")
    return user


def cli_user(
    ctx: Context,
    requested: str | None,
    *,
    token: str | None,
    os_account: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Who a command acts as.

    Proof, in this order: the token (`TOUSU_TOKEN`; an unusable token is refused, never
    passed over), then the link of the OS account running the command. `requested`
    (--user, TOUSU_USER, general.default_user) names the proven user themself, or anyone
    when the proven user is an administrator. With `[cli] single_user` the requested name
    acts without proof (a single-user local setup). Refusals are Forbidden (exit 3; the
    CLI's error handler audits them)."""
    from services.lifecycle.queries import actor

    proven: dict[str, Any] | None = None
    how = ""
    if token:
        found = token_user(ctx, token.strip(), now=now)
        if found is None:
            raise Unauthenticated("令牌 TOUSU_TOKEN 无效、已过期或已撤销; 请向系统管理员申请新令牌")
        if found["token_scope"] == READONLY:
            raise Forbidden("只读令牌 (readonly) 只能用于 API 的查询, 不能用于命令行")
        proven, how = found, "令牌"
    else:
        name = linked_user(ctx, os_account)
        if name is not None:
            proven, how = actor(ctx, name), f"操作系统账户 {os_account}"
    if single_user(ctx) and (requested or proven is None):
        return _named(ctx, requested)
    if proven is None:
        raise Unauthenticated(
            f"无法确认您的身份: 操作系统账户 {os_account} 未关联 tousu 用户, 也未提供令牌。"
            "请系统管理员执行 tousu users link 用户名 --os-account "
            f"{os_account}, 或设置环境变量 TOUSU_TOKEN (tousu users token create)"
        )
    _usable(proven, how)
    if not requested or requested == proven["username"]:
        return proven
    if proven["role"] != Role.admin:
        raise Forbidden(
            f"您 ({proven['username']}, 经{how}确认) 不是系统管理员, 不能以 --user {requested} "
            "的身份操作"
        )
    return _named(ctx, requested)


def _named(ctx: Context, name: str | None) -> dict[str, Any]:
    """The user a name given on the command line designates (single-user local setup, or an
    administrator acting as someone)."""
    from services.lifecycle.queries import actor

    if not name:
        raise InvalidInput(
            "user", "未指定操作人: 请使用 --user、环境变量 TOUSU_USER 或配置 general.default_user"
        )
    try:
        found = actor(ctx, name)
    except NotFound:
        raise Forbidden(f"未知用户 {name}: 请联系系统管理员添加 (tousu users add)") from None
    if not found["active"]:
        raise Forbidden(f"用户 {name} 已停用")
    if found["role"] == Role.system:  # the clock-driven actor: its actions are never a person's
        raise Forbidden(f"{name} 是系统自动处理使用的身份, 不能在命令行中指定")
    return found


def events(ctx: Context, *, username: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The identity audit, newest first."""
    with read_only(ctx.engine) as conn:
        query = select(_t().event).order_by(_t().event.c.id.desc()).limit(limit)
        if username is not None:
            query = query.where(_t().event.c.username == username)
        return [
            {**dict(r), "at": from_db(r["at"]), "label": ACTIONS.get(r["action"], r["action"])}
            for r in conn.execute(query).mappings()
        ]


def accounts(ctx: Context, *, actor: str) -> list[dict[str, Any]]:
    """Every person with what identity knows of them (administrators): whether they have a
    password (and must change it), their OS-account links, their last login."""
    t = _t()
    with read_only(ctx.engine) as conn:
        _admin(conn, actor)
        people = (
            conn.execute(
                select(
                    t.user.c.username,
                    t.user.c.name,
                    t.user.c.role,
                    t.user.c.branch,
                    t.user.c.active,
                    t.credential.c.must_change,
                    t.credential.c.id.label("has_password"),
                )
                .join(t.credential, t.credential.c.username == t.user.c.username, isouter=True)
                .where(t.user.c.role != Role.system)
                .order_by(t.user.c.username)
            )
            .mappings()
            .all()
        )
        links: dict[str, list[str]] = {}
        for row in conn.execute(select(t.link.c.username, t.link.c.os_account)):
            links.setdefault(row.username, []).append(row.os_account)
        last: dict[str, Any] = {
            row[0]: row[1]
            for row in conn.execute(
                select(t.event.c.username, func.max(t.event.c.at))
                .where(t.event.c.action == "login")
                .group_by(t.event.c.username)
            )
        }
    return [
        {
            "username": p["username"],
            "name": p["name"],
            "role": p["role"],
            "branch": p["branch"],
            "active": bool(p["active"]),
            "has_password": p["has_password"] is not None,
            "must_change": bool(p["must_change"]),
            "os_accounts": sorted(links.get(p["username"], [])),
            "last_login": from_db(last.get(p["username"])),
        }
        for p in people
    ]
