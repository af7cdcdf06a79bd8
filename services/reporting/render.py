"""Render a `services.reporting.reports.Report` as a self-contained HTML page (inline CSS and
SVG charts, no script, no network) that reads at 1280 px and prints on A4: every change is
coloured by whether it is good news for that metric (`reports.BETTER`), wide breakdowns are
split into narrow tables that keep their labels on one line, and times are in the configured
zone. The workbook is services/reporting/workbook.py.

Rendering only: no database access.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from services.reporting import charts, paper
from services.reporting.reports import (
    BETTER,
    CHANGE_METRICS,
    DIMENSIONS,
    METRICS,
    Report,
    Row,
    change,
)

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


# ---- HTML ------------------------------------------------------------------------------------

# Breakdown tables are split into these groups of columns, so that a 26-column table never
# squeezes its labels at 1280 px or on A4.
GROUPS: list[tuple[str, list[str]]] = [
    ("规模", ["volume", "forwarded", "per_premium", "per_policies", "per_insured", "repeat_rate"]),
    (
        "时效与合规",
        [
            "accepted_24h",
            "avg_decision_days",
            "avg_accepted_decision_days",
            "decided_7",
            "decided_15",
            "beyond_30",
            "beyond_60",
            "backlog",
            "deviation_rate",
        ],
    ),
    (
        "升级、调解与回访",
        [
            "escalations",
            "consultations",
            "mediations",
            "mediation_success",
            "callback_reach",
            "satisfaction",
            "nps",
        ],
    ),
]

CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px auto;
color:#222;max-width:1200px;padding:0 16px}h1{font-size:22px}h2{font-size:17px;
border-bottom:2px solid #2f6fb0;padding-bottom:4px;margin-top:32px}h3{font-size:14px;
margin:16px 0 4px}table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#dde7f3;
word-break:keep-all}td:first-child,th:first-child{text-align:left;white-space:nowrap}
.better{color:#2f7d32}.worse{color:#b03030}.note{color:#666;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:24px}.charts svg{max-width:100%;height:auto}
.wide{overflow-x:auto;max-width:100%}
@media print{@page{size:A4 landscape;margin:12mm}body{max-width:none;margin:0;padding:0;
font-size:10pt}h2{break-after:avoid;page-break-after:avoid}h3{break-after:avoid}
table{break-inside:auto}tr,svg{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}.wide{overflow:visible}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
LEGEND = (
    "环比/同比颜色: 绿色表示向好, 红色表示变差 "
    "(按指标方向: 受理率、满意率等越高越好, 投诉量、偏差率、积案等越低越好)。"
)


def _change_html(value: float | None, key: str = "volume") -> str:
    """A change, green when it is good news for this metric and red when bad (arrows too,
    for a black-and-white printout)."""
    if value is None:
        return DASH
    good = BETTER.get(key, 0) * value
    cls = "better" if good > 0 else "worse" if good < 0 else ""
    arrow = "▲" if value > 0 else "▼" if value < 0 else ""
    return f"<span class='{cls}'>{arrow}{fmt_change(value)}</span>"


def _breakdown_tables(dim: str, rows: list[Row]) -> str:
    """One breakdown as a table per column group, the label column first in each."""
    out = []
    for name, keys in GROUPS:
        head = "".join(f"<th>{escape(LABELS[k])}</th>" for k in keys)
        extra = "<th>环比</th><th>同比</th>" if keys[0] == "volume" else ""
        out.append(
            f"<h3>{escape(name)}</h3><div class='wide'><table><thead><tr>"
            f"<th>{escape(DIMENSIONS[dim])}</th>{head}{extra}</tr></thead><tbody>"
        )
        for row in rows:
            cells = "".join(f"<td>{fmt(k, row.metrics[k])}</td>" for k in keys)
            if extra:
                vol = row.metrics["volume"]
                cells += (
                    f"<td>{_change_html(change(vol, row.previous_volume))}</td>"
                    f"<td>{_change_html(change(vol, row.year_ago_volume))}</td>"
                )
            out.append(f"<tr><td>{escape(row.label)}</td>{cells}</tr>")
        out.append("</tbody></table></div>")
    return "".join(out)


def _rectification_html(got: dict[str, Any]) -> str:
    """整改完成率 by department and by branch, each against the target (以案促改)."""
    target = got["target_rate"]
    out = [
        f"<h2>十、整改完成率</h2><p class='note'>目标 {target * 100:.0f}%; 本期到期的整改事项"
        f"中期末前已完成的占比 (已撤销的不计)。合计: 应完成 {got['total']['due']} 项, "
        f"已完成 {got['total']['done']} 项, 完成率 {_rate(got['total']['rate'])}</p>"
    ]
    for title, lines in (("责任部门", got["by_department"]), ("机构", got["by_branch"])):
        out.append(
            f"<div class='wide'><table><thead><tr><th>{title}</th><th>应完成</th>"
            "<th>已完成</th><th>完成率</th><th>是否达标</th></tr></thead><tbody>"
        )
        for line in lines:
            met = "—" if line["rate"] is None else ("达标" if line["meets_target"] else "未达标")
            cls = "" if line["rate"] is None or line["meets_target"] else " class='worse'"
            out.append(
                f"<tr><td>{escape(line['label'])}</td><td>{line['due']}</td>"
                f"<td>{line['done']}</td><td>{_rate(line['rate'])}</td><td{cls}>{met}</td></tr>"
            )
        out.append("</tbody></table></div>")
    return "".join(out)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def write_html(rep: Report, path: Path, style: paper.Style) -> Path:
    s = rep.summary
    parts = [
        f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>投诉统计报告 {escape(rep.period.title)}</title><style>{CSS}</style>"
        f"</head><body><h1>投诉统计报告 {escape(rep.period.title)}</h1>"
        f"<p class='note'>统计区间 {escape(rep.period.label)}; 上期 {escape(rep.previous.label)};"
        f" 去年同期 {escape(rep.year_ago.label)};"
        f" 数据截至 {escape(paper.stamp(rep.as_of, style.tz))}; 生成时间 {escape(style.stamp)}</p>"
    ]
    parts.append(
        "<h2>一、汇总</h2><table><thead><tr><th>指标</th><th>本期</th><th>上期</th><th>环比</th>"
        "<th>去年同期</th><th>同比</th></tr></thead><tbody>"
    )
    for key, label, now, prev, mom, yoy, yoy_change in _summary_rows(rep):
        parts.append(
            f"<tr><td>{escape(label)}</td><td>{fmt(key, now)}</td>"
            f"<td>{fmt(key, prev)}</td><td>{_change_html(mom, key)}</td>"
            f"<td>{fmt(key, yoy)}</td><td>{_change_html(yoy_change, key)}</td></tr>"
        )
    parts.append(f"</tbody></table><p class='note'>{escape(LEGEND)}</p>")
    if rep.escalation_levels:
        levels = ", ".join(f"第 {k} 级 {v} 次" for k, v in sorted(rep.escalation_levels.items()))
        parts.append(f"<p>升级次数(按级别): {escape(levels)}</p>")
    parts += [f"<p class='note'>注: {escape(n)}</p>" for n in rep.notes]
    parts.append("<h2>二、月度趋势</h2><div class='charts'>")
    parts.append(charts.trend(rep.trend, title=f"近 {len(rep.trend)} 个月投诉量与监管转办量"))
    parts.append("</div><h2>三、时效</h2><div class='charts'>")
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
        parts.append(_breakdown_tables(dim, rep.breakdowns[dim]))
    if rep.rectification is not None:
        parts.append(_rectification_html(rep.rectification))
    parts.append("<p class='note'>指标口径见 docs/reports.md。</p></body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path
