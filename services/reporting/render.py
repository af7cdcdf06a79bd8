"""Render a `services.reporting.reports.Report` as an Excel workbook (summary sheet, one sheet per
breakdown, trend) and a self-contained HTML page (inline CSS and SVG charts, no network).

Rendering only: no database access. openpyxl is imported inside `write_excel` so that the
CLI does not pay for it on other commands.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from services.reporting import charts
from services.reporting.reports import CHANGE_METRICS, DIMENSIONS, METRICS, Report, Row, change

KINDS = {key: kind for key, _, kind in METRICS}
LABELS = {key: label for key, label, _ in METRICS}
DASH = "—"


def fmt(key: str, value: float | None) -> str:
    """Text for a metric value: counts whole, shares as percentages, None as a dash."""
    if value is None:
        return DASH
    kind = KINDS.get(key, "count")
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{value * 100:.1f}%"
    if kind == "ratio":
        return f"{value:,.2f}"
    return f"{value:,.1f}"


def fmt_change(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:+.1f}%"


def _summary_rows(
    rep: Report,
) -> list[tuple[str, str, float | None, float | None, float | None, float | None, float | None]]:
    rows = []
    for key, label, _ in METRICS:
        now, prev, yoy = (rep.summary[key], rep.summary_previous[key], rep.summary_year_ago[key])
        comparable = key in CHANGE_METRICS
        rows.append(
            (
                key,
                label,
                now,
                prev,
                change(now, prev) if comparable else None,
                yoy,
                change(now, yoy) if comparable else None,
            )
        )
    return rows


# ---- Excel -----------------------------------------------------------------------------------


def _cell(ws: Any, row: int, col: int, key: str, value: float | None) -> None:
    cell = ws.cell(row=row, column=col)
    if value is None:
        cell.value = DASH
        return
    cell.value = value
    cell.number_format = {
        "count": "#,##0",
        "share": "0.0%",
        "ratio": "0.00",
        "days": "0.0",
        "score": "0.0",
    }[KINDS.get(key, "count")]


def _change_cell(ws: Any, row: int, col: int, value: float | None) -> None:
    cell = ws.cell(row=row, column=col, value=DASH if value is None else value)
    if value is not None:
        cell.number_format = "+0.0%;-0.0%;0.0%"


def write_excel(rep: Report, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    bold, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F3")
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([f"投诉统计报告 {rep.period.title}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(
        [
            f"统计区间 {rep.period.label}; 上期 {rep.previous.label}; 去年同期 "
            f"{rep.year_ago.label}; 数据截至 {rep.as_of:%Y-%m-%d %H:%M} UTC"
        ]
    )
    ws.append([])
    header = ["指标", "本期", "上期", "环比", "去年同期", "同比"]
    ws.append(header)
    for c in range(1, len(header) + 1):
        ws.cell(row=4, column=c).font, ws.cell(row=4, column=c).fill = bold, head_fill
    for i, (key, label, now, prev, mom, yoy, yoy_change) in enumerate(_summary_rows(rep), 5):
        ws.cell(row=i, column=1, value=label)
        _cell(ws, i, 2, key, now)
        _cell(ws, i, 3, key, prev)
        _change_cell(ws, i, 4, mom)
        _cell(ws, i, 5, key, yoy)
        _change_cell(ws, i, 6, yoy_change)
    r = ws.max_row + 2
    ws.cell(row=r, column=1, value="升级次数(按级别)").font = bold
    for level, count in sorted(rep.escalation_levels.items()):
        r += 1
        ws.cell(row=r, column=1, value=f"第 {level} 级")
        ws.cell(row=r, column=2, value=count)
    for note in rep.notes:
        r += 2
        ws.cell(row=r, column=1, value=f"注: {note}")
    ws.column_dimensions["A"].width = 22
    for col in "BCDEF":
        ws.column_dimensions[col].width = 14
    for dim, title in DIMENSIONS.items():
        sheet = wb.create_sheet(f"按{title}")
        cols = [
            title,
            *(label for _, label, _ in METRICS),
            "上期投诉量",
            "环比",
            "去年同期投诉量",
            "同比",
        ]
        sheet.append(cols)
        for c in range(1, len(cols) + 1):
            cell = sheet.cell(row=1, column=c)
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for i, row in enumerate(rep.breakdowns[dim], 2):
            sheet.cell(row=i, column=1, value=row.label)
            for j, (key, _, _) in enumerate(METRICS, 2):
                _cell(sheet, i, j, key, row.metrics[key])
            base = len(METRICS) + 2
            vol = row.metrics["volume"]
            sheet.cell(row=i, column=base, value=row.previous_volume)
            _change_cell(sheet, i, base + 1, change(vol, row.previous_volume))
            sheet.cell(row=i, column=base + 2, value=row.year_ago_volume)
            _change_cell(sheet, i, base + 3, change(vol, row.year_ago_volume))
        sheet.column_dimensions["A"].width = 20
        sheet.freeze_panes = "B2"
    trend = wb.create_sheet("月度趋势")
    trend.append(["月份", "投诉量", "监管转办量"])
    for c in range(1, 4):
        trend.cell(row=1, column=c).font = bold
    for label, volume, forwarded in rep.trend:
        trend.append([label, volume, forwarded])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# ---- HTML ------------------------------------------------------------------------------------

CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:24px;
color:#222;max-width:1200px}h1{font-size:22px}h2{font-size:17px;border-bottom:2px solid #2f6fb0;
padding-bottom:4px;margin-top:32px}table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#dde7f3}
td:first-child,th:first-child{text-align:left}.up{color:#b03030}.down{color:#2f7d32}
.note{color:#666;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:24px}
.scroll{overflow-x:auto}
"""


