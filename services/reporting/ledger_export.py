"""Excel export of the repeat/backlog ledger (重复投诉与积案台账), laid out as compliance staff
keep it: a title, the export time, then one row per matter with its owner, counts, dates,
resolution class, measures and status. openpyxl is imported here only, when exporting.

Complainants appear masked (first character only): the file leaves the system's access log.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.automatic import ledger
from services.context import Context
from services.lifecycle import queries
from services.reporting import paper
from states import ledger as rules
from storage.records import COMPLAINT
from storage.timeutil import local, utcnow

HEADERS = (
    "序号",
    "台账编号",
    "投诉人",
    "主投诉编号",
    "全部投诉编号",
    "投诉次数",
    "单独计数件数",
    "监管转办件数",
    "首次投诉日期",
    "最近投诉日期",
    "类型",
    "责任人",
    "化解分类",
    "化解措施",
    "状态",
    "停访息诉日期",
    "会商日期",
    "最近更新",
)
# The widest a column grows (its content decides below that); longer text wraps, and the
# row grows to show all of it.
WIDTHS = (5, 12, 8, 19, 24, 6, 8, 8, 11, 11, 8, 9, 9, 30, 7, 11, 11, 16)


def _mask(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def _day(value: Any, ctx: Context) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{local(value, ctx.tz):%Y-%m-%d}"
    return str(value)


def rows(ctx: Context, *, status: str | None = None) -> list[list[Any]]:
    out: list[list[Any]] = []
    for i, matter in enumerate(ledger.list_matters(ctx, status=status), start=1):
        full = ledger.show(ctx, matter["id"])
        measures = [
            f"{_day(a['at'], ctx)} {a['note']}"
            for a in full["actions"]
            if a["kind"] in ("measure", "consultation")
        ]
        with ctx.engine.connect() as conn:
            party = conn.execute(
                select(COMPLAINT.c.complainant_id).where(
                    COMPLAINT.c.id == matter["master_complaint_id"]
                )
            ).scalar()
        name = queries.decrypt_party(ctx, party).get("name") if party else None
        out.append(
            [
                i,
                matter["code"],
                _mask(name),
                matter["master"],
                "、".join(
                    m["number"] + ("(合并)" if m["relation"] == "merged" else "")
                    for m in full["members"]
                ),
                matter["complaint_count"],
                matter["case_count"],
                matter["regulator_count"],
                _day(matter["first_received_at"], ctx),
                _day(matter["last_received_at"], ctx),
                rules.MATTER_KINDS.get(matter["kind"], matter["kind"]),
                matter["owner"] or "未指定",
                rules.RESOLUTION_CLASSES.get(matter["resolution_class"] or "", "待定"),
                "\n".join(measures),
                rules.MATTER_STATUSES.get(matter["status"], matter["status"]),
                _day(matter["stopped_on"], ctx),
                _day(matter["consulted_at"], ctx),
                f"{local(matter['updated_at'], ctx.tz):%Y-%m-%d %H:%M}",
            ]
        )
    return out


def export(ctx: Context, path: Path | None = None, *, status: str | None = None) -> Path:
    """Write the ledger to an .xlsx file and return its path."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    now = utcnow()
    if path is None:
        folder = Path(ctx.config.section("ledger").get("export_dir", "data/reports"))
        if not folder.is_absolute():
            folder = ctx.config.data_dir.parent / folder
        path = folder / f"台账_{local(now, ctx.tz):%Y%m%d_%H%M}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    style = paper.style_of(ctx, generated=now)
    wb = Workbook()
    paper.declare_font(wb, style)
    ws = wb.active
    ws.title = "重复投诉与积案台账"
    last = get_column_letter(len(HEADERS))
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = "重复投诉与积案台账"
    ws["A1"].font = paper.font(style, bold=True, size=style.size + 4)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = f"导出时间: {style.stamp}"
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, title in enumerate(HEADERS, start=1):
        cell = ws.cell(row=3, column=col, value=title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    for r, values in enumerate(rows(ctx, status=status), start=4):
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            cell.border = border
    ws.freeze_panes = "C4"
    ws.auto_filter.ref = f"A3:{last}{max(3, ws.max_row)}"
    paper.apply_font(ws, style)
    paper.fit_columns(
        ws,
        style,
        minimum=5,
        limits={get_column_letter(c): w for c, w in enumerate(WIDTHS, start=1)},
    )
    paper.fit_rows(ws, style)
    paper.page_setup(
        ws,
        style,
        title="重复投诉与积案台账",
        period=f"导出时间 {style.stamp}",
        landscape=True,
        title_rows="3:3",
        title_cols="A:C",
    )
    wb.save(path)
    return path
