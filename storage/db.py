"""One engine per process. SQLite by default (WAL, busy timeout, BEGIN IMMEDIATE so that a
read-modify-write cannot lose an update across processes, STACK_NOTES); PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine


def normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = str(url_or_engine.url) if isinstance(url_or_engine, Engine) else url_or_engine
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Every unit of work ends in an explicit commit or rollback, so the pool need not
        # roll back again on check-in (a measurable cost at thousands of actions a second).
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _: Any) -> None:
            # Take transaction control from pysqlite so BEGIN IMMEDIATE is ours to send.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Straight to the driver: the write lock is taken before the first read, unless
            # the connection was opened with `read_only()` (queries never write).
            mode = "BEGIN" if conn.get_execution_options().get("tousu_read_only") \
                else "BEGIN IMMEDIATE"
            conn.connection.driver_connection.execute(mode)

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def read_only(engine: Engine) -> Any:
    """A connection for reads: on SQLite it does not take the write lock."""
    return engine.connect().execution_options(tousu_read_only=True)
