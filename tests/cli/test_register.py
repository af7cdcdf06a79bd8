from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.context import Context
from storage import records
from tests.cli.conftest import REGISTER, Tousu, as_json


def _credit_code() -> str:
    from states.validation import _USCC_CHARS, _USCC_WEIGHTS

    body = "91110108MA01ABCDE"
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]


def _count(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records.COMPLAINT)).scalar_one())


def test_a_clerk_registers_a_complaint_and_gets_its_number_and_deadlines(tousu: Tousu) -> None:
    result = tousu(*REGISTER, "--at", "2026-03-02T10:00", "--json")
    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert body["ok"] and body["state"] == "registered"
    assert body["number"].startswith("TS20260302")
    names = {d["name"]: d for d in body["deadlines"]}
    # Art. 18: 15 days, start day not counted → ends 24:00 on 17 March, Asia/Shanghai.
    assert names["decision"]["due"] == "2026-03-18T00:00:00+08:00"
    assert names["decision"]["verified"] is True
    assert names["acceptance"]["due"] == "2026-03-03T10:00:00+08:00"


def test_every_registration_field_of_article_13_has_a_flag(tousu: Tousu, ctx: Context) -> None:
    result = tousu(
        "register",
        "--kind",
        "organisation",
        "--name",
        "北京某某科技有限公司",
        "--credit-code",
        _credit_code(),
        "--legal-rep",
        "钱七",
        "--address",
        "北京市海淀区",
        "--phone",
        "010-62345678",
        "--capacity",
        "agent",
        "--on-behalf-of",
        "北京某某科技有限公司",
        "--agent-name",
        "孙律师",
        "--agent-phone",
        "13900139000",
        "--power-of-attorney",
        "委托书 WT-2026-01",
        "--institution",
        "北京分公司营业部",
        "--branch",
        "beijing",
        "--employee-name",
        "周销售",
        "--employee-no",
        "E1001",
        "--claim",
        "退还保费",
        "--facts",
        "销售误导",
        "--basis",
        "保险法第十七条",
        "--policy-no",
        "P9",
        "--amount",
        "120000",
        "--category",
        "sales",
        "--product",
        "property",
        "--channel",
        "regulator",
        "--regulator-ref",
        "12378-2026-000123",
        "--forwarded-on",
        "2026-03-01",
        "--received-at",
        "2026-03-03T09:00",
        "--group-size",
        "6",
        "--media",
        "--vulnerable",
        "--json",
        "--no-prompt",
    )
    assert result.exit_code == 0, result.output
    number = as_json(result)["number"]
    shown = as_json(tousu("show", number, "--json", user="supervisor"))
    c = shown["complaint"]
    assert (c["regulator_ref"], c["group_size"], c["media_involved"], c["vulnerable"]) == (
        "12378-2026-000123",
        6,
        True,
        True,
    )
    assert c["regulator_forwarded_on"].startswith("2026-03-01")
    assert shown["institution"] == "北京分公司营业部"
    assert set(shown["parties"]) == {"complainant", "agent"}
    assert shown["parties"]["complainant"]["legal_rep"] == "钱*"


BAD = [
    (["--phone", "1380013800"], "--phone", "手机号"),
    (["--phone", "12800138000"], "--phone", "手机号"),
    (["--phone", "62345678"], "--phone", "固定电话"),
    (["--id-number", "110105194912310021"], "--id-number", "校验位"),
    (["--id-number", "11010519491331002X"], "--id-number", "出生日期"),
    (["--id-number", "1101051949"], "--id-number", "18 位"),
    (["--category", "weather"], "--category", "不在可选范围内"),
    (["--product", "pets"], "--product", "不在可选范围内"),
    (["--channel", "pigeon"], "--channel", "不在可选范围内"),
    (["--branch", "mars"], "--branch", "不在可选范围内"),
    (["--amount", "abc"], "--amount", "金额"),
    (["--amount", "-5"], "--amount", "负数"),
    (["--at", "2026-02-30"], "--received-at", "有效时间"),
    (["--at", "yesterday"], "--received-at", "有效时间"),
    (["--group-size", "0"], "--group-size", "人数"),
    (["--claim", " "], "--claim", "不能为空"),
]


