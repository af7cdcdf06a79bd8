"""`tousu message` on the command line: a send, a failing gateway shown in `tousu queue`,
dismissed; `tousu contact --notice acceptance`; bad input is exit 2 and changes nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from services.casefile import messages
from services.context import Context, open_context
from tests.casefile.test_messages import Gateway, _deadline
from tests.conftest import TEST_KEY, make_config, seed_users
from tests.factories import accepted

pytestmark = pytest.mark.clock

Run = Callable[..., Result]


@pytest.fixture
def gateway(httpserver) -> Gateway:  # type: ignore[no-untyped-def]
    return Gateway(httpserver)


@pytest.fixture
def setup(tmp_path: Path, sqlite_template: Path, gateway: Gateway) -> Iterator[tuple[Context, Run]]:
    db = tmp_path / "cli.db"
    shutil.copy(sqlite_template, db)
    routing = tmp_path / "apprise.yaml"
    routing.write_text(
        f"""version: 1
urls:
  - json://127.0.0.1:{gateway.server.port}/sms/send:
      - tag: complainant-sms
""",
        encoding="utf-8",
    )
    env = {
        "TOUSU__NOTIFICATIONS__APPRISE_FILE": str(routing),
        "TOUSU__DEADLINES__ACCEPTANCE_NOTICE__ENABLED": "true",
        "TOUSU__MESSAGES__FAILURES_SHOWN": "1",
        "TOUSU__MESSAGES__SEND_HOURS": "[]",
    }
    ctx = open_context(make_config(tmp_path, f"sqlite:///{db}", **env))
    seed_users(ctx)
    base = {
        "TOUSU_DATABASE_URL": f"sqlite:///{db}",
        "TOUSU_KEY": TEST_KEY,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_USER": "",
        "TOUSU_TOKEN": "",
        "TOUSU_CONFIG": "",
        # A single-user local setup: --user acts without proof (as tests/cli/conftest.py).
        "TOUSU__CLI__SINGLE_USER": "true",
        "COLUMNS": "200",
        **env,
    }
    runner = CliRunner()

    def run(*args: str, user: str = "liaison") -> Result:
        result = runner.invoke(app, [*args, "--user", user], env=base)
        assert "Traceback" not in result.output, result.output
        return result

    yield ctx, run
    ctx.close()


def test_a_message_sent_from_the_command_line(
    setup: tuple[Context, Run], gateway: Gateway, now: datetime
) -> None:
    ctx, run = setup
    number = accepted(ctx, now - timedelta(hours=3))
    r = run("message", number, "acceptance", "--channel", "sms")
    assert r.exit_code == 0, r.output
    assert "短信受理告知: 已发送" in r.output
    assert len(gateway.requests) == 1
    r = run("message", number, "--json")
    listed = json.loads(r.stdout)["messages"]
    assert [(m["kind"], m["status"]) for m in listed] == [("acceptance", "sent")]
    assert "13800138000" not in r.stdout
    # The send is a contact in the case's JSON and its timeline, without the number it went to.
    r = run("show", number, "--json")
    shown = json.loads(r.stdout)
    sent = [e for e in shown["events"] if e["action"] == "contact"]
    assert [e["details"]["outcome"] for e in sent] == ["sent"]
    assert sent[0]["details"]["channel"] == "sms"
    assert "13800138000" not in json.dumps(sent, ensure_ascii=False)
    r = run("show", number)
    assert "短信发送受理告知: 已发送" in r.output


def test_a_failing_send_shows_in_the_queue_until_dismissed(
    setup: tuple[Context, Run], gateway: Gateway, now: datetime
) -> None:
    ctx, run = setup
    number = accepted(ctx, now - timedelta(hours=3))
    gateway.down = True
    r = run("message", number, "acceptance")
    assert r.exit_code == 0, r.output
    assert "发送失败" in r.output and "自动重试" in r.output
    r = run("queue")
    line = next(x for x in r.output.splitlines() if number in x)
    assert "短信发送失败" in line
    r = run("queue", "--json")
    item = next(i for i in json.loads(r.stdout)["items"] if i["number"] == number)
    assert item["message_failures"] == ["短信发送失败"]
    r = run("message", number, "--dismiss")
    assert r.exit_code == 0 and "已撤销" in r.output
    r = run("queue")
    line = next(x for x in r.output.splitlines() if number in x)
    assert "发送失败" not in line
    assert messages.messages_of(ctx, number)[0]["status"] == "dismissed"


def test_a_contact_logged_as_the_acceptance_notice_meets_its_deadline(
    setup: tuple[Context, Run], now: datetime
) -> None:
    ctx, run = setup
    number = accepted(ctx, now - timedelta(hours=3))
    r = run(
        "contact",
        number,
        "--channel",
        "email",
        "--summary",
        "邮件告知受理",
        "--notice",
        "acceptance",
    )
    assert r.exit_code == 0, r.output
    assert _deadline(ctx, number, "acceptance_notice")["status"] == "met"


def test_bad_input_is_exit_2_and_sends_nothing(
    setup: tuple[Context, Run], gateway: Gateway, now: datetime
) -> None:
    ctx, run = setup
    number = accepted(ctx, now - timedelta(hours=3))
    assert run("message", number, "welcome").exit_code == 2
    assert run("message", number, "acceptance", "--channel", "fax").exit_code == 2
    assert run("message", number, "acceptance", "--channel", "email").exit_code == 2  # no address
    assert run("message", number, "--email", "nobody").exit_code == 2
    assert run("message", number, "--dismiss").exit_code == 5  # nothing to dismiss
    assert run("message", "TS000", "acceptance").exit_code == 4
    assert run("message", number, "acceptance", user="admin").exit_code == 3  # not a handler
    r = run("contact", number, "--channel", "sms", "--summary", "x", "--notice", "x")
    assert r.exit_code == 2
    assert gateway.requests == [] and messages.messages_of(ctx, number) == []
    assert _deadline(ctx, number, "acceptance_notice")["status"] == "running"
