"""The migrations and the models describe the same schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import storage.access_refusal  # noqa: F401
import storage.callback  # noqa: F401  (tables outside storage/models.py)
import storage.consultation  # noqa: F401
import storage.contact  # noqa: F401
import storage.escalation  # noqa: F401
import storage.evidence  # noqa: F401
import storage.idempotency  # noqa: F401
import storage.identity  # noqa: F401
import storage.key_check  # noqa: F401
import storage.ledger  # noqa: F401
import storage.mediation_referral  # noqa: F401
import storage.message  # noqa: F401
import storage.models  # noqa: F401
import storage.notifications  # noqa: F401
import storage.pii_access  # noqa: F401
import storage.public_opinion  # noqa: F401
import storage.rectification  # noqa: F401
import storage.special_attention  # noqa: F401


def test_the_migrated_schema_matches_the_models(any_ctx) -> None:  # type: ignore[no-untyped-def]
    with any_ctx.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def _downgrade_to_base(url: str) -> None:
    from alembic import command

    from storage.migrate import alembic_config

    command.downgrade(alembic_config(url), "base")


def test_downgrading_to_base_leaves_nothing_behind_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from storage.migrate import upgrade

    path = tmp_path / "down.db"
    upgrade(f"sqlite:///{path}")
    _downgrade_to_base(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        left = db.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN "
            "('table', 'trigger', 'index') AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    assert left == [("table", "alembic_version")]


def test_downgrading_to_base_leaves_nothing_behind_on_postgresql() -> None:
    import uuid

    from sqlalchemy import create_engine, text

    from storage.migrate import upgrade
    from tests.conftest import PG_ADMIN_URL

    try:
        admin = create_engine(
            PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        name = f"tousu_down_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means skip
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}): "
            "PostgreSQL part skipped"
        )
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        _downgrade_to_base(url)
        engine = create_engine(url)
        with engine.connect() as conn:
            tables = (
                conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                .scalars()
                .all()
            )
            functions = (
                conn.execute(
                    text(
                        "SELECT proname FROM pg_proc p JOIN pg_namespace n "
                        "ON n.oid = p.pronamespace WHERE nspname = 'public'"
                    )
                )
                .scalars()
                .all()
            )
        engine.dispose()
        assert (tables, functions) == (["alembic_version"], [])
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
