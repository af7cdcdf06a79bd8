from __future__ import annotations

from datetime import timedelta

import pytest

from cli.main import app
from services.context import Context
from services.lifecycle import actions as a
from states import lifecycle as lc
from tests.cli.conftest import REGISTER, Tousu, as_json
from tests.conftest import ROLE_USERS
from tests.factories import accepted, cst, notified, registered

CLOSE = [
    "--background",
    "退休教师",
    "--content",
    "理赔时效",
    "--process",
    "调查协商",
    "--rules",
    "保险法第二十三条",
    "--outcome",
    "补足赔款",
    "--root-cause",
    "时效监控缺失",
]


def test_a_handler_takes_one_complaint_from_registration_to_closure(tousu: Tousu) -> None:
    number = as_json(tousu(*REGISTER, "--at", "2026-03-02T09:00", "--json"))["number"]
    steps = [
        (
            [
                "accept",
                number,
                "--category",
                "理赔纠纷",
                "--product",
                "medical",
                "--owner",
                "liaison",
                "--at",
                "2026-03-02T10:00",
            ],
            "clerk",
            "accepted",
        ),
        (["investigate", number, "--at", "2026-03-02T11:00"], "investigator", "investigating"),
        (
            [
                "appraisal",
                "start",
                number,
                "--body",
                "某司法鉴定所",
                "--complainant-told",
                "电话告知",
                "--at",
                "2026-03-03T09:00",
            ],
            "liaison",
            "appraisal",
        ),
        (
            ["appraisal", "end", number, "--result", "伤残八级", "--at", "2026-03-06T09:00"],
            "liaison",
            "investigating",
        ),
        (
            ["negotiate", number, "--findings", "住院属实", "--at", "2026-03-06T10:00"],
            "liaison",
            "negotiating",
        ),
        (
            [
                "consult",
                number,
                "--reason",
                "金额争议",
                "--department",
                "理赔",
                "--at",
                "2026-03-06T11:00",
            ],
            "liaison",
            "consulting",
        ),
        (
            ["consult-end", number, "--resolution", "同意补付", "--at", "2026-03-06T15:00"],
            "coordinator",
            "negotiating",
        ),
        (
            [
                "extend",
                number,
                "--to",
                "30",
                "--reason",
                "需调取外院病历",
                "--at",
                "2026-03-07T09:00",
            ],
            "liaison",
            "negotiating",
        ),
        (
            ["escalate", number, "--reason", "涉及舆情", "--at", "2026-03-07T10:00"],
            "liaison",
            "negotiating",
        ),
        (
            [
                "decide",
                number,
                "--facts",
                "住院属实",
                "--basis",
                "保险合同第五条",
                "--reasons",
                "属于保险责任",
                "--institution",
                "beijing",
                "--at",
                "2026-03-08T09:00",
            ],
            "liaison",
            "decided",
        ),
        (
            [
                "notify",
                number,
                "--channel",
                "sms",
                "--proof",
                "短信回执 001",
                "--at",
                "2026-03-08T10:00",
            ],
            "liaison",
            "notified",
        ),
        (
            ["review", "request", number, "--request", "书面核查申请", "--at", "2026-03-10T09:00"],
            "clerk",
            "reviewing",
        ),
        (
            [
                "review",
                "conclude",
                number,
                "--conclusion",
                "维持原决定",
                "--at",
                "2026-03-12T09:00",
            ],
            "supervisor",
            "notified",
        ),
        (["close", number, *CLOSE, "--at", "2026-03-13T09:00"], "liaison", "closed"),
    ]
    for args, user, state in steps:
        result = tousu(*args, "--json", user=user)
        assert result.exit_code == 0, (args, result.output)
        assert as_json(result)["state"] == state, args
    shown = as_json(tousu("show", number, "--json", user="liaison"))
    assert [e["action"] for e in shown["events"]][-1] == "close"
    assert shown["complaint"]["extension_level"] == 1
    assert shown["complaint"]["escalation_level"] == 1
    assert all(d["status"] in ("met", "stopped") for d in shown["deadlines"])


