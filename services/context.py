"""What every use case needs, built once at an entry point and passed down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from config import Config, load_config
from states.calendar import WorkCalendar
from states.deadlines import Clock
from storage.db import is_sqlite, make_engine
from storage.vault import Vault, load_key


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

    @property
    def vault(self) -> Vault:
        """Created on first use so that read-only commands never load the cipher."""
        if self._vault is None:
            self._vault = Vault(load_key(self.config.key_file, self.config.key))
        return self._vault

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
        conn = self.engine.connect()
        self._held.conn = conn
        with self._held_lock:
            self._all_held.append(conn)
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
        rules=config.deadlines,
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
    if migrate:
        from storage.migrate import upgrade

        upgrade(config.database_url)
    return Context(
        config=config,
        engine=make_engine(config.database_url),
        clock=make_clock(config),
        tz=ZoneInfo(config.timezone),
    )
