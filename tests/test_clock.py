"""The suite's clock (tests/conftest.py): every test runs at one instant, never the wall clock,
and the named instants are what their names say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from config import load_config
from services.context import Context, make_clock
from services.lifecycle.registration import register
from storage import records
from storage.timeutil import from_db
from tests.conftest import CLOCKS, SHANGHAI, parse_clock
from tests.factories import cst, registration


def _received_by_default(ctx: Context) -> datetime:
    """What the code takes for "now": a registration without a received time gets it."""
    number = register(ctx, registration(), actor="clerk").number
    with ctx.engine.connect() as conn:
        received = from_db(records.load_case(conn, number)["received_at"])
    assert received is not None
    return received


@pytest.mark.clock
def test_the_code_under_test_sees_the_suite_instant(ctx: Context, now: datetime) -> None:
    assert timedelta(0) <= _received_by_default(ctx) - now < timedelta(minutes=1)


@pytest.mark.now(cst(2026, 2, 16, 10))
def test_a_test_may_pin_its_own_instant(ctx: Context, now: datetime) -> None:
    assert now == cst(2026, 2, 16, 10)
    assert timedelta(0) <= _received_by_default(ctx) - now < timedelta(minutes=1)


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
