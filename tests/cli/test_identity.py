"""The CLI acts as a proven user (cli/common.py resolve_user, services/identity.py cli_user):
the tousu user linked to the OS account running it, or a personal token; --user names someone
else only for a proven administrator. Strict mode here ([cli] single_user = false); the other
CLI tests run as the single-user local setup their configuration declares."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from services import identity
from services.access import refusals
from services.context import Context
from tests.cli.conftest import Tousu, as_json

STRICT = {"TOUSU__CLI__SINGLE_USER": "false"}
ME = identity.current_os_account()  # the account running these tests, as the CLI sees it


def _strict(tousu: Tousu, *args: str, user: str | None = None, **env: str) -> object:
    return tousu(*args, user=user, env={**STRICT, **env})


def _link(ctx: Context, username: str, account: str = ME) -> None:
    identity.link_os_account(ctx, username, account, actor="admin")


def test_the_linked_os_account_acts_as_its_user(tousu: Tousu, ctx: Context) -> None:
    _link(ctx, "liaison")
    r = _strict(tousu, "users", "token", "create", "--name", "脚本", "--json")
    assert r.exit_code == 0, r.output
    assert as_json(r)["token"]["username"] == "liaison"


def test_an_unlinked_os_account_is_refused_with_exit_3_and_audited(
    tousu: Tousu, ctx: Context
) -> None:
    r = _strict(tousu, "queue")
    assert r.exit_code == 3
    assert f"操作系统账户 {ME} 未关联" in r.stderr and "tousu users link" in r.stderr
    assert f"操作系统账户 {ME} 未关联" in refusals(ctx, limit=1)[0]["reason"]
    assert refusals(ctx, limit=1)[0]["command"] == "queue"


def test_the_environment_s_user_name_proves_nothing(tousu: Tousu, ctx: Context) -> None:
    _link(ctx, "liaison", account="someone-else")
    r = _strict(tousu, "queue", USER="someone-else", LOGNAME="someone-else")
    assert r.exit_code == 3


def test_a_personal_token_acts_and_a_revoked_one_is_refused(tousu: Tousu, ctx: Context) -> None:
    made, raw = identity.create_token(ctx, username="investigator", name="终端", actor="admin")
    r = _strict(tousu, "users", "token", "list", "--json", TOUSU_TOKEN=raw)
    assert r.exit_code == 0, r.output
    assert [t["username"] for t in as_json(r)["tokens"]] == ["investigator"]
    identity.revoke_token(ctx, made["id"], actor="admin")
    refused = _strict(tousu, "users", "token", "list", TOUSU_TOKEN=raw)
    assert refused.exit_code == 3 and "已撤销" in refused.stderr
    assert "TOUSU_TOKEN" in refusals(ctx, limit=1)[0]["reason"]


def test_a_token_wins_over_the_os_account_link(tousu: Tousu, ctx: Context) -> None:
    _link(ctx, "admin")
    _, raw = identity.create_token(ctx, username="clerk", name="终端", actor="clerk")
    r = _strict(tousu, "users", "list", TOUSU_TOKEN=raw)
    assert r.exit_code == 3  # the clerk, not the linked administrator


def test_a_readonly_token_is_refused_on_the_command_line(tousu: Tousu, ctx: Context) -> None:
    _, raw = identity.create_token(
        ctx, username="supervisor", name="看板", actor="supervisor", scope="readonly"
    )
    r = _strict(tousu, "queue", TOUSU_TOKEN=raw)
    assert r.exit_code == 3 and "只读" in r.stderr


def test_user_as_someone_else_is_refused_for_a_non_administrator(
    tousu: Tousu, ctx: Context
) -> None:
    _link(ctx, "liaison")
    r = _strict(tousu, "users", "token", "create", "--name", "x", user="supervisor")
    assert r.exit_code == 3 and "不是系统管理员" in r.stderr
    assert identity.list_tokens(ctx, actor="admin") == []
    assert "--user supervisor" in refusals(ctx, limit=1)[0]["reason"]
    env_too = _strict(tousu, "queue", TOUSU_USER="supervisor")
    assert env_too.exit_code == 3
    own = _strict(tousu, "queue", user="liaison")  # naming oneself is fine
    assert own.exit_code == 0, own.output


def test_user_as_someone_else_is_allowed_for_a_proven_administrator(
    tousu: Tousu, ctx: Context
) -> None:
    _link(ctx, "admin")
    r = _strict(tousu, "users", "token", "create", "--name", "替人创建", "--json", user="liaison")
    assert r.exit_code == 0, r.output
    assert as_json(r)["token"]["username"] == "liaison"
    _, raw = identity.create_token(ctx, username="admin", name="管理", actor="admin")
    identity.unlink_os_account(ctx, ME, actor="admin")
    by_token = _strict(tousu, "users", "token", "list", "--json", user="liaison", TOUSU_TOKEN=raw)
    assert [t["name"] for t in as_json(by_token)["tokens"]] == ["替人创建"]


def test_a_disabled_linked_user_is_refused(tousu: Tousu, ctx: Context) -> None:
    _link(ctx, "liaison")
    identity.set_active(ctx, "liaison", False, actor="admin")
    r = _strict(tousu, "queue")
    assert r.exit_code == 3 and "已停用" in r.stderr


def test_bootstrap_links_the_first_administrator_to_the_os_account(
    tousu: Tousu, tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, db)
    env = {**STRICT, "TOUSU_DATABASE_URL": f"sqlite:///{db}"}
    first = tousu("users", "add", "boss", "--name", "管理员", "--role", "admin", user=None, env=env)
    assert first.exit_code == 0, first.output
    assert f"已将操作系统账户 {ME} 关联到 boss" in first.stdout
    second = tousu("users", "add", "x3", "--name", "某", "--role", "liaison", user=None, env=env)
    assert second.exit_code == 0, second.output  # the linked administrator acts
    as_x3 = tousu("users", "list", user="x3", env=env)
    assert as_x3.exit_code == 3  # the administrator acting as x3: a liaison lists no users


# ---- The commands ---------------------------------------------------------------------------


def test_an_administrator_sets_a_password_and_the_user_changes_it(
    tousu: Tousu, ctx: Context
) -> None:
    r = tousu("users", "passwd", "clerk", user="admin", input="first-pass-123\nfirst-pass-123\n")
    assert r.exit_code == 0, r.output
    assert "first-pass-123" not in r.output  # the prompt does not echo
    user, _ = identity.login(ctx, "clerk", "first-pass-123", client="t")
    assert user["username"] == "clerk"
    mismatch = tousu("users", "passwd", user="clerk", input="first-pass-123\nnew-pass-4567\nx\n")
    assert mismatch.exit_code == 2 and "不一致" in mismatch.stderr
    wrong = tousu(
        "users", "passwd", user="clerk", input="not-it-00000\nnew-pass-4567\nnew-pass-4567\n"
    )
    assert wrong.exit_code == 3
    own = tousu(
        "users", "passwd", user="clerk", input="first-pass-123\nnew-pass-4567\nnew-pass-4567\n"
    )
    assert own.exit_code == 0, own.output
    identity.login(ctx, "clerk", "new-pass-4567", client="t")
    actions = [e["action"] for e in identity.events(ctx, username="clerk")]
    assert {"password_set", "password_change", "login"} <= set(actions)


def test_a_non_administrator_cannot_set_someone_else_s_password(tousu: Tousu) -> None:
    r = tousu("users", "passwd", "clerk", user="supervisor", input="xx-pass-12345\n" * 2)
    assert r.exit_code == 3


def test_a_too_short_password_is_refused_and_changes_nothing(tousu: Tousu, ctx: Context) -> None:
    r = tousu("users", "passwd", "clerk", user="admin", input="short\nshort\n")
    assert r.exit_code == 2 and "至少" in r.stderr
    assert not identity.has_password(ctx, "clerk")


def test_tokens_are_created_listed_and_revoked_from_the_cli(tousu: Tousu, ctx: Context) -> None:
    made = tousu("users", "token", "create", "--name", "我的脚本", user="liaison")
    assert made.exit_code == 0, made.output
    raw = next(w for w in made.stdout.replace(":", " ").split() if w.startswith("tsk_"))
    assert identity.token_user(ctx, raw)["username"] == "liaison"
    listed = tousu("users", "token", "list", user="liaison")
    assert "我的脚本" in listed.stdout and raw not in listed.stdout
    token_id = as_json(tousu("users", "token", "list", "--json", user="liaison"))["tokens"][0]["id"]
    other = tousu("users", "token", "revoke", str(token_id), user="clerk")
    assert other.exit_code == 3
    done = tousu("users", "token", "revoke", str(token_id), user="liaison")
    assert done.exit_code == 0 and identity.token_user(ctx, raw) is None
    again = tousu("users", "token", "revoke", str(token_id), user="liaison")
    assert again.exit_code == 5
    wider = tousu("users", "token", "create", "--name", "x", "--scope", "admin", user="liaison")
    assert wider.exit_code == 3


def test_linking_is_for_administrators_and_one_os_account_names_one_user(
    tousu: Tousu, ctx: Context
) -> None:
    assert tousu("users", "link", "liaison", "--os-account", "lidj", user="clerk").exit_code == 3
    ok = tousu("users", "link", "liaison", "--os-account", "lidj", user="admin")
    assert ok.exit_code == 0 and identity.linked_user(ctx, "lidj") == "liaison"
    taken = tousu("users", "link", "clerk", "--os-account", "lidj", user="admin")
    assert taken.exit_code == 5 and "已关联用户 liaison" in taken.stderr
    listed = as_json(tousu("users", "links", "--json", user="admin"))["links"]
    assert [(x["os_account"], x["username"]) for x in listed] == [("lidj", "liaison")]
    assert tousu("users", "unlink", "lidj", user="admin").exit_code == 0
    assert identity.linked_user(ctx, "lidj") is None
    assert tousu("users", "unlink", "lidj", user="admin").exit_code == 4
    actions = [e["action"] for e in identity.events(ctx, username="liaison")]
    assert actions[:2] == ["unlink", "link"]


def test_disabling_from_the_cli_is_an_identity_event_and_ends_web_sessions(
    tousu: Tousu, ctx: Context
) -> None:
    identity.reset_password(ctx, "clerk", "first-pass-123", actor="admin", must_change=False)
    _, session = identity.login(ctx, "clerk", "first-pass-123", client="t")
    assert tousu("users", "disable", "clerk", user="admin").exit_code == 0
    assert identity.session_user(ctx, session) is None
    assert identity.events(ctx, username="clerk")[0]["action"] == "disable"
    with ctx.engine.connect() as conn:
        ended = conn.execute(select(identity.SESSION.c.ended_reason)).scalar()
    assert ended == "disabled"


@pytest.mark.parametrize("single", ["true", "false"])
def test_the_system_actor_is_never_a_cli_user(tousu: Tousu, ctx: Context, single: str) -> None:
    _link(ctx, "admin")
    r = tousu("queue", user="system", env={"TOUSU__CLI__SINGLE_USER": single})
    assert r.exit_code == 3


def test_whoami_says_who_acts_and_how_it_was_proven(tousu: Tousu, ctx: Context) -> None:
    _link(ctx, "admin")
    linked = as_json(_strict(tousu, "users", "whoami", "--json"))
    assert linked["user"]["username"] == "admin" and ME in linked["proven_by"]
    as_other = as_json(_strict(tousu, "users", "whoami", "--json", user="liaison"))
    assert as_other["user"]["username"] == "liaison"
    _, raw = identity.create_token(ctx, username="clerk", name="t", actor="clerk")
    by_token = _strict(tousu, "users", "whoami", TOUSU_TOKEN=raw)
    assert "clerk" in by_token.stdout and "令牌" in by_token.stdout
