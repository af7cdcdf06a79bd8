"""Hostile and mistaken input on the command line (issue 14, Input): every user error is exit
2 with a Chinese message naming the field and nothing written; a bug is exit 1 with one line
naming a log file, never a traceback."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.context import Context
from storage import records
from tests.cli.conftest import REGISTER, Tousu, as_json
from tests.factories import accepted

pytestmark = pytest.mark.clock


def _written(ctx: Context) -> tuple[int, int]:
    """(complaints, events): what a refused command must leave as it was."""
    with ctx.engine.connect() as conn:
        cases = conn.execute(select(func.count()).select_from(records.COMPLAINT)).scalar_one()
        events = conn.execute(select(func.count()).select_from(records.EVENT)).scalar_one()
    return int(cases), int(events)


def _register_with(**changed: str) -> list[str]:
    """REGISTER with some options' values replaced (or added)."""
    args = list(REGISTER)
    for option, value in changed.items():
        flag = "--" + option.replace("_", "-")
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


def _refused(result: Any, flag: str) -> dict[str, Any]:
    assert result.exit_code == 2, result.output
    body = as_json(result)
    assert body["ok"] is False and body["error"]["flag"] == flag, body
    assert re.search(r"[\u4e00-\u9fff]", body["error"]["message"]), body  # Chinese words
    return body


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("at", "0001-01-01"),
        ("at", "9999-12-31T23:59"),
        ("group_size", "99999999999999999999"),
        ("group_size", "2147483648"),
        ("group_size", "0"),
        ("amount", "nan"),
        ("amount", "inf"),
        ("amount", "-inf"),
        ("amount", "1e309"),
        ("amount", "1e400"),
        ("policy_no", "P" * 70),
        ("name", "x" * 40_000),
        ("facts", "事实" * 6000),
        ("name", "\x1b[31m赵六\x1b[0m"),
        ("name", "赵六\x07"),
        ("name", "赵\u202e六"),
        ("facts", "住院\x00理赔"),
        ("name", "\udcff\udcfe"),  # invalid UTF-8 as Python receives it from the terminal
        ("claim", "   "),
        ("phone", "00000000000"),
        ("phone", "000-12345678"),
    ],
)
def test_a_bad_registration_value_is_refused_by_name_and_nothing_is_written(
    tousu: Tousu, ctx: Context, option: str, value: str
) -> None:
    before = _written(ctx)
    flag = {"at": "--received-at"}.get(option, "--" + option.replace("_", "-"))
    _refused(tousu(*_register_with(**{option: value}), "--json"), flag)
    assert _written(ctx) == before


