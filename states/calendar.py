"""China's working-day calendar (State Council notice, with 调休 make-up days).

chinesecalendar knows 2004–2026 and raises NotImplementedError beyond; it stays the source for
the years it lists, because only it has the announced 调休 days. For a year it does not know we
fall back to Monday–Friday less the statutory holidays fixed by rule (《全国年节及纪念日放假办法》:
元旦, 春节 with its eve, 清明, 劳动节, 端午, 中秋, 国庆; lunar dates computed by the `holidays`
package's China calendar, without its guessed "observed" days), plus the dates an operator
configured, and report the answer as unverified unless the year is listed in
`calendar.verified_years`, i.e. until the year's notice is in the calendar data (docs/rules.md §1).
`find_workday` of chinesecalendar is off by one when the start is not a working day, so
working days are counted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar


class WorkCalendar:
    def __init__(
        self,
        extra_holidays: Iterable[str | date] = (),
        extra_workdays: Iterable[str | date] = (),
        verified_years: Iterable[int] = (),
    ) -> None:
        self.extra_holidays = frozenset(_as_date(d) for d in extra_holidays)
        self.extra_workdays = frozenset(_as_date(d) for d in extra_workdays)
        self.verified_years = frozenset(verified_years)
        self._cache: dict[date, tuple[bool, bool]] = {}

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """(is a working day, answer verified)."""
        hit = self._cache.get(day)
        if hit is not None:
            return hit
        if day in self.extra_workdays:
            answer = (True, True)
        elif day in self.extra_holidays:
            answer = (False, True)
        else:
            known = _library_workday(day)
            if known is not None:
                answer = (known, True)
            else:
                working = day.weekday() < 5 and day not in _statutory_holidays(day.year)
                answer = (working, day.year in self.verified_years)
        self._cache[day] = answer
        return answer

    def add_working_days(self, start: date, count: int) -> tuple[date, bool]:
        """The day on which `count` working days after `start` are complete.

        The start day is not counted (Civil Code Art. 201)."""
        verified = True
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            working, ok = self.is_workday(day)
            verified &= ok
            if working:
                remaining -= 1
        return day, verified

    def next_workday(self, day: date) -> tuple[date, bool]:
        """`day` itself if it is a working day, else the first working day after it."""
        verified = True
        while True:
            working, ok = self.is_workday(day)
            verified &= ok
            if working:
                return day, verified
            day += timedelta(days=1)


@lru_cache(maxsize=4096)
def _library_workday(day: date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@lru_cache(maxsize=16)
def _statutory_holidays(year: int) -> frozenset[date]:
    """The statutory holidays fixed by rule for a year chinesecalendar does not know.

    `observed=False`: the extra days and 调休 swaps come only with the year's notice."""
    from holidays.countries.china import China  # imported here: ~0.3 s, needed past 2026 only

    days = China(years=year, observed=False, categories=("public",))  # type: ignore[no-untyped-call]
    return frozenset(days.keys())


def _as_date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
