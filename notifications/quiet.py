"""Quiet hours: when a non-urgent alert may go out. Pure (no database, no network).

Non-urgent alerts wait for working hours on the Chinese working-day calendar (调休 included,
states/calendar.py) between `calendar.workday_start` and `calendar.workday_end`; urgent ones
(breach, 重大, 舆情) go at once.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from states.calendar import WorkCalendar


def in_working_hours(at: datetime, cal: WorkCalendar, start: time, end: time, tz: ZoneInfo) -> bool:
    local = at.astimezone(tz)
    working, _ = cal.is_workday(local.date())
    return working and start <= local.time().replace(tzinfo=None) < end


def next_send_time(
    at: datetime, *, urgent: bool, cal: WorkCalendar, start: time, end: time, tz: ZoneInfo
) -> datetime:
    """`at` itself when the alert may go now, else the start of the next working hours."""
    if urgent or in_working_hours(at, cal, start, end, tz):
        return at
    local = at.astimezone(tz)
    day = local.date()
    if local.time().replace(tzinfo=None) >= end:
        day += timedelta(days=1)
    while True:
        day, _ = cal.next_workday(day)
        opening = datetime.combine(day, start, tzinfo=tz)
        if opening >= local:
            return opening.astimezone(at.tzinfo)
        day += timedelta(days=1)  # pragma: no cover - only when start > local on same day
