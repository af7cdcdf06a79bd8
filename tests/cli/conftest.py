"""Drive `tousu` as a user would: Typer's runner against the per-test SQLite database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from services.context import Context

Tousu = Callable[..., Result]


@pytest.fixture
def cli_env(ctx: Context, tmp_path: Path) -> dict[str, str]:
    # The CLI under test reads the same personal-data key as the services' context.
    return {
        "TOUSU_DATABASE_URL": ctx.config.database_url,
        "TOUSU_KEY": ctx.config.key,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_USER": "",
        "TOUSU_TOKEN": "",
        "TOUSU_CONFIG": "",
        # A single-user local setup: --user acts without proof (tests/cli/test_identity.py
        # proves the strict mode with "false").
        "TOUSU__CLI__SINGLE_USER": "true",
        "COLUMNS": "200",
    }


@pytest.fixture
def tousu(cli_env: dict[str, str]) -> Tousu:
    """tousu("show", N, user="liaison") → the Result; user=None leaves --user out."""
    runner = CliRunner()

    def invoke(
        *args: str,
        user: str | None = "clerk",
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        argv = [*args, *(["--user", user] if user else [])]
        result = runner.invoke(app, argv, env={**cli_env, **(env or {})}, input=input)
        assert "Traceback" not in result.output, result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


def as_json(result: Result) -> dict[str, Any]:
    return json.loads(result.stdout.strip().splitlines()[-1])


REGISTER = [
    "register",
    "--name",
    "赵六",
    "--phone",
    "13800138000",
    "--id-number",
    "11010519491231002X",
    "--address",
    "北京市朝阳区建国路1号",
    "--claim",
    "要求按合同赔付医疗费用",
    "--facts",
    "住院后申请理赔, 30 日未获答复",
    "--channel",
    "hotline",
    "--policy-no",
    "P2026000123",
    "--amount",
    "8600",
    "--branch",
    "beijing",
    "--no-prompt",
]