def test_mediation_withdrawal_decline_merge_and_reopen_have_commands(
    tousu: Tousu, ctx: Context
) -> None:
    t0 = cst(2026, 3, 2, 9)
    one = accepted(ctx, t0)
    a.investigate(ctx, one, actor="liaison", at=t0 + timedelta(hours=3))
    ok = [
        (
            [
                "mediate",
                one,
                "--channel",
                "industry",
                "--organisation",
                "北京保险行业协会调解委员会",
            ],
            "liaison",
            "mediating",
        ),
        (["mediate-end", one, "--result", "未达成一致"], "liaison", "negotiating"),
        (
            ["mediate", one, "--channel", "people", "--organisation", "人民调解委员会"],
            "liaison",
            "mediating",
        ),
        (["settle", one, "--agreement", "调解书 001", *CLOSE], "liaison", "closed"),
        (["reopen", one, "--reason", "回访不满意"], "supervisor", "reopened"),
        (["new-facts", one, "--summary", "补充出院小结"], "liaison", "reopened"),
        (["assign", one, "--owner", "liaison2", "--reason", "休假交接"], "supervisor", "reopened"),
        (["withdraw", one, "--reason", "电话撤诉"], "clerk", "withdrawn"),
    ]
    for args, user, state in ok:
        result = tousu(*args, "--json", user=user)
        assert result.exit_code == 0, (args, result.output)
        assert as_json(result)["state"] == state
    from services.lifecycle.registration import Person

    two, three = (
        registered(ctx, t0, complainant=Person(name=n, phone=p), policy_no=None)
        for n, p in (("钱八", "13700137000"), ("孙九", "13600136000"))
    )
    declined = tousu("decline", two, "--explanation", "投诉人与保单无关", "--json", user="liaison")
    assert as_json(declined)["state"] == "declined"
    target = accepted(ctx, t0)
    merged = tousu("merge", three, "--into", target, "--new-facts", "--json", user="clerk")
    assert as_json(merged)["state"] == "merged"


def test_every_command_has_help_with_an_example(tousu: Tousu) -> None:
    import click
    import typer.main

    group = typer.main.get_command(app)
    ctx = click.Context(group)
    paths: list[list[str]] = []
    for name in group.list_commands(ctx):  # type: ignore[attr-defined]
        cmd = group.get_command(ctx, name)  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        paths += [[name, sub] for sub in subs] if subs else [[name]]
    assert len(paths) > 25
    for path in paths:
        result = tousu(*path, "--help", user=None)
        assert result.exit_code == 0, path
        assert "示例" in result.output, path


# ---- The role matrix: exit 0 for the roles the lifecycle table names, 3 for the others ---

MATRIX = {
    "accept": (
        "registered",
        ["--category", "claims", "--product", "medical", "--owner", "liaison"],
    ),
    "investigate": ("accepted", []),
    "decide": ("investigating", ["--facts", "f", "--basis", "b", "--reasons", "r"]),
    "close": ("notified", CLOSE),
    "reopen": ("notified", ["--reason", "回访不满意"]),
    "escalate": ("accepted", ["--reason", "舆情"]),
}


def _case_at(ctx: Context, state: str) -> str:
    t0 = cst(2026, 3, 2, 9)
    if state == "registered":
        return registered(ctx, t0)
    if state == "notified":
        return notified(ctx, t0)
    number = accepted(ctx, t0)
    if state == "investigating":
        a.investigate(ctx, number, actor="liaison", at=t0 + timedelta(hours=3))
    return number


