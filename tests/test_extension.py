"""`extend --to 30|60` (Art. 18 ¶1): the handler names the length; 60 days, straight from 15
or from 30, needs the approver and the complainant told; a refusal changes nothing."""

from __future__ import annotations

import pytest

from services.lifecycle import actions as a
from services.lifecycle import queries
from states.errors import Forbidden, InvalidInput
from tests.factories import accepted, cst

pytestmark = pytest.mark.clock

APPROVED = {"approver": "总公司副总经理 刘某", "complainant_told": "2026-03-05 短信告知"}


def _decision(ctx, number):  # type: ignore[no-untyped-def]
    view = queries.get_complaint(ctx, number)
    [dl] = [d for d in view["deadlines"] if d["name"] == "decision"]
    return view["case"], dl


def test_an_extension_straight_to_sixty_days_with_approval_gives_sixty(ctx) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.extend(ctx, number, actor="liaison", reason="特别复杂", to=60, **APPROVED, at=cst(2026, 3, 5))
    case, dl = _decision(ctx, number)
    assert dl["due"] == cst(2026, 5, 2) and case["extension_level"] == 2


@pytest.mark.parametrize("missing", ["approver", "complainant_told"])
def test_sixty_days_without_the_approver_or_the_complainant_told_is_refused(
    ctx, missing: str
) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    given = {k: v for k, v in APPROVED.items() if k != missing}
    before = queries.get_complaint(ctx, number)
    with pytest.raises(InvalidInput, match=missing):
        a.extend(
            ctx, number, actor="liaison", reason="特别复杂", to=60, **given, at=cst(2026, 3, 5)
        )
    after = queries.get_complaint(ctx, number)
    assert after["case"]["version"] == before["case"]["version"]
    assert after["deadlines"] == before["deadlines"]


def test_an_approver_given_with_thirty_days_still_gives_thirty(ctx) -> None:
    # The length is what the handler names, never guessed from the other fields.
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.extend(ctx, number, actor="liaison", reason="复杂", to=30, **APPROVED, at=cst(2026, 3, 5))
    case, dl = _decision(ctx, number)
    assert dl["due"] == cst(2026, 4, 2) and case["extension_level"] == 1


def test_thirty_then_sixty_needs_the_approval_at_the_second_step(ctx) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.extend(ctx, number, actor="liaison", reason="复杂", to=30, at=cst(2026, 3, 5))
    with pytest.raises(InvalidInput, match="approver"):
        a.extend(ctx, number, actor="liaison", reason="特别复杂", to=60, at=cst(2026, 3, 20))
    a.extend(
        ctx, number, actor="liaison", reason="特别复杂", to=60, **APPROVED, at=cst(2026, 3, 20)
    )
    assert _decision(ctx, number)[1]["due"] == cst(2026, 5, 2)


def test_the_length_must_be_one_the_rules_allow_and_longer_than_today(ctx) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    with pytest.raises(InvalidInput, match="to"):
        a.extend(ctx, number, actor="liaison", reason="复杂", to=45, at=cst(2026, 3, 5))
    a.extend(ctx, number, actor="liaison", reason="复杂", to=30, at=cst(2026, 3, 5))
    with pytest.raises(Forbidden, match="30 日"):
        a.extend(ctx, number, actor="liaison", reason="复杂", to=30, at=cst(2026, 3, 6))
    a.extend(ctx, number, actor="liaison", reason="特别复杂", to=60, **APPROVED, at=cst(2026, 3, 6))
    with pytest.raises(Forbidden, match="60 日"):
        a.extend(ctx, number, actor="liaison", reason="再延", to=60, **APPROVED, at=cst(2026, 3, 7))
