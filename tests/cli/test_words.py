"""What a handler reads: times in the handler's zone, one offset in JSON, only the actions
possible now under their real command names, and the regulation's words (issue 13)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
import typer.main

from cli.main import app
from services.automatic import escalation
from services.automatic.escalation import immediate_rules
from services.context import Context
from services.lifecycle import actions as a
from states import lifecycle as lc
from states.errors import InvalidInput
from tests.cli.conftest import Tousu, as_json
from tests.factories import accepted, cst

pytestmark = pytest.mark.clock

APPROVED = {"approver": "总公司副总经理 刘某", "complainant_told": "2026-03-05 短信告知"}


def _allowed_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("您可执行"))


def test_an_error_quotes_the_previous_event_in_the_handlers_zone(ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))  # accepted at 11:00 Beijing time
    with pytest.raises(InvalidInput) as err:
        a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 10, 30))
    message = str(err.value)
    assert "2026-03-02T11:00:00+08:00" in message and "2026-03-02T10:30:00+08:00" in message
    assert "+00:00" not in message


def test_the_command_error_quotes_the_time_the_handler_typed(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    result = tousu("investigate", number, "--at", "2026-03-02T10:30", user="liaison")
    assert result.exit_code == 2
    assert "2026-03-02T10:30:00+08:00" in result.output and "+00:00" not in result.output


def test_every_time_in_the_json_of_show_carries_the_same_offset(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    body = as_json(tousu("show", number, "--json", user="liaison"))
    times = [d["due"] for d in body["deadlines"]] + [
        w["at"] for d in body["deadlines"] for w in d["warnings"]
    ]
    assert times and all(t.endswith("+08:00") for t in times), times


def _times(value: object) -> Iterator[str]:
    """Every string in a JSON body that is a time with an offset (ISO 8601)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _times(v)
    elif isinstance(value, list):
        for v in value:
            yield from _times(v)
    elif isinstance(value, str) and ISO_TIME.fullmatch(value):
        yield value


ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)")


# Its data is fixed in November (a breach the sweep escalates): its own instant, whatever --clock.
@pytest.mark.now(cst(2026, 11, 25, 10, 30))
def test_times_recorded_in_the_history_go_out_in_the_same_offset(
    tousu: Tousu, ctx: Context
) -> None:
    # The sweep's escalation events and a convened consultation keep due and meeting times in
    # their details; show --json gives them like every other time.
    number = accepted(ctx, cst(2026, 11, 10, 9))
    escalation.sweep(ctx)
    body = as_json(tousu("show", number, "--json", user="liaison"))
    details = [t for e in body["events"] for t in _times(e["details"])]
    assert details, body["events"]
    every = list(_times(body))
    assert all(t.endswith("+08:00") for t in every), [t for t in every if "+08:00" not in t]


def test_show_offers_no_extension_once_the_decision_period_is_sixty_days(
    tousu: Tousu, ctx: Context
) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 12))
    before = tousu("show", number, user="liaison")
    assert "extend(" in _allowed_line(before.output)
    a.extend(ctx, number, actor="liaison", reason="特别复杂", to=60, **APPROVED, at=cst(2026, 3, 5))
    after = tousu("show", number, user="liaison")
    assert "extend" not in _allowed_line(after.output)
    assert (
        "extend" not in as_json(tousu("show", number, "--json", user="liaison"))["allowed_actions"]
    )


def test_show_names_the_commands_a_handler_types(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 12))
    a.consult(ctx, number, actor="liaison", reason="重复投诉", at=cst(2026, 3, 2, 13))
    line = _allowed_line(tousu("show", number, user="liaison").output)
    assert "consult-end(会商结论)" in line and "conclude_consultation" not in line
    line = _allowed_line(tousu("show", number, user="investigator").output)
    assert "new-facts" not in line  # the investigator may not take it


def test_a_refusal_lists_the_commands_allowed_from_the_state(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 12))
    a.start_appraisal(
        ctx,
        number,
        actor="liaison",
        body="司法鉴定所",
        complainant_told="电话告知",
        at=cst(2026, 3, 2, 13),
    )
    result = tousu("notify", number, "--channel", "sms", "--proof", "回执", user="liaison")
    assert result.exit_code == 3
    assert "appraisal end(鉴定结束)" in result.output and "end_appraisal" not in result.output


def test_withdrawal_reads_as_withdrawing_the_complaint(tousu: Tousu, ctx: Context) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    result = tousu(
        "withdraw",
        number,
        "--reason",
        "投诉人来电撤回投诉",
        "--at",
        "2026-03-02T12:00",
        user="liaison",
    )
    assert result.exit_code == 0, result.output
    assert "已撤回投诉" in result.output and "撤诉" not in result.output
    shown = tousu("show", number, user="liaison").output
    assert "已撤回投诉" in shown and "撤诉" not in shown
    assert "撤诉" not in tousu("withdraw", "--help").output


# Internal references (the design notes "seed 00x", this repository's docs) and the litigation
# word 撤诉 have no place in what a handler reads.
NOT_FOR_PEOPLE = ("seed", "撤诉", "docs/rules.md")


def test_no_label_or_help_of_the_lifecycle_cites_the_design_notes_or_says_che_su() -> None:
    texts = [*lc.STATE_LABELS.values()]
    for act in lc.ACTIONS:
        texts += [act.label, act.help]
        texts += [t for f in act.fields for t in (f.label, f.help, f.example)]
    found = [t for t in texts for word in NOT_FOR_PEOPLE if word in t.lower()]
    assert found == []
    assert lc.State.withdrawn.label == "已撤回投诉" and lc.State.withdrawn.value == "withdrawn"


def test_no_deadline_or_escalation_rule_people_read_cites_the_design_notes(ctx: Context) -> None:
    rules = [r.rule for r in ctx.config.deadlines.values()]
    rules += [r["rule"] + r["label"] for r in immediate_rules(ctx).values()]
    assert rules and [r for r in rules if "seed" in r.lower()] == []


def _paths(command: Any, ctx: Any) -> Iterator[tuple[str, ...]]:
    """Every command path under `command` (help goes through Rich, so it is read by running).
    Typer bundles its own click: groups are recognised by what they do."""
    if not hasattr(command, "list_commands"):
        yield ()
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None:
            sub_ctx = sub.context_class(sub, info_name=name, parent=ctx)
            yield from ((name, *rest) for rest in _paths(sub, sub_ctx))


def test_no_command_help_cites_the_design_notes_or_says_che_su(tousu: Tousu) -> None:
    root = typer.main.get_command(app)
    paths = [(), *_paths(root, root.context_class(root, info_name="tousu"))]
    assert ("withdraw",) in paths and ("appraisal", "end") in paths and len(paths) > 40
    found = {}
    for path in paths:
        text = tousu(*path, "--help", user=None).output
        found.update({" ".join(path): w for w in NOT_FOR_PEOPLE if w in text.lower()})
    assert found == {}
