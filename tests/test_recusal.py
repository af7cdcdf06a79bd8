"""Recusal (Art. 17): the handler has no direct interest in the matter. The owner or the
investigator may not be the employee complained about (or, when configured, in that employee's
team) unless a supervisor overrides it with a reason."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from services import users
from services.context import Context, open_context
from services.lifecycle import actions as a
from services.lifecycle import queries
from states.errors import Forbidden
from tests.conftest import make_config, seed_users
from tests.factories import accepted, cst, registered

pytestmark = pytest.mark.clock

T0 = cst(2026, 3, 2, 9)


def _staff(ctx: Context) -> None:
    # 张三 (工号 E1001) is the salesperson complained about; 张四 works in his team.
    users.add_user(
        ctx, "zhang.san", name="张三", role="liaison", team="北京销售组", employee_no="E1001"
    )
    users.add_user(ctx, "zhang.si", name="张四", role="investigator", team="北京销售组")


@pytest.fixture
def staffed(ctx: Context) -> Context:
    _staff(ctx)
    return ctx


@pytest.fixture
def same_team(tmp_path: Path, sqlite_template: Path) -> Iterator[Context]:
    db = tmp_path / "team.db"
    shutil.copy(sqlite_template, db)
    context = open_context(
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__RECUSAL__SAME_TEAM="true")
    )
    seed_users(context)
    _staff(context)
    yield context
    context.close()


def _against_zhang(ctx: Context, **over: object) -> str:
    fields: dict[str, object] = {"employee_name": "张三", "employee_no": "E1001"}
    fields.update(over)
    return registered(ctx, T0, **fields)


def _accept(ctx: Context, number: str, owner: str, actor: str = "clerk", **more: object):  # type: ignore[no-untyped-def]
    return a.accept(
        ctx,
        number,
        actor=actor,
        category="claims",
        product="medical",
        owner=owner,
        at=T0 + timedelta(hours=1),
        **more,
    )


def test_accepting_with_the_employee_complained_about_as_owner_is_refused(staffed) -> None:
    number = _against_zhang(staffed)
    before = queries.get_complaint(staffed, number)["case"]
    with pytest.raises(Forbidden, match="第十七条") as err:
        _accept(staffed, number, "zhang.san")
    assert "zhang.san" in str(err.value) and "回避" in str(err.value)
    after = queries.get_complaint(staffed, number)["case"]
    assert (after["state"], after["version"], after["owner"]) == (
        "registered",
        before["version"],
        None,
    )


def test_the_employee_is_recognised_by_name_when_no_staff_number_was_given(staffed) -> None:
    number = _against_zhang(staffed, employee_no=None)
    with pytest.raises(Forbidden, match="回避"):
        _accept(staffed, number, "zhang.san")


def test_another_owner_is_accepted_as_before(staffed) -> None:
    number = _against_zhang(staffed)
    _accept(staffed, number, "liaison")
    assert queries.get_complaint(staffed, number)["case"]["owner"] == "liaison"


def test_a_supervisor_may_override_with_a_reason_and_the_override_is_in_the_history(
    staffed,
) -> None:
    number = _against_zhang(staffed)
    _accept(staffed, number, "zhang.san", actor="supervisor", recusal_override="网点仅一名对接人")
    view = queries.get_complaint(staffed, number)
    assert view["case"]["owner"] == "zhang.san"
    assert view["events"][-1]["details"]["recusal_override"] == "网点仅一名对接人"


def test_an_override_by_anyone_but_a_supervisor_is_refused(staffed) -> None:
    number = _against_zhang(staffed)
    with pytest.raises(Forbidden, match="主管"):
        _accept(staffed, number, "zhang.san", actor="liaison", recusal_override="人手不足")


def test_handing_over_to_the_employee_complained_about_is_refused(staffed) -> None:
    number = accepted(staffed, T0, employee_name="张三", employee_no="E1001")
    with pytest.raises(Forbidden, match="回避"):
        a.assign(staffed, number, actor="supervisor", owner="zhang.san", reason="休假交接")


def test_the_employee_complained_about_may_not_investigate(staffed) -> None:
    number = accepted(staffed, T0, employee_name="张三", employee_no="E1001")
    with pytest.raises(Forbidden, match="调查"):
        a.investigate(staffed, number, actor="zhang.san", at=T0 + timedelta(hours=3))
    a.investigate(staffed, number, actor="liaison", at=T0 + timedelta(hours=3))


def test_a_teammate_may_handle_unless_the_same_team_rule_is_configured(staffed, same_team) -> None:
    number = accepted(staffed, T0, employee_name="张三", employee_no="E1001")
    a.investigate(staffed, number, actor="zhang.si", at=T0 + timedelta(hours=3))

    number = accepted(same_team, T0, employee_name="张三", employee_no="E1001")
    with pytest.raises(Forbidden, match="北京销售组"):
        a.investigate(same_team, number, actor="zhang.si", at=T0 + timedelta(hours=3))
