"""The migrations and the models describe the same schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import storage.escalation  # noqa: F401  (feature tables)
import storage.ledger  # noqa: F401
import storage.models  # noqa: F401
import storage.notifications  # noqa: F401


def test_the_migrated_schema_matches_the_models(any_ctx) -> None:  # type: ignore[no-untyped-def]
    with any_ctx.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
