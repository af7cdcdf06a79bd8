"""The dashboard's counts and the cases behind them (services/reporting/dashboard.py) on SQLite
and PostgreSQL: every number equals the length of its list, and both equal what the cases say."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

import pytest

from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.queries import deadlines_of, get_complaint
from services.lifecycle.registration import Person
from services.reporting import dashboard
from states.errors import Forbidden, InvalidInput
from storage.timeutil import local
from tests.factories import accepted, registered

pytestmark = pytest.mark.clock

_SEQ = itertools.count(1)


def someone() -> Person:
    i = next(_SEQ)
    return Person(name=f"看板{i:03d}", phone=f"1370000{i:04d}", address=f"上海市{i}号")


def _urgency(ctx: Context, number: str, now: datetime) -> str:
    running = [d["due"] for d in deadlines_of(ctx, number) if d["status"] == "running"]
    if not running:
        return ""
    if min(running) < now:
        return "overdue"
    tomorrow = local(now, ctx.tz).date() + timedelta(days=1)
    return "today" if min(running) <= datetime.combine(tomorrow, time(0), tzinfo=ctx.tz) else ""


def test_every_number_is_the_length_of_its_list_and_matches_the_cases(any_ctx, now):
    ctx = any_ctx
    old = accepted(ctx, now - timedelta(days=45), complainant=someone())
    fresh = accepted(ctx, now - timedelta(hours=2), complainant=someone())
    soon = registered(ctx, now - timedelta(hours=23, minutes=40), complainant=someone())
    elsewhere = registered(ctx, now - timedelta(hours=1), complainant=someone(), branch="beijing")
    gone = accepted(ctx, now - timedelta(hours=4), complainant=someone())
    a.withdraw(ctx, gone, actor="liaison", reason="撤回")
    open_ = [old, fresh, soon, elsewhere]

    got = dashboard.figures(ctx, now=now)
    assert got["open"] == 4 == sum(got["by_state"].values())
    assert got["by_state"]["registered"] == 2 and got["by_state"]["accepted"] == 2
    for focus in ("overdue", "today"):
        expected = {n for n in open_ if _urgency(ctx, n, now) == focus}
        listed = {i["number"] for i in dashboard.cases(ctx, focus=focus, now=now)["items"]}
        assert got[focus] == len(expected) and listed == expected, focus
    assert old in {i["number"] for i in dashboard.cases(ctx, focus="overdue", now=now)["items"]}
    levels = {}
    for n in open_:
        level = get_complaint(ctx, n)["case"]["escalation_level"]
        levels.setdefault(level, set()).add(n)
    assert got["levels"] == {k: len(v) for k, v in levels.items()}
    for level, numbers in levels.items():
        listed = dashboard.cases(ctx, focus="level", level=level, now=now)["items"]
        assert {i["number"] for i in listed} == numbers
    assert sum(received for _, received, _ in got["trend"]) == 5
    assert got["trend"][-1][0] == f"{local(now, ctx.tz):%Y-%m}"

    beijing = dashboard.figures(ctx, now=now, branch="beijing")
    assert beijing["open"] == 1 and beijing["by_state"]["registered"] == 1
    assert [
        i["number"]
        for i in dashboard.cases(ctx, focus="level", level=0, now=now, branch="beijing")["items"]
    ] == [elsewhere]


def test_only_supervisors_and_the_committee_see_it_and_an_unknown_focus_is_bad_input(ctx, now):
    dashboard.authorize("supervisor")
    dashboard.authorize("committee")
    for role in ("intake_clerk", "investigator", "coordinator", "liaison", "admin"):
        with pytest.raises(Forbidden):
            dashboard.authorize(role)
    with pytest.raises(InvalidInput) as bad:
        dashboard.cases(ctx, focus="everything", now=now)
    assert bad.value.field == "focus"
    with pytest.raises(InvalidInput):
        dashboard.cases(ctx, focus="level", now=now)


def test_slow_figures_are_counted_by_one_request_while_the_others_show_the_last_ones(ctx, now):
    """16 supervisors polling at once: the first count is waited for by all, and once stale
    one request counts again while the others get the figures of a moment ago."""
    import threading
    import time as clock
    from datetime import timedelta

    from services.reporting import dashboard

    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        clock.sleep(0.3)  # slower than [dashboard] fresh_below_ms
        return len(calls)

    def poll(at, out):
        out.append(dashboard._reused(ctx, "probe", None, at, 15, slow))

    def together(at):
        got: list = []
        threads = [threading.Thread(target=poll, args=(at, got)) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        return got

    first = together(now)
    assert len(calls) == 1 and {value for _, value in first} == {1}
    later = together(now + timedelta(seconds=20))  # stale: counted again, once
    assert len(calls) == 2
    values = [value for _, value in later]
    assert set(values) <= {1, 2} and values.count(2) >= 1
