"""Printing: Chinese tables for people, one JSON object for machines (`--json`).

Times go out in the configured zone (Asia/Shanghai) with their offset, ISO 8601 in JSON.
Tables are drawn here (box characters, CJK double-width aware, colour through click.style,
which click strips when the output is not a terminal) rather than with Rich: importing and
laying out Rich costs about 45 ms per command, a third of the start-up budget of `tousu show`
(bench/cli_latency.py). Typer still uses Rich for --help and usage errors.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import typer

DEADLINE_STATUS = {"running": "计时中", "paused": "暂停", "met": "已完成", "stopped": "已停止"}


# A time with its offset written as text (an event's details keep due and meeting times so).
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)")


def to_local(value: Any, tz: Any) -> Any:
    """Aware datetimes → local ISO strings (with offset), recursively; so are times already
    written as text with another offset, so that every time in the JSON has the same one."""
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        value = datetime.fromisoformat(value)
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
    """A Rich console (other features' tables; tousu's own hot commands use `Table`)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def table(title: str, columns: list[str]) -> Any:
    """A Rich table with Chinese headers (print with `console().print(t)`)."""
    from rich.table import Table as RichTable

    t = RichTable(title=title, title_justify="left", show_lines=False)
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=i == 0)
    return t


def width(text: str) -> int:
    """Terminal cells: CJK ideographs and full-width forms take two."""
    from unicodedata import east_asian_width

    return sum(2 if east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _clip(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out, used = "", 0
    for ch in text:
        w = width(ch)
        if used + w > limit - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


class Table:
    """A boxed table with a title; one optional style (click.style keywords) per row."""

    def __init__(self, title: str, columns: list[str], max_width: int = 40) -> None:
        self.title, self.columns, self.max_width = title, columns, max_width
        self.rows: list[tuple[list[str], dict[str, Any]]] = []

    def add_row(self, *cells: Any, style: dict[str, Any] | None = None) -> None:
        self.rows.append(([_clip(str(c), self.max_width) for c in cells], style or {}))

    def render(self) -> str:
        widths = [
            max([width(c)] + [width(r[i]) for r, _ in self.rows])
            for i, c in enumerate(self.columns)
        ]

        def line(cells: list[str]) -> str:
            return (
                "│ "
                + " │ ".join(c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True))
                + " │"
            )

        def rule(left: str, mid: str, right: str) -> str:
            return left + mid.join("─" * (w + 2) for w in widths) + right

        out = [self.title, rule("┌", "┬", "┐"), line(self.columns), rule("├", "┼", "┤")]
        out += [
            typer.style(line(cells), **style) if style else line(cells)
            for cells, style in self.rows
        ]
        out.append(rule("└", "┴", "┘"))
        return "\n".join(out)

    def print(self) -> None:
        typer.echo(self.render())


RED = {"fg": "red", "bold": True}
YELLOW = {"fg": "yellow"}


def urgency(due: datetime | None, now: datetime, tz: Any) -> tuple[str, dict[str, Any]]:
    """(label, style): 已超时 red, 今日到期 yellow, otherwise plain."""
    if due is None:
        return "", {}
    if due < now:
        return "已超时", RED
    from datetime import time, timedelta

    from storage.timeutil import local

    today = local(now, tz).date()  # type: ignore[union-attr]
    end_of_today = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    if due <= end_of_today:
        return "今日到期", YELLOW
    return "", {}


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