@pytest.mark.parametrize(("extra", "flag", "reason"), BAD, ids=[b[1] + ":" + b[0][1] for b in BAD])
def test_a_bad_field_is_named_with_its_reason_and_nothing_is_written(
    tousu: Tousu, ctx: Context, extra: list[str], flag: str, reason: str
) -> None:
    args = list(REGISTER)
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i : i + 2]
    result = tousu(*args)
    assert result.exit_code == 2, result.output
    assert flag in result.stderr and reason in result.stderr
    assert _count(ctx) == 0


@pytest.mark.clock
def test_a_registration_in_the_future_is_refused(tousu: Tousu, ctx: Context, now: datetime) -> None:
    def local(delta: timedelta) -> str:  # --at is Beijing time
        return (now + delta).astimezone(ctx.tz).strftime("%Y-%m-%dT%H:%M")

    result = tousu(*REGISTER, "--at", local(timedelta(minutes=20)))
    assert result.exit_code == 2 and "--received-at" in result.stderr
    assert _count(ctx) == 0
    assert tousu(*REGISTER, "--at", local(-timedelta(minutes=20))).exit_code == 0
    assert _count(ctx) == 1


def test_an_organisation_needs_a_valid_credit_code(tousu: Tousu, ctx: Context) -> None:
    base = [
        "register",
        "--kind",
        "organisation",
        "--name",
        "某公司",
        "--legal-rep",
        "钱七",
        "--address",
        "北京",
        "--phone",
        "010-62345678",
        "--claim",
        "c",
        "--facts",
        "f",
        "--channel",
        "letter",
        "--no-prompt",
    ]
    bad = _credit_code()[:-1] + ("0" if _credit_code()[-1] != "0" else "1")
    for code, reason in ((bad, "校验位"), ("91110108MA01ABCDI", "18 位")):
        result = tousu(*base, "--credit-code", code)
        assert result.exit_code == 2 and "--credit-code" in result.stderr
        assert reason in result.stderr
    missing = tousu(*base)
    assert missing.exit_code == 2 and "--credit-code" in missing.stderr
    assert _count(ctx) == 0


def test_regulator_forwarded_complaints_need_the_reference_and_consistent_dates(
    tousu: Tousu,
) -> None:
    args = [a if a != "hotline" else "regulator" for a in REGISTER]
    assert "--regulator-ref" in tousu(*args).stderr
    late = tousu(
        *args,
        "--regulator-ref",
        "12378-1",
        "--at",
        "2026-03-02T09:00",
        "--forwarded-on",
        "2026-03-05",
    )
    assert late.exit_code == 2 and "--regulator-forwarded-on" in late.stderr
    bad = tousu(*args, "--regulator-ref", "12378-1", "--forwarded-on", "2026-03-32")
    assert bad.exit_code == 2 and "--forwarded-on" in bad.stderr


def test_an_agent_without_power_of_attorney_is_refused(tousu: Tousu) -> None:
    result = tousu(*REGISTER, "--capacity", "agent", "--agent-name", "孙律师")
    assert result.exit_code == 2 and "--power-of-attorney" in result.stderr


def test_missing_fields_are_asked_for_when_prompting(tousu: Tousu) -> None:
    result = tousu(
        "register",
        "--prompt",
        "--json",
        input="钱八\n13700137000\n要求退保\n销售时未说明犹豫期\nhotline\n",
    )
    assert result.exit_code == 0, result.output
    assert as_json(result)["state"] == "registered"


def test_missing_fields_without_a_terminal_are_named(tousu: Tousu) -> None:
    result = tousu("register", "--name", "钱八", "--phone", "13700137000", "--no-prompt")
    assert result.exit_code == 2 and "--claim" in result.stderr
