"""Report periods: a month, a quarter or any span of local days, with the period before it
(month-on-month, 环比) and the same period a year earlier (year-on-year, 同比).

Periods are local calendar days (Asia/Shanghai by configuration); `bounds` turns them into the
UTC instants the database compares with. Pure: no database, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from states.errors import InvalidInput
from states.validation import YEARS


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | range
    start: date  # first local day, inclusive
    end: date  # local day after the last, exclusive

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.isoformat()}~{(self.end - timedelta(days=1)).isoformat()}"

    @property
    def title(self) -> str:
        """The Chinese heading (2026年10月, 2026年第3季度, 2026-10-01 至 2026-10-15)."""
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start.isoformat()} 至 {(self.end - timedelta(days=1)).isoformat()}"

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, time(0), tz).astimezone(UTC),
            datetime.combine(self.end, time(0), tz).astimezone(UTC),
        )

    def previous(self) -> Period:
        """The period just before (环比): the previous month or quarter, or an equal span."""
        if self.kind == "month":
            return month_of(_add_months(self.start, -1))
        if self.kind == "quarter":
            return Period("quarter", _add_months(self.start, -3), self.start)
        return Period("range", self.start - (self.end - self.start), self.start)

    def year_ago(self) -> Period:
        """The same period one year earlier (同比)."""
        if self.kind in ("month", "quarter"):
            return Period(self.kind, _add_months(self.start, -12), _add_months(self.end, -12))
        try:
            return Period(
                "range",
                self.start.replace(year=self.start.year - 1),
                self.end.replace(year=self.end.year - 1),
            )
        except ValueError:  # 29 February
            return Period("range", self.start - timedelta(days=365), self.end - timedelta(days=365))

    def months(self) -> list[str]:
        """The calendar months (YYYY-MM) the period covers in full; empty for a partial span."""
        out, day = [], self.start
        if day.day != 1 or self.end.day != 1:
            return []
        while day < self.end:
            out.append(f"{day:%Y-%m}")
            day = _add_months(day, 1)
        return out


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    return Period("month", first, _add_months(first, 1))


def _year(year: int, text: str, field: str) -> None:
    """Reports cover years within validation.YEARS (a typing error otherwise)."""
    low, high = YEARS
    if not low <= year <= high:
        raise InvalidInput(field, f"「{text}」超出范围: 年份应在 {low} 至 {high} 之间")


def parse_month(text: str) -> Period:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InvalidInput("period", f"「{text}」不是有效月份(格式 YYYY-MM)")
    _year(int(m.group(1)), text, "period")
    return month_of(date(int(m.group(1)), int(m.group(2)), 1))


def parse_quarter(text: str) -> Period:
    m = re.fullmatch(r"(\d{4})\s*[Qq]([1-4])", text.strip())
    if not m:
        raise InvalidInput("quarter", f"「{text}」不是有效季度(格式 YYYYQn, 如 2026Q3)")
    _year(int(m.group(1)), text, "quarter")
    start = date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
    return Period("quarter", start, _add_months(start, 3))


def span(first: date, last: date) -> Period:
    """From `first` to `last`, both local days included."""
    if last < first:
        raise InvalidInput("to", "结束日期早于开始日期")
    _year(first.year, first.isoformat(), "from")
    _year(last.year, last.isoformat(), "to")
    period = Period("range", first, last + timedelta(days=1))
    if first.day == 1 and period.end.day == 1 and _add_months(first, 1) == period.end:
        return Period("month", first, period.end)
    return period


def last_full_month(today: date) -> Period:
    return month_of(_add_months(today.replace(day=1), -1))


def last_full_quarter(today: date) -> Period:
    q_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return Period("quarter", _add_months(q_start, -3), q_start)
