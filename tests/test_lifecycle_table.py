"""Invariants of the one lifecycle table and the matrix of states × actions × roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from states import lifecycle as lc
from states.diagram import render
from states.errors import Forbidden

ROOT = Path(__file__).resolve().parent.parent


def test_every_state_is_reachable_from_registration() -> None:
    seen, frontier = {lc.State.registered}, [lc.State.registered]
    while frontier:
        state = frontier.pop()
        for act in lc.allowed_actions(state):
            if act.dest and act.dest not in seen:
                seen.add(act.dest)
                frontier.append(act.dest)
    assert seen == set(lc.State)


def test_terminal_states_have_no_exits_and_closed_only_reopens() -> None:
    for state in lc.TERMINAL:
        assert lc.allowed_actions(state) == []
    assert {a.trigger for a in lc.allowed_actions(lc.State.closed)} == {"reopen"}


def test_every_move_names_its_roles_and_every_state_has_a_chinese_label() -> None:
    assert all(a.roles for a in lc.ACTIONS)
    assert all(s.label for s in lc.State) and all(r.label for r in lc.Role)


def test_the_committed_diagram_is_current() -> None:
    assert (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8") == render()


def test_the_machine_has_exactly_the_tables_moves() -> None:
    for act in lc.ACTIONS:
        assert set(lc.machine().events[act.trigger].transitions) == {s.value for s in act.sources}


@pytest.mark.parametrize("act", lc.ACTIONS, ids=lambda a: a.trigger)
@pytest.mark.parametrize("state", list(lc.State), ids=str)
def test_an_action_is_allowed_exactly_from_its_source_states(
    act: lc.Action, state: lc.State
) -> None:
    case = {
        "state": state.value,
        "decided_by_branch": True,
        "extension_level": 0,
        "media_involved": act.trigger == "assess_opinion",
    }
    fields = dict.fromkeys(act.requires, "x")
    fields.update(
        {
            "remedies": ["review"],
            "channel": "sms" if act.trigger == "notify" else "industry",
            "ground": "not_entitled",
        }
    )
    if state in act.sources:
        lc.check(act, case, fields)
        expected = act.dest or state
        assert lc.fire(act, state) == expected
    else:
        with pytest.raises(Forbidden) as err:
            lc.check(act, case, fields)
        # The refusal names the current state and what is allowed from it.
        assert state.value in str(err.value)
        assert lc.describe_allowed(state) in str(err.value)


@pytest.mark.parametrize("act", lc.ACTIONS, ids=lambda a: a.trigger)
@pytest.mark.parametrize("role", list(lc.Role), ids=str)
def test_only_the_roles_named_on_a_move_may_take_it(act: lc.Action, role: lc.Role) -> None:
    if role in act.roles:
        lc.authorize(act, role)
    else:
        with pytest.raises(Forbidden, match=re.escape(role.label)):
            lc.authorize(act, role)


def test_decline_is_refused_on_any_ground_but_article_fourteen() -> None:
    act = lc.action("decline")
    with pytest.raises(Forbidden, match="第十八条第四款"):
        lc.check(act, {"state": "registered"}, {"ground": "repeat", "explanation": "重复"})
