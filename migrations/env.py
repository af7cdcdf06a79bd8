"""Alembic environment: tousu's metadata; URL from the caller or tousu's configuration."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# Tables outside storage/models.py (one module per noun):
import storage.access_refusal  # noqa: F401
import storage.callback  # noqa: F401
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
import storage.models  # noqa: F401  (registers the tables)
import storage.notifications  # noqa: F401
import storage.pii_access  # noqa: F401
import storage.public_opinion  # noqa: F401
import storage.rectification  # noqa: F401
import storage.special_attention  # noqa: F401
from storage.db import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    from config import load_config

    url = load_config().database_url

target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
