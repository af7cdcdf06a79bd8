"""SQLite transaction modes (STACK_NOTES: the lost-update trap): every unit of work takes the
write lock at BEGIN, before its first read; `read_only()` connections do not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import make_engine, read_only
from storage.migrate import upgrade


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "locks.db"
    upgrade(f"sqlite:///{path}")
    return path


def _can_write(path: Path) -> bool:
    """Whether another connection can take the write lock right now (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_a_unit_of_work_holds_the_write_lock_from_its_first_read(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM complaint")).scalar()
            assert not _can_write(db)
        assert _can_write(db)
    finally:
        engine.dispose()


def test_a_read_only_connection_leaves_the_write_lock_free_and_is_not_marked_afterwards(
    db: Path,
) -> None:
    engine = make_engine(f"sqlite:///{db}", pool_size=1)
    try:
        with read_only(engine) as conn:
            conn.execute(text("SELECT count(*) FROM complaint")).scalar()
            assert _can_write(db)
        # The same pooled connection, now for a write: the lock is taken at BEGIN again.
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM complaint")).scalar()
            assert not _can_write(db)
    finally:
        engine.dispose()
