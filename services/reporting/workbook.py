"""The period report as an Excel workbook a supervisor reads on screen and prints: sheet 汇总
(every metric with 环比/同比, escalations by level, notes, and the timeliness table with its
chart), one sheet per breakdown (按投诉类别 … 按处理人; the category and branch sheets with a
volume chart under the table), and 月度趋势 (13 months with its chart beside). Charts are
native Excel charts (openpyxl.chart) drawn from the cells they stand beside; print setup,
widths, heights and the font come from services/reporting/paper.py.

Rendering only: no database access. openpyxl is imported inside `write_excel` so that the
CLI does not pay for it on other commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.reporting import paper
from services.reporting.reports import BETTER, CHANGE_METRICS, DIMENSIONS, METRICS, Report, change

KINDS = {key: kind for key, _, kind in METRICS}
LABELS = {key: label for key, label, _ in METRICS}
DASH = "—"
FORMATS = {"count": "#,##0", "share": "0.0%", "ratio": "0.00", "days": "0.0", "score": "0.0"}
CHANGE = "+0.0%;-0.0%;0.0%"
# A change is green when it is good news for its metric (reports.BETTER), red when bad.
GOOD, BAD = "2F7D32", "B03030"
TIMELINESS = ("accepted_24h", "decided_7", "decided_15")
CHARTED = {"category": "各投诉类别投诉量", "branch": "各机构投诉量"}
HEAD_FILL = "DDE7F3"


def _cell(ws: Any, row: int, col: int, key: str, value: float | None) -> None:
    cell = ws.cell(row=row, column=col)
    if value is None:
        cell.value = DASH
        return
    cell.value = value
    cell.number_format = FORMATS[KINDS.get(key, "count")]


def _change_cell(ws: Any, row: int, col: int, value: float | None, key: str = "volume") -> None:
    from openpyxl.styles import Font

    cell = ws.cell(row=row, column=col, value=DASH if value is None else value)
    if value is None:
        return
    cell.number_format = CHANGE
    good = BETTER.get(key, 0) * value
    if good:
        cell.font = Font(color=GOOD if good > 0 else BAD)


def _head(ws: Any, row: int, values: list[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for col, value in enumerate(values, 1):
        cell = ws.cell(row=row, column=col, value=value)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEAD_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")


def _label(ws: Any, row: int, text: str) -> None:
    """A row label in column A: wrapped when longer than the column, never cut off."""
    from openpyxl.styles import Alignment

    ws.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True, vertical="top")


def _wrap(ws: Any, cell: str) -> None:
    from openpyxl.styles import Alignment

    ws[cell].alignment = Alignment(wrap_text=True, vertical="top")


def _axes(chart: Any, *, title: str, y_title: str, y_format: str = "#,##0") -> Any:
    chart.title = title
    chart.y_axis.title = y_title
    chart.y_axis.numFmt = y_format
    # openpyxl 3.1 marks axes deleted unless told otherwise: Excel then draws no labels.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    return chart


def _summary(wb: Any, rep: Report, style: paper.Style) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    ws = wb.active
    ws.title = "汇总"
    ws["A1"] = f"投诉统计报告 {rep.period.title}"
    ws["A1"].font = paper.font(style, bold=True, size=style.size + 4)
    ws["A2"] = (
        f"统计区间 {rep.period.label}; 上期 {rep.previous.label}; 去年同期 "
        f"{rep.year_ago.label}; 数据截至 {paper.stamp(rep.as_of, style.tz)}"
    )
    ws.merge_cells("A2:F2")
    _wrap(ws, "A2")
    _head(ws, 4, ["指标", "本期", "上期", "环比", "去年同期", "同比"])
    for i, (key, label, _) in enumerate(METRICS, 5):
        now, prev, yoy = (rep.summary[key], rep.summary_previous[key], rep.summary_year_ago[key])
        comparable = key in CHANGE_METRICS
        _label(ws, i, label)
        _cell(ws, i, 2, key, now)
        _cell(ws, i, 3, key, prev)
        _change_cell(ws, i, 4, change(now, prev) if comparable else None, key)
        _cell(ws, i, 5, key, yoy)
        _change_cell(ws, i, 6, change(now, yoy) if comparable else None, key)
    r = ws.max_row + 2
    ws.cell(row=r, column=1, value="升级次数(按级别)").font = Font(bold=True)
    for level, count in sorted(rep.escalation_levels.items()):
        r += 1
        ws.cell(row=r, column=1, value=f"第 {level} 级")
        ws.cell(row=r, column=2, value=count).number_format = FORMATS["count"]
    for note in rep.notes:
        r += 2
        ws.cell(row=r, column=1, value=f"注: {note}")
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=6)
        _wrap(ws, f"A{r}")
    # The timeliness table and its chart (本期, 上期, 去年同期 of the three shares).
    top = r + 2
    _head(ws, top, ["时效", "本期", "上期", "去年同期"])
    for i, key in enumerate(TIMELINESS, top + 1):
        _label(ws, i, LABELS[key])
        for col, source in enumerate((rep.summary, rep.summary_previous, rep.summary_year_ago), 2):
            _cell(ws, i, col, key, source[key])
    chart = _axes(BarChart(), title="受理与决定时效", y_title="占比", y_format="0%")
    chart.type = "col"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.add_data(
        Reference(ws, min_col=2, max_col=4, min_row=top, max_row=top + len(TIMELINESS)),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(TIMELINESS)))
    chart.width, chart.height = 16, 7
    ws.add_chart(chart, f"A{top + len(TIMELINESS) + 2}")
    ws.freeze_panes = "B5"
    paper.apply_font(ws, style)
    paper.fit_columns(ws, style, minimum=10, limits={"A": 30})  # labels on one line
    paper.fit_rows(ws, style)
    paper.page_setup(
        ws,
        style,
        title=f"投诉统计报告 {rep.period.title}",
        period=f"统计区间 {rep.period.label}",
        landscape=False,
        tall=1,
        title_rows="4:4",
    )


def _breakdown(wb: Any, rep: Report, dim: str, title: str, style: paper.Style) -> None:
    from openpyxl.chart import BarChart, Reference

    ws = wb.create_sheet(f"按{title}")
    _head(
        ws,
        1,
        [
            title,
            *(label for _, label, _ in METRICS),
            "上期投诉量",
            "环比",
            "去年同期投诉量",
            "同比",
        ],
    )
    rows = rep.breakdowns[dim]
    base = len(METRICS) + 2
    for i, row in enumerate(rows, 2):
        _label(ws, i, row.label)
        for j, (key, _, _) in enumerate(METRICS, 2):
            _cell(ws, i, j, key, row.metrics[key])
        vol = row.metrics["volume"]
        ws.cell(row=i, column=base, value=row.previous_volume).number_format = FORMATS["count"]
        _change_cell(ws, i, base + 1, change(vol, row.previous_volume))
        ws.cell(row=i, column=base + 2, value=row.year_ago_volume).number_format = FORMATS["count"]
        _change_cell(ws, i, base + 3, change(vol, row.year_ago_volume))
    ws.freeze_panes = "B2"
    paper.apply_font(ws, style)
    # Narrow metric columns (their headings wrap) keep 26 columns legible on one landscape page.
    paper.fit_columns(ws, style, minimum=7, maximum=8, limits={"A": 24})
    if dim in CHARTED and rows:
        chart = _axes(BarChart(), title=CHARTED[dim], y_title="投诉量")
        chart.type = "bar"  # horizontal: long names stay readable
        chart.x_axis.scaling.orientation = "maxMin"  # the largest first, as in the table
        chart.add_data(
            Reference(ws, min_col=2, min_row=1, max_row=len(rows) + 1), titles_from_data=True
        )
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(rows) + 1))
        chart.y_axis.crosses = "max"  # the value axis below the reversed categories
        chart.legend = None
        chart.width, chart.height = 22, max(7.0, 2.0 + 0.8 * len(rows))
        ws.add_chart(chart, f"B{len(rows) + 3}")
    paper.fit_rows(ws, style)
    paper.page_setup(
        ws,
        style,
        title=f"投诉统计报告 {rep.period.title}",
        period=f"统计区间 {rep.period.label}",
        landscape=True,
        title_rows="1:1",
        title_cols="A:A",
    )


def _trend(wb: Any, rep: Report, style: paper.Style) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference

    ws = wb.create_sheet("月度趋势")
    _head(ws, 1, ["月份", "投诉量", "监管转办量"])
    for i, (label, volume, forwarded) in enumerate(rep.trend, 2):
        ws.cell(row=i, column=1, value=label)
        ws.cell(row=i, column=2, value=volume).number_format = FORMATS["count"]
        ws.cell(row=i, column=3, value=forwarded).number_format = FORMATS["count"]
    last = len(rep.trend) + 1
    bars = _axes(BarChart(), title=f"近 {len(rep.trend)} 个月投诉量与监管转办量", y_title="件")
    bars.add_data(Reference(ws, min_col=2, min_row=1, max_row=last), titles_from_data=True)
    line = LineChart()
    line.add_data(Reference(ws, min_col=3, min_row=1, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    bars += line  # the forwarded volume as a line over the same axes
    bars.width, bars.height = 20, 10
    ws.add_chart(bars, "E2")
    ws.freeze_panes = "A2"
    paper.apply_font(ws, style)
    paper.fit_columns(ws, style, minimum=10)
    paper.fit_rows(ws, style, rows=[1])
    paper.page_setup(
        ws,
        style,
        title=f"投诉统计报告 {rep.period.title}",
        period=f"统计区间 {rep.period.label}",
        landscape=True,
        tall=1,
        title_rows="1:1",
    )


def _rectification(wb: Any, rep: Report, style: paper.Style) -> None:
    """整改完成率 by department and by branch against the target (以案促改)."""
    got = rep.rectification
    if got is None:
        return
    ws = wb.create_sheet("整改完成率")
    target = got["target_rate"]
    ws["A1"] = (
        f"整改完成率 (目标 {target:.0%}): 本期到期的整改事项中期末前已完成的占比, 已撤销的不计"
    )
    row = 3
    for title, lines in (
        ("责任部门", got["by_department"]),
        ("机构", got["by_branch"]),
        ("合计", [got["total"]]),
    ):
        _head(ws, row, [title, "应完成", "已完成", "完成率", "是否达标"])
        for line in lines:
            row += 1
            rate = line["rate"]
            ws.cell(row=row, column=1, value=line["label"])
            ws.cell(row=row, column=2, value=line["due"]).number_format = FORMATS["count"]
            ws.cell(row=row, column=3, value=line["done"]).number_format = FORMATS["count"]
            shown = DASH if rate is None else rate
            ws.cell(row=row, column=4, value=shown).number_format = FORMATS["share"]
            met = DASH if rate is None else ("达标" if line["meets_target"] else "未达标")
            ws.cell(row=row, column=5, value=met)
        row += 2
    ws.freeze_panes = "A2"
    paper.apply_font(ws, style)
    paper.fit_columns(ws, style, minimum=10, limits={"A": 24})
    paper.fit_rows(ws, style)
    paper.page_setup(
        ws,
        style,
        title=f"投诉统计报告 {rep.period.title}",
        period=f"统计区间 {rep.period.label}",
        landscape=True,
        title_rows="1:1",
    )


def write_excel(rep: Report, path: Path, style: paper.Style) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    paper.declare_font(wb, style)
    _summary(wb, rep, style)
    for dim, title in DIMENSIONS.items():
        _breakdown(wb, rep, dim, title, style)
    _trend(wb, rep, style)
    _rectification(wb, rep, style)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
