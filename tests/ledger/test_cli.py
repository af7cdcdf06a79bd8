"""`tousu ledger / callback / attention` as a user runs them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from cli.main import app
from services.lifecycle.registration import register
from tests.factories import accepted, cst, registration
from tests.ledger.test_callbacks import notified_at

pytestmark = pytest.mark.clock  # `callback due` and the ledger read the clock themselves


def _run(ctx, tmp_path, *args, user="supervisor"):
    env = {
        "TOUSU_DATABASE_URL": ctx.config.database_url,
        "TOUSU_KEY": ctx.config.key,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_USER": "",
        "TOUSU_CONFIG": "",
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, [*args, "--user", user], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def test_a_supervisor_lists_updates_and_exports_the_ledger(ctx, tmp_path):
    t = cst(2026, 6, 1, 10)
    accepted(ctx, t)
    register(
        ctx,
        registration(received_at=t + timedelta(days=1), channel="regulator", regulator_ref="R1"),
        actor="clerk",
    )
    listed = _run(ctx, tmp_path, "ledger", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [matter] = json.loads(listed.output)["matters"]
    done = _run(
        ctx,
        tmp_path,
        "ledger",
        "update",
        matter["code"],
        "--class",
        "reasonable",
        "--measure",
        "resolve",
        "--note",
        "补付赔款",
    )
    assert done.exit_code == 0, done.output
    shown = _run(ctx, tmp_path, "ledger", "show", matter["code"])
    assert "合理诉求" in shown.output and "补付赔款" in shown.output
    bad = _run(ctx, tmp_path, "ledger", "update", matter["code"], "--class", "x")
    assert bad.exit_code == 2
    out = tmp_path / "tz.xlsx"
    exported = _run(ctx, tmp_path, "ledger", "export", "--out", str(out))
    assert exported.exit_code == 0 and out.exists(), exported.output


def test_a_handler_sees_due_callbacks_and_records_one(ctx, tmp_path):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    due = _run(ctx, tmp_path, "callback", "due", "--json", user="liaison")
    [cb] = json.loads(due.output)["callbacks"]
    assert cb["number"] == number
    done = _run(
        ctx,
        tmp_path,
        "callback",
        "record",
        str(cb["id"]),
        "--reached",
        "--satisfaction",
        "dissatisfied",
        "--nps",
        "3",
        "--at",
        "2026-03-05T10:00",
        user="liaison",
    )
    assert done.exit_code == 0 and "重新处理" in done.output


def test_the_attention_list_refuses_a_handler_with_exit_code_3(ctx, tmp_path):
    number = accepted(ctx, cst(2026, 6, 1, 10))
    added = _run(
        ctx, tmp_path, "attention", "add", number, "--reason", "恶意", "--evidence", "录音"
    )
    assert added.exit_code == 0, added.output
    assert _run(ctx, tmp_path, "attention", "list", user="liaison").exit_code == 3
    assert "恶意" in _run(ctx, tmp_path, "attention", "list").output
