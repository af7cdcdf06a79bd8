"""`tousu find --phone/--id-number/--policy`: through the keyed hashes, for the roles that may
see personal data, every complaint found logging the search like `show --reveal`."""

from __future__ import annotations

import pytest

from services.context import Context
from services.lifecycle import queries
from services.lifecycle.registration import Person
from states import lifecycle as lc
from tests.cli.conftest import Tousu, as_json
from tests.conftest import ROLE_USERS
from tests.factories import cst, registered

T0 = cst(2026, 3, 2, 9)


def _actions(ctx: Context, number: str) -> list[str]:
    return [e["action"] for e in queries.get_complaint(ctx, number)["events"]]


def _two_people(ctx: Context) -> tuple[str, str, str]:
    zhao = registered(ctx, T0)  # 赵六, 13800138000, 11010519491231002X, P2026000123
    qian = registered(
        ctx,
        T0,
        complainant=Person(name="钱七", phone="13900139000"),
        policy_no="P2026000999",
        category="sales",
    )
    zhao_again = registered(ctx, T0.replace(day=20), category="sales", policy_no="P2026000555")
    return zhao, qian, zhao_again


@pytest.mark.parametrize("username", ["clerk", "liaison", "supervisor"])
def test_a_phone_finds_every_complaint_of_that_person_and_logs_the_search(
    tousu: Tousu, ctx: Context, username: str
) -> None:
    zhao, qian, zhao_again = _two_people(ctx)
    body = as_json(tousu("find", "--phone", "138 0013 8000", "--json", user=username))
    found = body["complaints"]
    assert [c["number"] for c in found] == [zhao_again, zhao]  # newest first
    assert found[0]["complainant"] == "赵*" and found[0]["matched"] == ["complainant"]
    for number in (zhao, zhao_again):
        event = queries.get_complaint(ctx, number)["events"][-1]
        assert (event["action"], event["actor"]) == ("find_pii", username)
        assert event["details"]["by"] == ["phone"]
        assert "13800138000" not in str(event)  # the value searched for is never logged
    assert "find_pii" not in _actions(ctx, qian)


def test_the_table_shows_masked_names_and_no_number_in_full(tousu: Tousu, ctx: Context) -> None:
    zhao, _, _ = _two_people(ctx)
    result = tousu("find", "--id-number", "11010519491231002x", user="clerk")
    assert result.exit_code == 0, result.output
    assert zhao in result.stdout and "赵*" in result.stdout and "赵六" not in result.stdout


def test_an_id_number_and_a_policy_together_narrow_the_search(tousu: Tousu, ctx: Context) -> None:
    zhao, _, _ = _two_people(ctx)
    body = as_json(
        tousu("find", "--id-number", "11010519491231002X", "--policy", "P2026000123", "--json")
    )
    assert [c["number"] for c in body["complaints"]] == [zhao]
    assert body["complaints"][0]["matched"] == ["complainant", "policy"]
    assert queries.get_complaint(ctx, zhao)["events"][-1]["details"]["by"] == [
        "id_number",
        "policy",
    ]


def test_a_policy_alone_finds_its_complaints(tousu: Tousu, ctx: Context) -> None:
    _, qian, _ = _two_people(ctx)
    body = as_json(tousu("find", "--policy", "P2026000999", "--json", user="liaison"))
    assert [c["number"] for c in body["complaints"]] == [qian]


def test_an_agents_phone_finds_the_complaint_they_brought(tousu: Tousu, ctx: Context) -> None:
    number = registered(
        ctx,
        T0,
        agent=Person(name="周九", phone="13600136000"),
        power_of_attorney="授权委托书 2026-03-01",
    )
    body = as_json(tousu("find", "--phone", "13600136000", "--json"))
    assert [(c["number"], c["matched"]) for c in body["complaints"]] == [(number, ["agent"])]


def test_nothing_found_says_so_and_logs_nothing(tousu: Tousu, ctx: Context) -> None:
    zhao, _, _ = _two_people(ctx)
    result = tousu("find", "--phone", "13511112222")
    assert result.exit_code == 0 and "未找到相符的投诉" in result.stdout
    assert "find_pii" not in _actions(ctx, zhao)


@pytest.mark.parametrize("username", ["investigator", "coordinator", "committee", "admin"])
def test_roles_outside_the_pii_tier_may_not_search(
    tousu: Tousu, ctx: Context, username: str
) -> None:
    assert lc.Role(ROLE_USERS[username][0]) not in lc.PII_ROLES
    zhao, _, _ = _two_people(ctx)
    result = tousu("find", "--phone", "13800138000", user=username)
    assert result.exit_code == 3 and "无权按个人信息查找投诉" in result.stderr
    assert "find_pii" not in _actions(ctx, zhao)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--phone", "12345"], "--phone"),
        (["--id-number", "110105194912310021"], "--id-number"),
        (["--phone", "  "], "--phone"),
    ],
)
def test_bad_input_is_refused_with_exit_2_naming_the_field(
    tousu: Tousu, ctx: Context, args: list[str], field: str
) -> None:
    zhao, _, _ = _two_people(ctx)
    result = tousu("find", *args)
    assert result.exit_code == 2 and field in result.stderr
    assert "find_pii" not in _actions(ctx, zhao)
