"""Recusal from the terminal (Art. 17): the staff number is given when a user is added, and
a handler who is the employee complained about is refused with the reason and the way out."""

from __future__ import annotations

import pytest

from tests.cli.conftest import REGISTER, Tousu, as_json

pytestmark = pytest.mark.clock


def test_the_employee_complained_about_cannot_be_made_owner_without_a_supervisors_override(
    tousu: Tousu,
) -> None:
    added = tousu(
        "users",
        "add",
        "zhang.san",
        "--name",
        "张三",
        "--role",
        "liaison",
        "--employee-no",
        "E1001",
        user="admin",
    )
    assert added.exit_code == 0, added.output
    listed = as_json(tousu("users", "list", "--json", user="admin"))
    assert {u["username"]: u["employee_no"] for u in listed["users"]}["zhang.san"] == "E1001"

    made = tousu(*REGISTER, "--employee-name", "张三", "--employee-no", "E1001", "--json")
    number = as_json(made)["number"]
    accept = ["accept", number, "--category", "claims", "--product", "medical"]
    refused = tousu(*accept, "--owner", "zhang.san", user="clerk")
    assert refused.exit_code == 3
    assert "回避(第十七条)" in refused.output and "--recusal-override" in refused.output
    assert as_json(tousu("show", number, "--json", user="liaison"))["complaint"]["state"] == (
        "registered"
    )
    done = tousu(
        *accept,
        "--owner",
        "zhang.san",
        "--recusal-override",
        "网点仅一名对接人",
        "--json",
        user="supervisor",
    )
    assert done.exit_code == 0, done.output
