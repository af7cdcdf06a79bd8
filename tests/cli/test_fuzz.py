"""Every command driven with random and adversarial values on SQLite and PostgreSQL (issue 14,
Proof): exit code in {0, 2, 3, 4, 5, 6}, no traceback, nothing written by a command that did
not succeed. A fixed set of inputs here (derandomized, so a failure reproduces); bench/fuzz.py
runs 10,000 fresh ones."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from services.context import Context
from tests.fuzzing import described, invocations, run_one, seeded_numbers, shapes

SHAPES = shapes()
EXAMPLES = 40  # per database: about 10-15 s each


@pytest.fixture(params=["sqlite", "postgres"])
def target(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Context, dict[str, str], tuple[str, ...]]:
    # A relative path the fuzzer gives (`report --out 2`) is written here, not in the project.
    monkeypatch.chdir(tmp_path)
    ctx: Context = request.getfixturevalue("ctx" if request.param == "sqlite" else "pg_ctx")
    env = {
        "TOUSU_DATABASE_URL": ctx.config.database_url,
        "TOUSU_KEY": ctx.config.key,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_USER": "",
        "TOUSU_CONFIG": "",
        "COLUMNS": "200",
    }
    # The first start records the key's check value (services/keys.py): done once here, so
    # that the runs compare only what each of them wrote.
    assert CliRunner().invoke(app, ["queue", "--user", "supervisor"], env=env).exit_code == 0
    return ctx, env, seeded_numbers(ctx, now)


def test_the_fuzzer_reaches_every_command() -> None:
    paths = {" ".join(s.path) for s in SHAPES}
    assert {"register", "show", "queue", "accept", "escalate", "appraisal start"} <= paths
    assert {"users add", "ledger list", "report", "callback record"} <= paths
    assert not any(p.startswith(("serve", "db ")) for p in paths)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_no_input_gives_a_traceback_or_a_write_on_failure(target: Any, data: Any) -> None:
    ctx, env, numbers = target
    argv = data.draw(invocations(SHAPES, numbers), label="argv")
    outcome = run_one(CliRunner(), env, argv, ctx.engine)
    assert not outcome.traceback, described(outcome)
    assert not outcome.wrote_on_failure, described(outcome)
