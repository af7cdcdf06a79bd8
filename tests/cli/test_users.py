from __future__ import annotations

from services.context import Context
from tests.cli.conftest import Tousu, as_json
from tests.factories import cst, registered


def test_an_administrator_adds_lists_and_disables_users(tousu: Tousu, ctx: Context) -> None:
    added = tousu(
        "users",
        "add",
        "qian.duijie",
        "--name",
        "钱对接",
        "--role",
        "liaison",
        "--team",
        "北京消保组",
        "--branch",
        "beijing",
        "--json",
        user="admin",
    )
    assert added.exit_code == 0, added.output
    listed = as_json(tousu("users", "list", "--json", user="admin"))["users"]
    assert {"username": "qian.duijie", "role": "liaison", "active": True}.items() <= next(
        u for u in listed if u["username"] == "qian.duijie"
    ).items()
    assert tousu("users", "disable", "qian.duijie", user="admin").exit_code == 0
    number = registered(ctx, cst(2026, 3, 2, 9))
    refused = tousu("show", number, user="qian.duijie")
    assert refused.exit_code == 3 and "已停用" in refused.stderr
    assert tousu("users", "enable", "qian.duijie", user="admin").exit_code == 0
    assert tousu("show", number, user="qian.duijie").exit_code == 0


def test_only_administrators_manage_users(tousu: Tousu) -> None:
    for user in ("supervisor", "clerk"):
        result = tousu("users", "add", "x1", "--name", "某", "--role", "liaison", user=user)
        assert result.exit_code == 3 and "系统管理员" in result.stderr
    assert tousu("users", "disable", "clerk", user="liaison").exit_code == 3


def test_the_user_list_is_for_administrators_and_supervisors(tousu: Tousu) -> None:
    assert tousu("users", "list", user="supervisor").exit_code == 0
    for user in ("clerk", "liaison", "committee"):
        refused = tousu("users", "list", user=user)
        assert refused.exit_code == 3 and "主管" in refused.stderr


def test_user_management_rejects_bad_roles_duplicates_and_unknown_users(tousu: Tousu) -> None:
    bad_role = tousu("users", "add", "x2", "--name", "某", "--role", "boss", user="admin")
    assert bad_role.exit_code == 2 and "--role" in bad_role.stderr
    dup = tousu("users", "add", "clerk", "--name", "某", "--role", "liaison", user="admin")
    assert dup.exit_code == 2 and "已存在" in dup.stderr
    assert tousu("users", "disable", "ghost", user="admin").exit_code == 4


def test_the_first_administrator_can_be_created_without_an_acting_user(
    tousu: Tousu, tmp_path: object
) -> None:
    fresh = f"sqlite:///{tmp_path}/fresh.db"
    env = {"TOUSU_DATABASE_URL": fresh}
    assert tousu("db", "upgrade", user=None, env=env).exit_code == 0
    heads = as_json(tousu("db", "current", "--json", user=None, env=env))["heads"]
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    assert heads == ScriptDirectory.from_config(alembic_config(fresh)).get_heads()
    from sqlalchemy import create_engine, text

    with create_engine(fresh).connect() as conn:  # the clock-driven actor comes with the schema
        assert (
            conn.execute(text("select role from user where username = 'system'")).scalar()
            == "system"
        )
    first = tousu("users", "add", "root", "--name", "管理员", "--role", "admin", user=None, env=env)
    assert first.exit_code == 0, first.output
    second = tousu("users", "add", "x3", "--name", "某", "--role", "liaison", user=None, env=env)
    assert second.exit_code == 2  # an administrator exists now: who is acting must be said
