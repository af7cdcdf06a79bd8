"""UTC in storage, Asia/Shanghai (configured) only at the edges.

sqlmodel's UTCDateTime columns take and return aware datetimes; naive values are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


# Each conversion returns None exactly for None: the overloads tell the type checker so.
@overload
def to_db(value: datetime) -> datetime: ...
@overload
def to_db(value: None) -> None: ...
@overload
def to_db(value: datetime | None) -> datetime | None: ...
def to_db(value: datetime | None) -> datetime | None:
    """Aware → aware UTC (sqlmodel's UTCDateTime stores it; naive values are refused)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is required")
    return value.astimezone(UTC)


@overload
def from_db(value: datetime | str) -> datetime: ...
@overload
def from_db(value: None) -> None: ...
@overload
def from_db(value: datetime | str | None) -> datetime | None: ...
def from_db(value: datetime | str | None) -> datetime | None:
    """A stored time (aware, naive UTC, or text from raw SQL) → aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@overload
def local(value: datetime, tz: str | ZoneInfo) -> datetime: ...
@overload
def local(value: None, tz: str | ZoneInfo) -> None: ...
@overload
def local(value: datetime | None, tz: str | ZoneInfo) -> datetime | None: ...
def local(value: datetime | None, tz: str | ZoneInfo) -> datetime | None:
    if value is None:
        return None
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return from_db(value).astimezone(zone)
