from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.registration import Person
from states import lifecycle as lc
from storage import records
from tests.cli.conftest import Tousu, as_json
from tests.conftest import ROLE_USERS
from tests.factories import accepted, cst, registered


def _events(ctx: Context, number: str) -> list[dict[str, object]]:
    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        rows = (
            conn.execute(
                select(records.EVENT)
                .where(records.EVENT.c.complaint_id == case["id"])
                .order_by(records.EVENT.c.seq)
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


@pytest.mark.parametrize("username", [u for u in ROLE_USERS if u != "liaison2"])
def test_show_masks_personal_data_for_every_role_by_default(
    tousu: Tousu, ctx: Context, username: str
) -> None:
    number = registered(ctx, cst(2026, 3, 2, 9))
    result = tousu("show", number, user=username)
    assert result.exit_code == 0, result.output
    assert "138****8000" in result.stdout and "110105********002X" in result.stdout
    assert "13800138000" not in result.stdout and "赵六" not in result.stdout
    assert [e["action"] for e in _events(ctx, number)] == ["register"]


def test_an_unmasked_view_is_recorded_without_changing_the_state(
    tousu: Tousu, ctx: Context
) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    body = as_json(tousu("show", number, "--reveal", "--json", user="liaison"))
    assert body["masked"] is False
    assert body["parties"]["complainant"]["phone"] == "13800138000"
    assert body["parties"]["complainant"]["id_number"] == "11010519491231002X"
    events = _events(ctx, number)
    assert [e["seq"] for e in events] == [1, 2, 3]
    view = events[-1]
    assert (view["action"], view["actor"], view["from_state"], view["to_state"]) == (
        "view_pii",
        "liaison",
        "accepted",
        "accepted",
    )
    assert body["events"][-1]["action"] == "view_pii"
    assert body["complaint"]["state"] == "accepted"
    # The next action still numbers its event after the view, and may be back-dated.
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 12))
    assert [e["seq"] for e in _events(ctx, number)] == [1, 2, 3, 4]


@pytest.mark.parametrize("username", ["investigator", "coordinator", "committee", "admin"])
def test_roles_outside_the_pii_tier_may_not_unmask(
    tousu: Tousu, ctx: Context, username: str
) -> None:
    assert lc.Role(ROLE_USERS[username][0]) not in lc.PII_ROLES
    number = registered(ctx, cst(2026, 3, 2, 9))
    result = tousu("show", number, "--reveal", user=username)
    assert result.exit_code == 3 and "无权查看完整个人信息" in result.stderr
    assert len(_events(ctx, number)) == 1


def test_show_json_has_ids_state_codes_named_deadlines_and_events(
    tousu: Tousu, ctx: Context
) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    body = as_json(tousu("show", number, "--json", user="liaison"))
    assert body["ok"] and body["complaint"]["number"] == number
    assert isinstance(body["complaint"]["id"], int)
    assert body["complaint"]["state"] == "accepted"
    assert {d["name"] for d in body["deadlines"]} >= {"acceptance", "decision", "investigation"}
    for d in body["deadlines"]:
        assert d["due"].endswith("+08:00") and isinstance(d["verified"], bool)
    assert [e["action"] for e in body["events"]] == ["register", "accept"]
    assert body["events"][0]["at"] == "2026-03-02T09:00:00+08:00"
    assert "investigate" in body["allowed_actions"]