@pytest.mark.parametrize("trigger", list(MATRIX))
@pytest.mark.parametrize("username", list(ROLE_USERS))
def test_each_role_may_take_only_the_actions_the_lifecycle_table_gives_it(
    tousu: Tousu, ctx: Context, trigger: str, username: str
) -> None:
    state, args = MATRIX[trigger]
    number = _case_at(ctx, state)
    result = tousu(trigger, number, *args, user=username)
    allowed = lc.Role(ROLE_USERS[username][0]) in lc.ACTIONS_BY_TRIGGER[trigger].roles
    assert result.exit_code == (0 if allowed else 3), result.output
    if not allowed:
        assert "无权" in result.stderr


def test_an_action_in_the_wrong_state_is_forbidden_and_names_what_is_possible(
    tousu: Tousu, ctx: Context
) -> None:
    number = registered(ctx, cst(2026, 3, 2, 9))
    result = tousu("close", number, *CLOSE, user="liaison")
    assert result.exit_code == 3
    assert "不能执行" in result.stderr and "accept" in result.stderr


def test_identity_comes_from_flag_environment_or_configuration(tousu: Tousu, ctx: Context) -> None:
    number = registered(ctx, cst(2026, 3, 2, 9))
    assert tousu("show", number, user=None).exit_code == 2  # nobody named
    assert tousu("show", number, user=None, env={"TOUSU_USER": "liaison"}).exit_code == 0
    configured = tousu(
        "show", number, "--json", user=None, env={"TOUSU__GENERAL__DEFAULT_USER": "investigator"}
    )
    assert configured.exit_code == 0
    unknown = tousu("show", number, user="mallory")
    assert unknown.exit_code == 3 and "未知用户 mallory" in unknown.stderr


def test_exit_codes_distinguish_bad_input_forbidden_not_found_and_conflict(
    tousu: Tousu, ctx: Context
) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    assert tousu("investigate", "TS000", user="liaison").exit_code == 4
    assert tousu("investigate", number, "--at", "2026-03-0", user="liaison").exit_code == 2
    assert tousu("investigate", number, "--at", "2099-01-01", user="liaison").exit_code == 2
    assert tousu("investigate", number, "--at", "2026-03-01", user="liaison").exit_code == 2
    assert (
        tousu(
            "decide", number, "--facts", "f", "--basis", "b", "--reasons", "r", user="liaison"
        ).exit_code
        == 3
    )
    stale = tousu("investigate", number, "--expect-version", "1", user="liaison")
    assert stale.exit_code == 5 and "已被他人修改" in stale.stderr
    assert tousu("investigate", user="liaison").exit_code == 2  # Click usage error
    assert (
        tousu(
            "accept",
            number,
            "--category",
            "weather",
            "--product",
            "medical",
            "--owner",
            "liaison",
            user="clerk",
        ).exit_code
        == 3
    )  # state first: accepted


def test_at_without_offset_is_shanghai_time(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    tousu("investigate", number, "--at", "2026-03-02 15:30", user="liaison")
    events = as_json(tousu("show", number, "--json", user="liaison"))["events"]
    assert events[-1]["at"] == "2026-03-02T15:30:00+08:00"


def test_errors_in_json_mode_are_one_object(tousu: Tousu, ctx: Context) -> None:
    result = tousu("show", "TS000", "--json", user="liaison")
    assert result.exit_code == 4
    assert as_json(result) == {
        "ok": False,
        "error": {"code": 4, "kind": "not_found", "message": "投诉 TS000 不存在"},
    }


def test_an_unusable_configuration_or_database_is_exit_6_without_traceback(
    tousu: Tousu, tmp_path: object
) -> None:
    missing = tousu("queue", user="liaison", env={"TOUSU_CONFIG": "/nonexistent/tousu.toml"})
    assert missing.exit_code == 6 and "配置文件不存在" in missing.stderr
    empty = tousu(
        "queue", user="liaison", env={"TOUSU_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"}
    )
    assert empty.exit_code == 6 and "tousu db upgrade" in empty.stderr
