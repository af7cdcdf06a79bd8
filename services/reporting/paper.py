"""Print setup and readable layout shared by every workbook tousu writes (the period report,
the ledger export, the five-dimension case review): a supervisor prints them, so each sheet
says how it goes on A4 (orientation, one page wide, repeated title rows and label columns,
header and footer with the period, page numbers and the generation time in the configured
zone), sizes its columns from their content (CJK characters count double), sizes wrapped rows
so that the whole text shows, and declares the configured CJK font with the GB2312 charset
and the theme's East Asian font, so that a machine without that font falls back to a
Simplified Chinese face.

openpyxl objects only; no database. Callers import openpyxl lazily, and so does this module.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.context import Context
from storage.timeutil import local

GB2312 = 134  # the font charset Excel and LibreOffice read as Simplified Chinese
# Number formats the workbooks use, and the text each shows (for column widths: a column
# narrower than its widest shown number prints "###").
SHOWN = {
    "#,##0": lambda v: f"{v:,.0f}",
    "0.0%": lambda v: f"{v * 100:.1f}%",
    "0.00": lambda v: f"{v:,.2f}",
    "0.0": lambda v: f"{v:,.1f}",
}
_COLOUR = re.compile(r"\[[A-Za-z]+\d*\]")
ZONE_LABELS = {"Asia/Shanghai": "北京时间"}


@dataclass(frozen=True)
class Style:
    """How a workbook looks on screen and paper: `[reports] font`, `font_size`, the zone."""

    font: str
    size: float
    tz: ZoneInfo
    generated: datetime

    @property
    def stamp(self) -> str:
        """The generation time as the reader's clock shows it."""
        return stamp(self.generated, self.tz)


def stamp(moment: datetime, tz: ZoneInfo) -> str:
    """A time in the configured zone, named: `2026-11-23 12:00 (北京时间)`."""
    zone = ZONE_LABELS.get(tz.key, tz.key)
    return f"{local(moment, tz):%Y-%m-%d %H:%M} ({zone})"


def style_of(ctx: Context, generated: datetime) -> Style:
    opts = ctx.config.section("reports")
    return Style(
        font=str(opts.get("font", "等线")),
        size=float(opts.get("font_size", 10)),
        tz=ctx.tz,
        generated=generated,
    )


def text_width(text: str) -> int:
    """Width in character cells: wide and full-width (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def shown(value: Any, number_format: str) -> str:
    """The text a cell shows: numbers through their format (sign sections and colours
    included), everything else as its string."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    sections = _COLOUR.sub("", number_format).split(";")
    code = sections[0]
    if value < 0 and len(sections) > 1:
        code, value = sections[1], -value
    elif value == 0 and len(sections) > 2:
        code = sections[2]
    sign = code[0] if code[:1] in "+-" else ""
    render = SHOWN.get(code.lstrip("+-"))
    return sign + (render(value) if render else f"{value:,}")


def font(style: Style, *, bold: bool = False, size: float | None = None, color: Any = None) -> Any:
    from openpyxl.styles import Font

    return Font(
        name=style.font, sz=size or style.size, b=bold, color=color, charset=GB2312, family=2
    )


def declare_font(wb: Any, style: Style) -> None:
    """The theme's East Asian fonts (minor and major) and its Simplified Chinese script
    font become the configured font: Excel's fallback for East Asian text follows them."""
    from openpyxl.writer.theme import theme_xml

    name = style.font.replace("&", "&amp;").replace('"', "&quot;")
    xml = theme_xml.replace('<a:ea typeface=""/>', f'<a:ea typeface="{name}"/>')
    wb.loaded_theme = re.sub(
        r'<a:font script="Hans" typeface="[^"]*"/>',
        f'<a:font script="Hans" typeface="{name}"/>',
        xml,
    ).encode("utf-8")


