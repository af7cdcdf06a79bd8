"""Shared fixtures: the suite's clock, a migrated SQLite database per test (copied from a
session template), PostgreSQL when 127.0.0.1:5432 answers (a fresh database per session,
dropped afterwards), and one user per role.

The clock: every test runs with time travelled (time-machine, ticking) to one suite instant,
so no test reads the real wall clock. The instant is `DEFAULT_CLOCK` unless `--clock` names
another (one of `CLOCKS` or an ISO instant; a naive one is Asia/Shanghai). The `now` fixture
returns it. Tests build their data relative to `now` or at fixed dates before the earliest
named instant (2026-09-30); a test whose fixed data is later pins its own instant with
`@pytest.mark.now(...)`. So the whole suite holds at every instant from 2026-09-30 on (an
earlier --clock finds fixed data in the future). Tests marked `clock` depend on the time of day
or date and are run again at each of `CLOCKS` by `make test`.

Travel ticks (tick=True): threads, servers and timeouts see time pass; no test compares a time
the code took from the clock with `now` for equality, so none needs a frozen clock."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The CLI under test is a single-user local setup ([cli] single_user, services/identity.py):
# tests name the acting user with --user. tests/cli/test_identity.py turns it off to prove
# the strict mode (a linked OS account or a token).
os.environ.setdefault("TOUSU__CLI__SINGLE_USER", "true")
# Passwords are hashed with the cheapest Argon2id the configuration allows (a web test logs
# several users in; the production cost is about 0.1 s a hash). tests/web/test_auth.py
# proves the configured cost is what a stored hash carries.
CHEAP_HASHES = {
    "TOUSU__WEB__PASSWORD_HASH_TIME_COST": "1",
    "TOUSU__WEB__PASSWORD_HASH_MEMORY_KIB": "64",
}
for _name, _value in CHEAP_HASHES.items():  # for the CLI's and the served app's own config
    os.environ.setdefault(_name, _value)

from config import Config, load_config  # noqa: E402
from services import users  # noqa: E402
from services.context import Context, open_context  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.factories import cst  # noqa: E402

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


# ---- The clock --------------------------------------------------------------------------------

DEFAULT_CLOCK = cst(2026, 11, 25, 10, 30)  # a Wednesday mid-morning in Beijing, a working day
CLOCKS = {
    "default": DEFAULT_CLOCK,
    # 00:30 on Sunday 1 November in Beijing is still 31 October in UTC (16:30): the month
    # just ended is October here, September by the UTC date.
    "after-midnight": cst(2026, 11, 1, 0, 30),
    # 23:45 on Monday 30 November: the local day (and month) ends in 15 minutes.
    "before-midnight": cst(2026, 11, 30, 23, 45),
    # 2026-10-10 is a Saturday worked in place of a National Day holiday (调休).
    "tiaoxiu-saturday": cst(2026, 10, 10, 15, 0),
    # The last working afternoon before the National Day week (10/1-10/7 off).
    "month-end-before-holiday": cst(2026, 9, 30, 16, 30),
}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_clock(value: str) -> datetime:
    """A name from CLOCKS or an ISO instant (naive = Asia/Shanghai)."""
    if value in CLOCKS:
        return CLOCKS[value]
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(
            f"--clock {value!r}: expected one of {', '.join(CLOCKS)} or an ISO instant"
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=SHANGHAI)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        default="default",
        help=f"the instant every test runs at: {', '.join(CLOCKS)} or an ISO time "
        "(naive = Asia/Shanghai); default %(default)s",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"suite clock: {parse_clock(config.getoption('--clock')).isoformat()}"


@pytest.fixture
def now(request: pytest.FixtureRequest) -> datetime:
    """The instant this test runs at: its own `mark.now`, else the suite's `--clock` (the clock
    is travelled there, and ticks on from it)."""
    pinned = request.node.get_closest_marker("now")
    return pinned.args[0] if pinned else parse_clock(request.config.getoption("--clock"))


@pytest.fixture(autouse=True)
def _travel_to_the_suite_instant(now: datetime) -> Iterator[None]:
    """Autouse, so it starts before any function-scoped fixture reads the clock. Session
    fixtures (the SQLite template, PostgreSQL, the Prefect harness) are set up before it,
    on the real clock, and never ask it the time for anything a test checks."""
    with time_machine.travel(now, tick=True):
        yield


def make_config(root: Path, url: str | None = None, **env: str) -> Config:
    environ = {"TOUSU_ROOT": str(root), "TOUSU_KEY": TEST_KEY, **CHEAP_HASHES, **env}
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
        # The history refuses TRUNCATE (0014_keys_history); a test database's reset is the
        # one place that may, with triggers off for this transaction.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = conn.execute(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename != 'alembic_version'"
            )
        ).scalars()
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    seed_users(context)
    yield context
    context.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_ctx(request: pytest.FixtureRequest) -> Context:
    """The same test on SQLite and (when it answers) PostgreSQL."""
    name = "ctx" if request.param == "sqlite" else "pg_ctx"
    return request.getfixturevalue(name)
