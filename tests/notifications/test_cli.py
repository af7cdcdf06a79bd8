"""`tousu notifications ...` as a user runs it, against real servers."""

from __future__ import annotations

from pathlib import Path

from services.context import Context
from tests.cli.conftest import as_json
from tests.notifications.conftest import SMTP, WeCom, alert


def _routing(tmp_path: Path, smtp: SMTP) -> dict[str, str]:
    path = tmp_path / "apprise.yaml"
    path.write_text(
        f"""version: 1
urls:
  - wecombot://${{ROBOT_KEY}}:
      - tag: 1:role-team_lead
  - {smtp.url()}:
      - tag: 2:role-team_lead, supervisors
  - json://127.0.0.1:9/closed:
      - tag: role-team_lead
""",
        encoding="utf-8",
    )
    return {"TOUSU_APPRISE_FILE": str(path), "ROBOT_KEY": "cli-robot-key-77"}


def test_notify_test_reports_each_channel_of_a_tag(
    tousu, tmp_path: Path, smtp: SMTP, wecom: WeCom
) -> None:  # type: ignore[no-untyped-def]
    env = _routing(tmp_path, smtp)
    r = tousu("notifications", "test", "role:team_lead", user="admin", env=env)
    assert r.exit_code == 1  # the closed json:// port fails
    lines = r.output.strip().splitlines()
    assert len(lines) == 3
    assert sum("成功" in line for line in lines) == 2 and sum("失败" in line for line in lines) == 1
    assert "cli-robot-key-77" not in r.output
    assert len(wecom.posts) == 1 and len(smtp.messages) == 1
    assert "测试消息" in wecom.posts[0]["markdown"]["content"]


def test_dispatch_and_status_from_the_command_line(
    tousu,
    ctx: Context,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    smtp: SMTP,
    wecom: WeCom,
) -> None:
    env = _routing(tmp_path, smtp)
    alert(ctx, "c1:cli", audience="supervisors")
    r = tousu(
        "notifications", "dispatch", "--at", "2026-11-23T10:00", "--json", user="admin", env=env
    )
    assert r.exit_code == 0, r.output
    assert as_json(r)["sent"] == 1 and len(smtp.messages) == 1
    st = tousu("notifications", "status", "--json", user="admin", env=env)
    assert st.exit_code == 0 and as_json(st)["alerts"] == {"sent": 1}
    assert tousu("notifications", "status", user="liaison", env=env).exit_code == 3


def test_a_missing_secret_is_a_configuration_error_naming_it_while_the_rest_still_works(
    tousu, ctx: Context, tmp_path: Path, smtp: SMTP
) -> None:  # type: ignore[no-untyped-def]
    env = _routing(tmp_path, smtp)
    env.pop("ROBOT_KEY")
    r = tousu("notifications", "test", "role:team_lead", user="admin", env=env)
    assert r.exit_code == 6 and "ROBOT_KEY" in r.output
    assert len(smtp.messages) == 1  # the team leads' email channel was still tested
    alert(ctx, "c1:missing-secret", audience="supervisors")
    r = tousu("notifications", "dispatch", "--at", "2026-11-23T10:00", user="admin", env=env)
    # The supervisors' alert and the administrators' alert naming the missing secret.
    assert r.exit_code == 6 and "ROBOT_KEY" in r.output and "成功 2 条" in r.output
    assert len(smtp.messages) == 3


def test_notify_with_an_outbox_command_is_the_outbox_and_with_a_number_the_lifecycle_action(
    tousu,
    ctx: Context,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    smtp: SMTP,
    wecom: WeCom,
) -> None:
    env = _routing(tmp_path, smtp)
    alert(ctx, "c1:notify-alias", audience="supervisors")
    r = tousu("notify", "dispatch", "--at", "2026-11-23T10:00", "--json", user="admin", env=env)
    assert r.exit_code == 0, r.output
    assert as_json(r)["sent"] == 1 and len(smtp.messages) == 1
    assert as_json(tousu("notify", "status", "--json", user="admin", env=env))["alerts"] == {
        "sent": 1
    }
    # A complaint number still means 告知处理决定: refused here because none is decided.
    r = tousu("notify", "TS000", "--channel", "sms", "--proof", "回执", user="liaison")
    assert r.exit_code == 4 and "TS000" in r.output


def test_status_in_words_shows_a_failing_channel_in_its_table(
    tousu, ctx: Context, tmp_path: Path, smtp: SMTP
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "apprise.yaml"
    path.write_text(
        """version: 1
urls:
  - json://127.0.0.1:9/closed:
      - tag: supervisors
""",
        encoding="utf-8",
    )
    env = {"TOUSU_APPRISE_FILE": str(path)}
    alert(ctx, "c1:status-words", audience="supervisors")
    tousu("notifications", "dispatch", "--at", "2026-11-23T10:00", user="admin", env=env)
    r = tousu("notifications", "status", user="admin", env=env)
    assert r.exit_code == 1, r.output  # a failing channel is reported, not a crash
    assert "连续失败" in r.output and "json://" in r.output and "提醒: " in r.output


def test_users_contact_sets_whom_robots_mention_and_shows_the_mobile_masked(
    tousu, ctx: Context
) -> None:  # type: ignore[no-untyped-def]
    r = tousu("users", "contact", "supervisor", "--mobile", "13912345678", user="admin")
    assert r.exit_code == 0, r.output
    assert "139****5678" in r.output and "13912345678" not in r.output
    r = tousu("users", "contact", "supervisor", "--wecom-id", "WangZhuGuan", "--json", user="admin")
    assert as_json(r)["user"]["wecom_userid"] == "WangZhuGuan"
    listed = tousu("users", "list", "--json", user="admin")
    assert "13912345678" not in listed.output
    assert tousu("users", "contact", "supervisor", "--mobile", "12", user="admin").exit_code == 2
    assert tousu("users", "contact", "supervisor", "--mobile", "", user="liaison").exit_code == 3
