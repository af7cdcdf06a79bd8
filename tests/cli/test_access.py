"""Access (issue 14, "Access"): every refusal audited, scope by branch and team, the last
administrator and the bootstrap, and the system actor out of a person's reach."""

from __future__ import annotations

from services import access, users
from services.context import Context
from services.lifecycle import actions as a
from tests.cli.conftest import Tousu
from tests.factories import accepted, cst


def _refusals(ctx: Context) -> list[dict[str, object]]:
    return access.refusals(ctx)


def test_every_refusal_is_audited_with_who_what_and_when(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 6, 1, 9))
    users.set_active(ctx, "committee", False)
    assert tousu("show", number, user="ghost").exit_code == 3  # unknown
    assert tousu("show", number, user="committee").exit_code == 3  # disabled
    # A role outside its rights (an intake clerk may not decide).
    r = tousu("decide", number, "--facts", "f", "--basis", "b", "--reasons", "r", user="clerk")
    assert r.exit_code == 3
    got = list(reversed(_refusals(ctx)))
    assert [(g["username"], g["command"]) for g in got] == [
        ("ghost", f"show {number}"),
        ("committee", f"show {number}"),
        ("clerk", f"decide {number}"),
    ]
    assert got[0]["role"] is None and got[1]["role"] == "committee"
    assert got[2]["role"] == "intake_clerk" and "受理员" in str(got[2]["reason"])
    assert all(g["at"] is not None for g in got)


def test_the_system_actor_cannot_be_chosen_on_the_command_line(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 6, 1, 9))
    r = tousu("escalate", number, "--level", "2", "--reason", "伪造", user="system")
    assert r.exit_code == 3 and "系统自动处理" in r.stderr
    r = tousu("show", number, user="system", env={"TOUSU_USER": "system"})
    assert r.exit_code == 3
    added = tousu("users", "add", "robot", "--name", "机器", "--role", "system", user="admin")
    assert added.exit_code == 2 and "--role" in added.stderr
    assert [e["action"] for e in _events(ctx, number)] == ["register", "accept"]


def _events(ctx: Context, number: str) -> list[dict[str, object]]:
    from services.lifecycle import queries

    return list(queries.get_complaint(ctx, number)["events"])


def test_the_last_administrator_cannot_be_disabled_and_bootstrap_needs_an_empty_user_table(
    tousu: Tousu, ctx: Context
) -> None:
    r = tousu("users", "disable", "admin", user="admin")
    assert r.exit_code == 3 and "最后一位" in r.stderr
    assert users.get_user(ctx, "admin")["active"] is True
    # With a second administrator the first may go; the second is then the last.
    assert (
        tousu("users", "add", "adm2", "--name", "钱管理", "--role", "admin", user="admin").exit_code
        == 0
    )
    assert tousu("users", "disable", "admin", user="adm2").exit_code == 0
    assert tousu("users", "disable", "adm2", user="adm2").exit_code == 3
    # No active administrator is no bootstrap while people exist (users were added before).
    ctx_users = {u["username"] for u in users.list_users(ctx)}
    with ctx.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("update user set active = false where role = 'admin'"))
    r = tousu("users", "add", "mallory", "--name", "某", "--role", "admin", user=None)
    assert r.exit_code in (2, 3)
    assert {u["username"] for u in users.list_users(ctx)} == ctx_users


def test_a_liaison_acts_only_on_cases_of_the_own_branch_or_assigned(
    tousu: Tousu, ctx: Context
) -> None:
    users.add_user(
        ctx, "sh.duijie", name="沈对接", role="liaison", team="上海组", branch="shanghai"
    )
    users.add_user(ctx, "bj.duijie", name="白对接", role="liaison", team="北京组", branch="beijing")
    users.add_user(ctx, "sh.zhuguan", name="上海主管", role="supervisor", branch="shanghai")
    beijing = accepted(ctx, cst(2026, 6, 1, 9), branch="beijing")  # owned by `liaison`
    refused = tousu("investigate", beijing, user="sh.duijie")
    assert refused.exit_code == 3 and "办理范围" in refused.stderr
    assert tousu("show", beijing, "--reveal", user="sh.duijie").exit_code == 3
    assert tousu("show", beijing, "--reveal", user="sh.zhuguan").exit_code == 3
    assert [e["action"] for e in _events(ctx, beijing)] == ["register", "accept"]
    # Of the case's own branch, or the owner, or the head office: allowed.
    assert tousu("investigate", beijing, user="bj.duijie").exit_code == 0
    a.assign(ctx, beijing, actor="supervisor", owner="sh.duijie", reason="休假交接")
    assert tousu("show", beijing, "--reveal", user="sh.duijie").exit_code == 0
    assert tousu("show", beijing, "--reveal", user="supervisor").exit_code == 0
    assert sum(r["command"] == f"show {beijing}" for r in _refusals(ctx)) == 2
