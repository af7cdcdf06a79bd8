"""Apply Alembic migrations programmatically (Makefile, `tousu db upgrade`, tests)."""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current(url: str) -> tuple[str, ...]:
    """The revisions the database is at (one per head once all are applied)."""
    from alembic.runtime.migration import MigrationContext

    from storage.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        revs = MigrationContext.configure(conn).get_current_heads()
    engine.dispose()
    return tuple(revs)
