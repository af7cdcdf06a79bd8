"""What every use case needs, built once at an entry point and passed down."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from config import Config, load_config
from states.calendar import WorkCalendar
from states.deadlines import Clock
from storage.db import is_sqlite, make_engine

if TYPE_CHECKING:
    from storage.vault import Vault


# Threads that keep an idle SQLite connection between units of work (the pool holds 5 + 10).
HELD_MAX = 4


@dataclass
class Context:
    config: Config
    engine: Engine
    clock: Clock
    tz: ZoneInfo
    _vault: Vault | None = field(default=None, repr=False)
    _held: threading.local = field(default_factory=threading.local, repr=False)
    _all_held: list[Connection] = field(default_factory=list, repr=False)
    _held_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # What a process reuses for a moment instead of reading it again on every page
    # (web/pages/users.py): gone with the context.
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def vault(self) -> Vault:
        """Created on first use so that read-only commands never load the cipher; the key is
        checked against the database's (services/keys.py), never created here."""
        if self._vault is None:
            from services.keys import open_vault
            from storage.db import read_only

            # A read of its own: the vault is often first needed inside a unit of work.
            with read_only(self.engine) as conn:
                self._vault = open_vault(self.config, conn)
        return self._vault

    def reset_vault(self) -> None:
        """Forget the vault (after a key rotation): the next use reads the keys again."""
        self._vault = None

    def transaction(self) -> AbstractContextManager[Connection]:
        """One unit of work: `with ctx.transaction() as conn:` commits when the block ends and
        rolls back if it raises.

        On SQLite each thread keeps one connection open between units of work (idle, it holds
        no lock and no snapshot), so an action does not pay a pool checkout and check-in
        around its few statements. PostgreSQL goes through the pool (pre-ping on checkout
        survives a server restart), and so does a unit of work begun inside another one on
        the same thread."""
        conn = self._held_connection()
        if conn is None or conn.in_transaction():
            return self.engine.begin()
        return _unit_of_work(conn)

    def _held_connection(self) -> Connection | None:
        if not is_sqlite(self.engine):
            return None
        conn: Connection | None = getattr(self._held, "conn", None)
        if conn is not None and conn.engine is self.engine and not conn.closed:
            return conn
        with self._held_lock:
            # A server's thread pool (uvicorn runs up to 40 threads) must not hold the whole
            # connection pool: beyond HELD_MAX threads, units of work check out and return.
            if len(self._all_held) >= HELD_MAX:
                return None
            conn = self.engine.connect()
            self._all_held.append(conn)
        self._held.conn = conn
        return conn

    def close(self) -> None:
        with self._held_lock:
            held, self._all_held[:] = list(self._all_held), []
        for conn in held:
            conn.close()
        self._held = threading.local()
        self.engine.dispose()


@contextmanager
def _unit_of_work(conn: Connection) -> Iterator[Connection]:
    with conn.begin():
        yield conn


def make_clock(config: Config) -> Clock:
    cal = config.calendar
    return Clock(
        rules={name: rule for name, rule in config.deadlines.items() if rule.enabled},
        ladder=config.escalation,
        calendar=WorkCalendar(cal.extra_holidays, cal.extra_workdays, cal.verified_years),
        tz=ZoneInfo(config.timezone),
        roll_forward=cal.holiday_roll_forward,
    )


def open_context(
    config: Config | None = None, *, url: str | None = None, migrate: bool = False
) -> Context:
    """Build the context; `migrate=True` applies pending migrations first."""
    config = config or load_config()
    if url:
        config = config.model_copy(update={"database_url": url})
    restrict_new_files(config)
    if migrate:
        from storage.migrate import upgrade

        upgrade(config.database_url)
    context = Context(
        config=config,
        engine=make_engine(
            config.database_url,
            sqlite_cache_mib=config.sqlite_cache_mib,
        ),
        clock=make_clock(config),
        tz=ZoneInfo(config.timezone),
    )
    secure_database_file(config)
    return context


def file_mode(config: Config) -> int:
    """0600, or 0640 when `[files] group` names a group that may read (docs: README)."""
    return 0o640 if config.section("files").get("group") else 0o600


def restrict_new_files(config: Config) -> None:
    """Every file this process creates (the SQLite database, reports, exports, import
    reject files) is readable by its owner only, or also by the configured group."""
    os.umask(0o027 if config.section("files").get("group") else 0o077)


def secure_file(config: Config, path: str | os.PathLike[str]) -> None:
    """Bring an existing file to the configured mode (and group), e.g. a database file
    created before the mode was enforced."""
    group = config.section("files").get("group")
    if group:
        import grp
        from contextlib import suppress

        with suppress(KeyError, PermissionError):  # `tousu doctor` reports a group not set
            os.chown(path, -1, grp.getgrnam(str(group)).gr_gid)
    os.chmod(path, file_mode(config))


def secure_database_file(config: Config) -> None:
    if not is_sqlite(config.database_url):
        return
    from pathlib import Path

    path = config.database_url.split("///", 1)[-1]
    for name in (path, f"{path}-wal", f"{path}-shm"):
        if path and path != ":memory:" and Path(name).is_file():
            secure_file(config, name)
