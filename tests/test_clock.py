"""The suite's clock (tests/conftest.py): every test runs at one instant, never the wall clock,
and the named instants are what their names say."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from config import load_config
from services.context import make_clock
from storage.timeutil import utcnow
from tests.conftest import CLOCKS, SHANGHAI, parse_clock
from tests.factories import cst


@pytest.mark.clock
def test_the_clock_is_travelled_to_the_suite_instant_and_ticks_from_it(now: datetime) -> None:
    for read in (utcnow(), datetime.now(UTC), datetime.fromtimestamp(time.time(), UTC)):
        assert timedelta(0) <= read - now < timedelta(minutes=1)


@pytest.mark.now(cst(2026, 2, 16, 10))
def test_a_test_may_pin_its_own_instant(now: datetime) -> None:
    assert now == cst(2026, 2, 16, 10)
    assert timedelta(0) <= utcnow() - now < timedelta(minutes=1)


def test_the_named_instants_are_what_their_names_say() -> None:
    calendar = make_clock(load_config(environ={})).calendar
    local = {name: at.astimezone(SHANGHAI) for name, at in CLOCKS.items()}
    assert local["after-midnight"].time().isoformat() == "00:30:00"
    assert CLOCKS["after-midnight"].astimezone(UTC).date() < local["after-midnight"].date()
    assert local["before-midnight"].time().isoformat() == "23:45:00"
    saturday = local["tiaoxiu-saturday"].date()
    assert saturday == date(2026, 10, 10) and saturday.weekday() == 5
    assert calendar.is_workday(saturday) == (True, True)
    month_end = local["month-end-before-holiday"]
    assert (month_end.date(), month_end.time().isoformat()) == (date(2026, 9, 30), "16:30:00")
    assert calendar.is_workday(month_end.date() + timedelta(days=1)) == (False, True)
    default = local["default"]
    assert calendar.is_workday(default.date())[0] and 9 <= default.hour < 12


def test_the_clock_option_takes_a_name_or_an_iso_time_naive_meaning_beijing() -> None:
    assert parse_clock("tiaoxiu-saturday") == CLOCKS["tiaoxiu-saturday"]
    assert parse_clock("2026-12-31T23:59") == cst(2026, 12, 31, 23, 59)
    assert parse_clock("2026-12-31T15:59:00+00:00") == cst(2026, 12, 31, 23, 59)
    with pytest.raises(pytest.UsageError, match="--clock"):
        parse_clock("teatime")
