"""Shared fixtures: a migrated SQLite database per test (copied from a session template),
PostgreSQL when 127.0.0.1:5432 answers (a fresh database per session, dropped afterwards),
and one user per role."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from config import Config, load_config  # noqa: E402
from services import users  # noqa: E402
from services.context import Context, open_context  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

PG_ADMIN_URL = os.environ.get("TOUSU_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
TEST_KEY = "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o="

ROLE_USERS = {
    "clerk": ("intake_clerk", "张受理"),
    "investigator": ("investigator", "陈调查"),
    "coordinator": ("coordinator", "周协调"),
    "liaison": ("liaison", "李对接"),
    "liaison2": ("liaison", "吴对接"),
    "supervisor": ("supervisor", "王主管"),
    "committee": ("committee", "孙委员"),
    "admin": ("admin", "赵管理"),
}


def make_config(root: Path, url: str | None = None, **env: str) -> Config:
    environ = {"TOUSU_ROOT": str(root), "TOUSU_KEY": TEST_KEY, **env}
    if url:
        environ["TOUSU_DATABASE_URL"] = url
    return load_config(environ=environ, root=root)


def seed_users(ctx: Context) -> None:
    users.ensure_system_user(ctx)
    for username, (role, name) in ROLE_USERS.items():
        users.add_user(ctx, username, name=name, role=role, team="消保一组")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def ctx(tmp_path: Path, sqlite_template: Path) -> Iterator[Context]:
    db = tmp_path / "tousu.db"
    shutil.copy(sqlite_template, db)
    context = open_context(make_config(tmp_path, f"sqlite:///{db}"))
    seed_users(context)
    yield context
    context.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, or a skip that says why."""
    from sqlalchemy import create_engine, text

    try:
        admin = create_engine(
            PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            name = f"tousu_test_{uuid.uuid4().hex[:10]}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means skip
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}): "
            "PostgreSQL part skipped"
        )
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_ctx(tmp_path: Path, pg_database: str) -> Iterator[Context]:
    from sqlalchemy import text

    context = open_context(make_config(tmp_path, pg_database))
    with context.engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE outbox, event, deadline, complaint, party, institution, "
                '"user" RESTART IDENTITY CASCADE'
            )
        )
    seed_users(context)
    yield context
    context.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_ctx(request: pytest.FixtureRequest) -> Context:
    """The same test on SQLite and (when it answers) PostgreSQL."""
    name = "ctx" if request.param == "sqlite" else "pg_ctx"
    return request.getfixturevalue(name)