def test_full_width_digits_in_phone_and_id_numbers_are_read_as_digits(
    tousu: Tousu, ctx: Context
) -> None:
    args = _register_with(
        phone="１３８００１３８０００", id_number="１１０１０５１９４９１２３１００２Ｘ"
    )
    result = tousu(*args, "--json")
    assert result.exit_code == 0, result.output
    shown = as_json(tousu("show", as_json(result)["number"], "--reveal", "--json"))
    party = shown["parties"]["complainant"]
    assert party["phone"] == "13800138000" and party["id_number"] == "11010519491231002X"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["escalate", "{n}", "--reason", "涉及舆情", "--level", "99999999999999999999"], "--level"),
        (["escalate", "{n}", "--reason", "涉及舆情", "--level", "7"], "--level"),
        (["escalate", "{n}", "--reason", "涉及舆情", "--level", "-5"], "--level"),
        (["escalate", "{n}", "--reason", "   "], "--reason"),
        (["extend", "{n}", "--to", "30", "--reason", "   "], "--reason"),
        (["investigate", "{n}", "--note", "\udcff"], "--note"),
        (["investigate", "{n}", "--note", "\x1b]8;;http://evil.example\x07点我"], "--note"),
        (["investigate", "{n}", "--note", "记" * 5000], "--note"),
        (["escalate", "{n}", "--reason", "r", "--expect-version", "99999999999999999999"], None),
        (["assign", "{n}", "--owner", "nobody", "--reason", "休假交接"], "--owner"),
    ],
)
def test_a_bad_action_value_is_refused_by_name_and_nothing_is_written(
    tousu: Tousu, ctx: Context, now: Any, args: list[str], flag: str | None
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    before = _written(ctx)
    result = tousu(*(a.replace("{n}", number) for a in args), "--json", user="supervisor")
    assert result.exit_code == 2, result.output
    body = as_json(result)
    if flag is not None:
        assert body["error"].get("flag") == flag, body
    else:  # Click refused it before the command ran: the option is named in the message
        assert "--expect-version" in body["error"]["message"], body
    assert _written(ctx) == before


def test_a_choice_outside_its_table_is_bad_input_not_a_refusal(
    tousu: Tousu, ctx: Context, now: Any
) -> None:
    from tests.factories import registered

    number = registered(ctx, now - timedelta(hours=1))
    args = ["accept", number, "--category", "claims", "--product", "medical"]
    result = tousu(*args, "--owner", "liaison", "--priority", "super", "--json")
    _refused(result, "--priority")


@pytest.mark.parametrize(
    ("args", "flag", "user"),
    [
        (["queue", "--limit", "99999999999999999999"], None, "supervisor"),
        (["report", "--period", "0000-01"], "--period", "supervisor"),
        (["report", "--period", "9999-12"], "--period", "supervisor"),
        (["report", "--quarter", "0000Q1"], "--quarter", "supervisor"),
        (["ledger", "list", "--status", "bogus"], "--status", "supervisor"),
        (["ledger", "show", "¹"], None, "supervisor"),
        (["ledger", "show", "TZ" + "9" * 30], None, "supervisor"),
        (["users", "add", "mallory", "--name", "", "--role", "liaison"], "--name", "admin"),
        (["users", "add", "mallory", "--name", "   ", "--role", "liaison"], "--name", "admin"),
        (["users", "add", "马" * 70, "--name", "马", "--role", "liaison"], "--username", "admin"),
    ],
)
def test_other_commands_refuse_out_of_range_and_unknown_values(
    tousu: Tousu, args: list[str], flag: str | None, user: str
) -> None:
    as_machine = args[0] != "report"  # `report` prints no JSON
    result = tousu(*args, *(["--json"] if as_machine else []), user=user)
    assert result.exit_code == 2, result.output
    if flag is not None and as_machine:
        assert as_json(result)["error"]["flag"] == flag
    elif flag is not None:
        assert result.output.startswith(f"错误(输入有误) {flag}: "), result.output


def test_an_output_path_that_is_a_directory_or_an_existing_file_is_bad_input(
    tousu: Tousu, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    taken = tmp_path / "taken.xlsx"
    taken.write_text("x")
    for args in (
        ["ledger", "export", "--out", str(folder)],
        ["report", "--period", "2026-10", "--out", str(taken)],
    ):
        result = tousu(*args, user="supervisor")
        assert result.exit_code == 2, result.output
        assert result.output.startswith("错误(输入有误) --out: "), result.output


def test_click_s_own_messages_are_chinese(tousu: Tousu, ctx: Context, now: Any) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    missing = tousu("escalate", number, user="supervisor")
    assert missing.exit_code == 2
    assert "缺少必填选项 '--reason'" in missing.output and "Missing" not in missing.output
    assert "用法: tousu escalate" in missing.output and "Usage" not in missing.output
    unknown = tousu("bogus", user=None)
    assert unknown.exit_code == 2 and "没有这个命令 'bogus'" in unknown.output
    bad_option = tousu("queue", "--bogus", user="supervisor")
    assert bad_option.exit_code == 2 and "没有这个选项: --bogus" in bad_option.output
    not_a_number = tousu("queue", "--limit", "abc", user="supervisor")
    assert "选项 '--limit' 的值无效: 应为整数" in not_a_number.output
    helped = tousu("escalate", "--help", user=None)
    assert "显示本帮助并退出" in helped.output and "Show this message" not in helped.output
    assert "选项" in helped.output and "Options" not in helped.output
    as_machine = tousu("escalate", number, "--json", user="supervisor")
    assert as_json(as_machine)["error"]["message"] == "缺少必填选项 '--reason'。"


def test_an_unexpected_error_is_one_line_and_a_log_file_never_a_traceback(
    tousu: Tousu, ctx: Context, now: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.lifecycle import queries

    number = accepted(ctx, now - timedelta(days=1))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the view")

    monkeypatch.setattr(queries, "complaint_view", broken)
    result = tousu("show", number, user="supervisor")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "详情已写入" in lines[0], result.output
    log = Path(lines[0].rsplit("详情已写入 ", 1)[1])
    assert "RuntimeError: a bug in the view" in log.read_text(encoding="utf-8")
    assert log.stat().st_mode & 0o077 == 0  # tracebacks may hold personal data: owner only


def test_an_investigator_sees_phone_and_id_numbers_in_the_facts_masked(
    tousu: Tousu, ctx: Context
) -> None:
    facts = "投诉人留言: 请打 138-0013-8000 或 138 0013 8000, 身份证 110105 19491231002X"
    registered = tousu(*_register_with(facts=facts), "--json")
    number = as_json(registered)["number"]
    seen = as_json(tousu("show", number, "--json", user="investigator"))
    shown = seen["complaint"]["facts"]
    assert "138****8000" in shown and "110105********002X" in shown
    assert not re.search(r"\d{4}[- ]?\d{4}[- ]?\d{3}", shown.replace("110105", "")), shown
    revealed = as_json(tousu("show", number, "--reveal", "--json", user="clerk"))
    assert revealed["complaint"]["facts"] == facts


@pytest.mark.parametrize(
    "value",
    [{"code": "c" * 70}, {"code": "nul\x00byte"}, {"code": "n", "id": 2**70}],
    ids=["too-long", "nul-byte", "huge-integer"],
)
def test_a_value_the_database_cannot_hold_is_bad_input_on_both_databases(
    any_ctx: Context, value: dict[str, Any]
) -> None:
    """The net under the declared limits: whatever the driver says about a value (PostgreSQL's
    DataError, SQLite's overflow) is exit 2, not a traceback."""
    from sqlalchemy import insert

    from cli.errors import classify
    from storage.models import Institution
    from storage.schema import table_of

    row = {"name": "某机构", "branch": "beijing", "level": "branch", **value}
    try:
        with any_ctx.engine.begin() as conn:
            conn.execute(insert(table_of(Institution)).values(**row))
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises is classified
        found = classify(exc)
        assert found is not None and found[0] == 2, (type(exc), exc)
    else:  # SQLite holds any text: the declared limits (states/validation.py) keep both alike
        assert any_ctx.engine.dialect.name == "sqlite" and "id" not in value


def test_a_prompt_that_meets_the_end_of_its_input_is_bad_input(tousu: Tousu, ctx: Context) -> None:
    before = _written(ctx)
    result = tousu("register", "--prompt", "--name", "赵六", input="")
    assert result.exit_code == 2, result.output
    assert "已中止" in result.output and _written(ctx) == before


def test_no_command_takes_an_argument_longer_than_any_field(
    tousu: Tousu, ctx: Context, now: Any
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    before = _written(ctx)
    args = ["attention", "add", number, "--reason", "长" * 40_000, "--evidence", "来电录音"]
    result = tousu(*args, user="supervisor")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("错误(输入有误) --reason: 过长"), result.output
    assert _written(ctx) == before


def test_changed_facts_take_the_group_size_range_registration_takes(
    tousu: Tousu, ctx: Context, now: Any
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    before = _written(ctx)
    args = ["facts", number, "--reason", "新增投诉人", "--group-size", "2000000", "--json"]
    _refused(tousu(*args, user="supervisor"), "--group-size")
    assert _written(ctx) == before
