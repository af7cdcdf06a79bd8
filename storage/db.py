"""One engine per process. SQLite by default (WAL, busy timeout, BEGIN IMMEDIATE so that a
read-modify-write cannot lose an update across processes); PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, create_engine


def normalize_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = str(url_or_engine.url) if isinstance(url_or_engine, Engine) else url_or_engine
    return url.startswith("sqlite")


def make_engine(url: str, *, sqlite_cache_mib: int | None = None, **kwargs: Any) -> Engine:
    """The engine of `url`; on SQLite every connection keeps `sqlite_cache_mib` of pages
    (`[database] sqlite_cache_mib`; by default the configuration's default, config/)."""
    if sqlite_cache_mib is None:
        from config import Config

        sqlite_cache_mib = int(Config.model_fields["sqlite_cache_mib"].default)
    url = normalize_url(url)
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Every unit of work ends in an explicit commit or rollback, so the pool need not
        # roll back again on check-in (a measurable cost at thousands of actions a second).
        kwargs.setdefault("pool_reset_on_return", None)
        kwargs.setdefault("pool_use_lifo", True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _: Any) -> None:
            # Take transaction control from pysqlite so BEGIN IMMEDIATE is ours to send.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA cache_size=-{int(sqlite_cache_mib) * 1024}")
            cur.close()

        # BEGIN IMMEDIATE through the dialect's own begin hook rather than an engine "begin"
        # listener: any engine-level listener sends every statement through the event
        # dispatch path, which cost about a quarter of a short transaction's overhead here.
        # The hook is set on this dialect instance, so Python calls it unbound with the DBAPI
        # connection alone; mypy checks it against the class method's `self` signature.
        engine.dialect.do_begin = _sqlite_begin  # type: ignore[method-assign, assignment]
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


_READ_ONLY = "tousu_read_only"


def _sqlite_begin(dbapi_conn: Any) -> None:
    """Straight to the driver: the write lock is taken before the first read, unless the
    connection was opened with `read_only()` (queries never write)."""
    mode = "BEGIN" if dbapi_conn.info.get(_READ_ONLY) else "BEGIN IMMEDIATE"
    dbapi_conn.driver_connection.execute(mode)


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection for reads: on SQLite it does not take the write lock."""
    with engine.connect() as conn:
        proxied = conn.connection  # the pooled DB-API connection, flagged while we hold it
        proxied.info[_READ_ONLY] = True
        try:
            yield conn
        finally:
            proxied.info.pop(_READ_ONLY, None)


@lru_cache(maxsize=1024)
def _compiled(statement: Any, dialect: Any) -> tuple[str, Any]:
    """The SQL of a statement built once, and its compiled form (for its parameters); an
    `IN` of fixed values is written out (no expansion at execution)."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), compiled


class RawReads:
    """Reads on one pooled DB-API connection (`raw_reads`): statements built once by the
    caller, compiled once per dialect, run without SQLAlchemy's per-execution machinery
    (connection wrapper, result metadata, row objects), which cost as much as the reads
    themselves on the pages every handler opens. Values come as the driver gives them, as
    from the untyped `table()`/`SELECT *` statements these are: text times on SQLite
    (`storage.timeutil.from_db` reads both), 0/1 booleans."""

    def __init__(self, cursor: Any, dialect: Any) -> None:
        self._cursor = cursor
        self._dialect = dialect

    def rows(
        self, statement: Any, params: dict[str, Any] | None = None
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """(column names, rows as tuples)."""
        sql, compiled = _compiled(statement, self._dialect)
        bound = compiled.construct_params(params or {})
        args: Any = (
            tuple(bound[name] for name in compiled.positiontup) if compiled.positional else bound
        )
        self._cursor.execute(sql, args)
        found = self._cursor.fetchall()
        names = tuple(d[0] for d in self._cursor.description or ())
        return names, [tuple(r) for r in found]

    def all(self, statement: Any, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        names, found = self.rows(statement, params)
        return [dict(zip(names, r, strict=True)) for r in found]

    def first(self, statement: Any, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        names, found = self.rows(statement, params)
        return dict(zip(names, found[0], strict=True)) if found else None


@contextmanager
def raw_reads(engine: Engine, *, snapshot: bool = True) -> Iterator[RawReads]:
    """`RawReads` on one pooled connection; with `snapshot` the statements read one state of
    the database on SQLite (a deferred BEGIN, rolled back after; PostgreSQL reads as
    `read_only` does, each statement at READ COMMITTED)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # SQLite connections are in autocommit (`make_engine`): a snapshot is ours to open.
        own = snapshot and engine.dialect.name == "sqlite"
        try:
            if own:
                cursor.execute("BEGIN")
            yield RawReads(cursor, engine.dialect)
        finally:
            if own:
                cursor.execute("ROLLBACK")
            cursor.close()
    finally:
        # Back to the pool: on PostgreSQL the pool rolls back the transaction the reads
        # opened; on SQLite none is left open.
        raw.close()


def first_row(engine: Engine, statement: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """The first row of a one-statement read as {column: raw value}, or None (`RawReads`):
    the read every page makes for its session."""
    with raw_reads(engine, snapshot=False) as reads:
        return reads.first(statement, params)