def test_show_human_output_is_chinese(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    out = tousu("show", number, user="liaison").stdout
    for word in (
        "状态: 已受理",
        "处理决定告知时限",
        "2026-03-17 24:00",
        "事件时间线",
        "受理",
        "升级级别",
        "当事人 (已脱敏)",
    ):
        assert word in out, word


def _person(i: int) -> Person:
    return Person(name=f"客户{i}", phone=f"1390000{i:04d}")


@pytest.mark.clock
def test_my_queue_is_sorted_by_nearest_deadline_and_marks_overdue(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    old = accepted(ctx, now - timedelta(days=20), complainant=_person(1))  # decision overdue
    new = accepted(ctx, now - timedelta(hours=3), complainant=_person(2))
    mid = accepted(ctx, now - timedelta(days=10), complainant=_person(3))
    body = as_json(tousu("queue", "--json", user="liaison"))
    assert [i["number"] for i in body["items"]] == [old, mid, new]
    assert body["items"][0]["nearest_due"] < body["items"][1]["nearest_due"]
    assert body["items"][0]["nearest_due"].endswith("+08:00")
    out = tousu("queue", user="liaison").stdout
    assert "已超时" in out and old in out
    assert as_json(tousu("queue", "--json", user="liaison2"))["items"] == []


@pytest.mark.clock
def test_queue_filters_by_state_priority_category_branch_and_handler(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    plain = accepted(ctx, now - timedelta(hours=5), complainant=_person(1))
    big = accepted(
        ctx, now - timedelta(hours=4), complainant=_person(2), amount=2_000_000.0, branch="beijing"
    )
    a.investigate(ctx, big, actor="liaison")

    def numbers(*args: str, user: str = "supervisor") -> list[str]:
        result = tousu("queue", *args, "--json", user=user)
        assert result.exit_code == 0, result.output
        return [i["number"] for i in as_json(result)["items"]]

    assert numbers("--state", "investigating", user="liaison") == [big]
    assert numbers("--priority", "major", user="liaison") == [big]
    assert numbers("--category", "理赔纠纷", user="liaison") == [plain, big]
    assert numbers("--scope", "all", "--branch", "beijing") == [big]
    assert numbers("--scope", "team", "--handler", "liaison") == [plain, big]
    assert numbers("--scope", "branch") == [plain]  # supervisor's branch: head_office
    assert numbers("--scope", "all", "--handler", "liaison2") == []


@pytest.mark.clock
def test_a_clerk_queue_holds_the_branch_complaints_waiting_for_acceptance(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = registered(ctx, now - timedelta(hours=23))
    body = as_json(tousu("queue", "--json", user="clerk"))
    assert [i["number"] for i in body["items"]] == [number]
    assert body["items"][0]["nearest_deadline"] == "acceptance"
    # Acceptance is due in an hour: today, unless this hour crosses local midnight.
    due, today = (t.astimezone(ctx.tz).date() for t in (now + timedelta(hours=1), now))
    due_today = due == today
    out = tousu("queue", user="clerk").stdout
    assert number in out and "受理时限" in out
    assert f"已超时 0 件, 今日到期 {int(due_today)} 件" in out
    assert ("今日到期" in out.split(number, 1)[1].splitlines()[0]) == due_today


@pytest.mark.parametrize("username", ["clerk", "investigator", "liaison"])
def test_only_supervisors_see_other_peoples_queues(
    tousu: Tousu, ctx: Context, username: str
) -> None:
    for args in (["--scope", "team"], ["--scope", "branch"], ["--handler", "liaison2"]):
        result = tousu("queue", *args, user=username)
        assert result.exit_code == 3, args


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--state", "sleeping"], "--state"),
        (["--priority", "urgent"], "--priority"),
        (["--category", "weather"], "--category"),
        (["--branch", "mars"], "--branch"),
        (["--scope", "world"], "--scope"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_queue_filters_with_bad_values_are_bad_input(
    tousu: Tousu, args: list[str], flag: str
) -> None:
    result = tousu("queue", *args, user="supervisor")
    assert result.exit_code == 2 and flag in result.stderr


def test_the_light_read_path_returns_what_the_tables_return(any_ctx: Context) -> None:
    """On SQLite and PostgreSQL: the raw reads (storage/db.py `raw_reads`) of the case page,
    the queue and the session give what the SQLModel tables give."""
    from services.lifecycle import queries
    from services.lifecycle.registration import Person as P

    ctx = any_ctx

    number = accepted(
        ctx,
        cst(2026, 3, 2, 9),
        complainant=P(
            name="赵六", phone="13800138000", id_number="11010519491231002X", address="北京"
        ),
        institution="北京分公司营业部",
        branch="beijing",
        media_involved=True,
    )
    heavy, light = queries.get_complaint(ctx, number), queries.complaint_light(ctx, number)
    assert light["case"] == heavy["case"]
    assert light["deadlines"] == heavy["deadlines"]
    assert light["events"] == heavy["events"]
    assert light["institution"] == "北京分公司营业部"
    assert queries._decrypt(ctx, light["_parties"]["complainant"]) == queries.decrypt_party(
        ctx, heavy["case"]["complainant_id"]
    )
    from services.users import get_user

    assert queries.actor(ctx, "liaison") == get_user(ctx, "liaison")
    owner = heavy["case"]["owner"]
    view = queries.complaint_view(ctx, number, actor=queries.actor(ctx, owner))
    assert view["case"]["state"] == heavy["case"]["state"] and view["masked"]
    assert [e["id"] for e in view["events"]] == [e["id"] for e in heavy["events"]]
    assert view["parties"]["complainant"]["phone"] != "13800138000"  # masked
    (item,) = [
        i
        for i in queries.queue(ctx, actor=queries.actor(ctx, owner))["items"]
        if i["number"] == number
    ]
    running = [d for d in heavy["deadlines"] if d["status"] == "running"]
    nearest = min(running, key=lambda d: (d["due"], d["name"]))
    assert (item["nearest_due"], item["nearest_deadline"]) == (nearest["due"], nearest["name"])
    assert item["received_at"] == heavy["case"]["received_at"] and item["message_failures"] == []


def test_show_and_queue_import_neither_the_tables_nor_heavy_libraries(
    ctx: Context, cli_env: dict[str, str], now: datetime
) -> None:
    import os
    import subprocess
    import sys

    number = registered(ctx, cst(2026, 3, 2, 9))
    # The child process gets the suite's clock too: no test reads the wall clock.
    probe = (
        f"import time_machine\ntime_machine.travel({now.isoformat()!r}, tick=True).start()\n"
        "import sys\nfrom cli.main import app\n"
        f"for argv in (['show', {number!r}, '--user', 'liaison'],\n"
        "             ['queue', '--user', 'liaison']):\n"
        "    try:\n        app(argv)\n    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        "heavy = ('prefect', 'apprise', 'openpyxl', 'faker', 'alembic', 'rich.table',\n"
        "         'storage.models', 'storage.records')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, **cli_env},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"


def test_the_capacity_labels_shown_are_those_of_registration() -> None:
    from cli.render import CAPACITIES
    from services.lifecycle.registration import CAPACITIES as REGISTERED

    assert CAPACITIES == REGISTERED
