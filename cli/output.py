"""Printing: Chinese tables for people, one JSON object for machines (`--json`).

Times go out in the configured zone (Asia/Shanghai) with their offset, ISO 8601 in JSON.
Rich is imported only when a table is printed.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import typer

DEADLINE_STATUS = {"running": "计时中", "paused": "暂停", "met": "已完成", "stopped": "已停止"}


def to_local(value: Any, tz: Any) -> Any:
    """Aware datetimes → local ISO strings (with offset), recursively."""
    if isinstance(value, datetime):
        from storage.timeutil import local

        return local(value, tz).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_local(v, tz) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_local(v, tz) for v in value]
    return value


def emit_json(body: dict[str, Any], tz: Any) -> None:
    typer.echo(json.dumps({"ok": True, **to_local(body, tz)}, ensure_ascii=False))


def fmt_time(value: datetime | None, tz: Any, seconds: bool = False) -> str:
    if value is None:
        return "-"
    from storage.timeutil import local

    return local(value, tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")  # type: ignore[union-attr]


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def table(title: str, columns: list[str]) -> Any:
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_lines=False)
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=i == 0)
    return t


def urgency(due: datetime | None, now: datetime, tz: Any) -> tuple[str, str]:
    """(label, Rich style): 已超时 red, 今日到期 yellow, otherwise plain."""
    if due is None:
        return "", ""
    if due < now:
        return "已超时", "bold red"
    from datetime import time, timedelta

    from storage.timeutil import local

    today = local(now, tz).date()  # type: ignore[union-attr]
    end_of_today = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    if due <= end_of_today:
        return "今日到期", "yellow"
    return "", ""


def fmt_due(value: datetime | None, tz: Any) -> str:
    """A due time; a deadline ending at local midnight reads as 24:00 of the day it ends."""
    if value is None:
        return "-"
    from datetime import timedelta

    from storage.timeutil import local

    here = local(value, tz)
    assert here is not None
    if (here.hour, here.minute, here.second) == (0, 0, 0):
        return (here - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return here.strftime("%Y-%m-%d %H:%M")