def apply_font(ws: Any, style: Style) -> None:
    """Every written cell in the configured font (cells already in it keep their size),
    keeping its weight and colour."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None and cell.font.name != style.font:
                cell.font = font(style, bold=bool(cell.font.b), color=cell.font.color)


_TOKEN = re.compile(r"[A-Za-z0-9.,:;%+\-/_()#]+|\s+|.")


def wrapped_lines(text: str, width: float) -> int:
    """Lines a paragraph takes when wrapped at `width` character cells the way spreadsheets
    wrap: after spaces and between CJK characters, a Latin run kept whole unless it alone
    is wider than the line."""
    lines, used = 1, 0.0
    for token in _TOKEN.findall(text):
        w = text_width(token)
        if used + w <= width or (token.isspace() and used):
            used += w
            continue
        if w > width:  # a run longer than a line breaks where the line ends
            rest = used + w
            extra = math.ceil(rest / width) - 1
            lines += extra
            used = rest - extra * width
            continue
        lines += 1
        used = 0.0 if token.isspace() else w
    return lines


def _merged_width(ws: Any) -> dict[str, float]:
    """Top-left coordinate of each merged range → the width of the columns it spans."""
    from openpyxl.utils import get_column_letter

    out = {}
    for rng in ws.merged_cells.ranges:
        out[rng.start_cell.coordinate] = sum(
            ws.column_dimensions[get_column_letter(c)].width or 8.43
            for c in range(rng.min_col, rng.max_col + 1)
        )
    return out


def _merged_cells(ws: Any) -> set[str]:
    return {
        cell
        for rng in ws.merged_cells.ranges
        for row in ws.iter_rows(
            min_row=rng.min_row, max_row=rng.max_row, min_col=rng.min_col, max_col=rng.max_col
        )
        for cell in (c.coordinate for c in row)
    }


def fit_columns(
    ws: Any,
    style: Style,
    *,
    minimum: float = 6,
    maximum: float = 40,
    limits: dict[str, float] | None = None,
) -> None:
    """Column widths from the widest shown line in each column (merged cells excepted),
    between `minimum` and `maximum` (or the column's own limit); wrapped cells beyond it
    wrap, numbers never do (their column is always wide enough)."""
    from openpyxl.utils import get_column_letter

    merged = _merged_cells(ws)
    need: dict[int, float] = {}
    floor: dict[int, float] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None or cell.coordinate in merged:
                continue
            text = shown(cell.value, cell.number_format)
            widest = max(text_width(line) for line in text.split("\n"))
            width = widest * style.size / 10 + 2
            if isinstance(cell.value, int | float):
                floor[cell.column] = max(floor.get(cell.column, 0), width)
            need[cell.column] = max(need.get(cell.column, 0), width)
    for col, width in need.items():
        letter = get_column_letter(col)
        top = (limits or {}).get(letter, maximum)
        ws.column_dimensions[letter].width = round(
            max(minimum, floor.get(col, 0), min(width, top)), 1
        )


def fit_rows(ws: Any, style: Style, *, rows: Iterable[int] | None = None) -> None:
    """Row heights that show every line of wrapped text at the columns' widths."""
    from openpyxl.utils import get_column_letter

    spans = _merged_width(ws)
    line = style.size * 1.5
    wanted = set(rows) if rows is not None else None
    for row in ws.iter_rows():
        if not row or (wanted is not None and row[0].row not in wanted):
            continue
        lines = 1
        for cell in row:
            if cell.value is None or not cell.alignment.wrap_text:
                continue
            width = spans.get(cell.coordinate) or (
                ws.column_dimensions[get_column_letter(cell.column)].width or 8.43
            )
            usable = max(1.0, (width - 1.5) * 10 / style.size)
            text = shown(cell.value, cell.number_format)
            lines = max(lines, sum(wrapped_lines(part, usable) for part in text.split("\n")))
        size = max((c.font.sz or style.size) for c in row)
        ws.row_dimensions[row[0].row].height = round(max(lines * line, size * 1.5) + 3, 1)


def page_setup(
    ws: Any,
    style: Style,
    *,
    title: str,
    period: str,
    landscape: bool,
    tall: int = 0,
    title_rows: str | None = None,
    title_cols: str | None = None,
) -> None:
    """A4, one page wide and `tall` pages high (0: as many as the rows need), with the
    title rows and label columns repeated on every page, and a header and footer naming the
    report, the sheet, the period, the page and when the file was generated."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = tall
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.25
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    for part, text in (
        (ws.oddHeader.left, _literal(title)),
        (ws.oddHeader.center, "&A"),  # the sheet's name
        (ws.oddHeader.right, _literal(period)),
        (ws.oddFooter.left, _literal(f"生成时间 {style.stamp}")),
        (ws.oddFooter.right, "第 &P 页 / 共 &N 页"),
    ):
        part.text = text
        part.size = max(8, round(style.size - 1))
        part.font = f"{style.font},Regular"


def _literal(text: str) -> str:
    """Header text as printed: a lone & starts a field code in headers and footers."""
    return text.replace("&", "&&")