def _change_html(value: float | None) -> str:
    if value is None:
        return DASH
    # More complaints is worse: a rise is shown in red.
    cls = "up" if value > 0 else "down" if value < 0 else ""
    return f"<span class='{cls}'>{fmt_change(value)}</span>"


def _breakdown_table(dim: str, rows: list[Row]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label, _ in METRICS)
    out = [
        f"<div class='scroll'><table><tr><th>{escape(DIMENSIONS[dim])}</th>{head}"
        "<th>环比</th><th>同比</th></tr>"
    ]
    for row in rows:
        cells = "".join(f"<td>{fmt(key, row.metrics[key])}</td>" for key, _, _ in METRICS)
        vol = row.metrics["volume"]
        out.append(
            f"<tr><td>{escape(row.label)}</td>{cells}"
            f"<td>{_change_html(change(vol, row.previous_volume))}</td>"
            f"<td>{_change_html(change(vol, row.year_ago_volume))}</td></tr>"
        )
    out.append("</table></div>")
    return "".join(out)


def write_html(rep: Report, path: Path) -> Path:
    s = rep.summary
    parts = [
        f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>投诉统计报告 {escape(rep.period.title)}</title><style>{CSS}</style>"
        f"</head><body><h1>投诉统计报告 {escape(rep.period.title)}</h1>"
        f"<p class='note'>统计区间 {escape(rep.period.label)}; 上期 {escape(rep.previous.label)};"
        f" 去年同期 {escape(rep.year_ago.label)}; 数据截至 {rep.as_of:%Y-%m-%d %H:%M} UTC</p>"
    ]
    parts.append(
        "<h2>一、汇总</h2><table><tr><th>指标</th><th>本期</th><th>上期</th><th>环比</th>"
        "<th>去年同期</th><th>同比</th></tr>"
    )
    for key, label, now, prev, mom, yoy, yoy_change in _summary_rows(rep):
        parts.append(
            f"<tr><td>{escape(label)}</td><td>{fmt(key, now)}</td>"
            f"<td>{fmt(key, prev)}</td><td>{_change_html(mom)}</td>"
            f"<td>{fmt(key, yoy)}</td><td>{_change_html(yoy_change)}</td></tr>"
        )
    parts.append("</table>")
    if rep.escalation_levels:
        levels = ", ".join(f"第 {k} 级 {v} 次" for k, v in sorted(rep.escalation_levels.items()))
        parts.append(f"<p>升级次数(按级别): {escape(levels)}</p>")
    parts += [f"<p class='note'>注: {escape(n)}</p>" for n in rep.notes]
    parts.append("<h2>二、月度趋势</h2>")
    parts.append(charts.trend(rep.trend, title="近 13 个月投诉量与监管转办量"))
    parts.append("<h2>三、时效</h2><div class='charts'>")
    timeliness = [(LABELS[k], s[k] or 0.0) for k in ("accepted_24h", "decided_7", "decided_15")]
    parts.append(
        charts.hbars(timeliness, fmt=lambda v: f"{v * 100:.1f}%", limit=1.0, title="受理与决定时效")
    )
    by_branch = [
        (r.label, r.metrics["avg_decision_days"] or 0.0)
        for r in rep.breakdowns["branch"]
        if r.metrics["volume"]
    ]
    parts.append(charts.hbars(by_branch, fmt=lambda v: f"{v:.1f} 天", title="各机构平均决定天数"))
    parts.append("</div><h2>四、分布</h2><div class='charts'>")
    for dim in ("category", "product", "channel", "branch"):
        items = [
            (r.label, r.metrics["volume"] or 0.0)
            for r in rep.breakdowns[dim]
            if r.metrics["volume"]
        ][:12]
        parts.append(
            charts.hbars(items, fmt=lambda v: f"{v:,.0f}", title=f"按{DIMENSIONS[dim]}投诉量")
        )
    parts.append("</div>")
    for n, (dim, title) in enumerate(DIMENSIONS.items(), 5):
        parts.append(f"<h2>{'五六七八九'[n - 5]}、按{escape(title)}</h2>")
        parts.append(_breakdown_table(dim, rep.breakdowns[dim]))
    parts.append("<p class='note'>指标口径见 docs/reports.md。</p></body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path
