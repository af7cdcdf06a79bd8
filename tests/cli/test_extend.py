"""`tousu extend --to 30|60` from the terminal (Art. 18 ¶1)."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Tousu, as_json
from tests.factories import accepted, cst

pytestmark = pytest.mark.clock


def test_the_command_takes_to_and_refuses_sixty_without_approval_with_exit_two(
    tousu: Tousu, ctx
) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    refused = tousu(
        "extend",
        number,
        "--reason",
        "特别复杂",
        "--to",
        "60",
        "--at",
        "2026-03-05T09:00",
        user="liaison",
    )
    assert refused.exit_code == 2 and "approver" in refused.output
    done = tousu(
        "extend",
        number,
        "--reason",
        "特别复杂",
        "--to",
        "60",
        "--approver",
        "总公司副总经理 刘某",
        "--complainant-told",
        "2026-03-05 短信告知",
        "--at",
        "2026-03-05T09:00",
        "--json",
        user="liaison",
    )
    assert done.exit_code == 0, done.output
    [dl] = [d for d in as_json(done)["deadlines"] if d["name"] == "decision"]
    assert dl["due"].startswith("2026-05-02T00:00:00")
