"""Five-dimension case analysis (五维度, docs/rules.md §4) for case reviews (以案促改): consumer
background, complaint content, handling process, rules applied, outcome, plus the root cause
(溯源整改) recorded when the case was closed or settled, with the rectification items opened
from it (services/casefile/rectification.py).

Built from the complaint row and its event log only; personal data stays encrypted (the
background names the complainant's capacity and circumstances, never identity or contact).
Must not import cli/ or flows/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from services.casefile import rectification
from services.context import Context
from services.lifecycle.audit import event_label
from services.lifecycle.registration import CAPACITIES
from services.reporting import paper
from states import lifecycle as lc
from storage import records
from storage.timeutil import from_db, utcnow

# Case reviews (以案促改) read case content: handlers, supervisors and the committee.
ANALYSIS_ROLES = frozenset(
    {lc.Role.liaison, lc.Role.supervisor, lc.Role.committee, lc.Role.coordinator}
)
DIMENSION_COLUMNS = ["投诉编号", *lc.FIVE_DIMENSIONS.values(), "溯源整改"]
FORM_TEXT_WIDTH = 80  # the text column of the printed form: A4 portrait with the labels


def _text(*parts: str | None) -> str:
    """The parts that say something, each once."""
    return "; ".join(dict.fromkeys(p for p in parts if p))


def _entries(*texts: str | None) -> str:
    """Laws and rules cited in several places (the decision's basis, the closing analysis),
    each entry once, in the order first cited."""
    found = (e.strip() for t in texts if t for e in re.split(r"[;；、,，\n]+", t))
    return "; ".join(dict.fromkeys(e for e in found if e))


def analyse(ctx: Context, number: str) -> dict[str, str]:
    """One case as the five dimensions (Chinese headings) plus its root cause."""
    tax = ctx.config.taxonomy
    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        events = [
            dict(e)
            for e in conn.execute(
                select(records.EVENT)
                .where(records.EVENT.c.complaint_id == case["id"])
                .order_by(records.EVENT.c.seq)
            ).mappings()
        ]
        earlier = (
            conn.execute(
                select(func.count())
                .select_from(records.COMPLAINT)
                .where(
                    records.COMPLAINT.c.complainant_hash == case["complainant_hash"],
                    records.COMPLAINT.c.received_at < case["received_at"],
                )
            ).scalar()
            or 0
        )
    by_action: dict[str, dict[str, Any]] = {}
    for e in events:
        by_action[e["action"]] = e["details"] or {}
    closing = by_action.get("close") or by_action.get("settle") or {}
    decision = by_action.get("decide", {})
    received = from_db(case["received_at"])
    assert received is not None

    def when(e: dict[str, Any]) -> str:
        at = from_db(e["at"])
        return at.astimezone(ctx.tz).strftime("%m-%d %H:%M") if at else ""

    steps = []
    for e in events:
        steps.append(f"{when(e)} {event_label(e['action'])}")
    background = _text(
        f"投诉人身份: {CAPACITIES.get(case['complainant_capacity'], '')}",
        "特殊群体消费者(老年/残障)" if case["vulnerable"] else None,
        f"群体投诉 {case['group_size']} 人" if case["group_size"] > 1 else None,
        f"此前投诉 {earlier} 次" if earlier else "首次投诉",
        "监管转办" if case["regulator_forwarded"] else None,
        closing.get("background"),
    )
    content = _text(
        f"{tax.categories.get(case['category'] or '', '未分类')}/"
        f"{tax.products.get(case['product'] or '', '未分类')}",
        f"诉求: {case['claim']}",
        f"事实: {case['facts']}",
        f"涉及金额 {case['amount']:,.2f} 元" if case["amount"] else None,
        closing.get("content"),
    )
    process = _text(" → ".join(steps), closing.get("process"))
    rules = _entries(decision.get("basis"), closing.get("rules"))
    outcome = _text(
        f"当前状态: {lc.State(case['state']).label}",
        decision.get("reasons"),
        closing.get("agreement"),
        closing.get("outcome"),
    )
    values = [
        case["number"],
        background,
        content,
        process,
        rules,
        outcome,
        _text(closing.get("root_cause"), *rectification.summaries(ctx, case["id"])),
    ]
    return dict(zip(DIMENSION_COLUMNS, values, strict=True))


def export(ctx: Context, numbers: list[str], path: Path, *, actor: str) -> Path:
    """A workbook laid out as a form: one sheet per case (named by its number), each
    dimension a labelled field with its whole text wrapped, printed portrait on one page
    wide."""
    from services.reporting.files import authorize

    authorize(ctx, actor, ANALYSIS_ROLES, "导出五维度案例分析")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, PatternFill, Side

    style = paper.style_of(ctx, generated=utcnow())
    wb = Workbook()
    paper.declare_font(wb, style)
    wb.remove(wb.active)
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for number in numbers:
        fields = analyse(ctx, number)
        ws = wb.create_sheet(number[:31])
        ws["A1"] = f"五维度案例分析 {number}"
        ws["A1"].font = paper.font(style, bold=True, size=style.size + 4)
        ws.merge_cells("A1:B1")
        for r, (label, text) in enumerate(list(fields.items())[1:], 3):
            head = ws.cell(row=r, column=1, value=label)
            head.font = paper.font(style, bold=True)
            head.fill = PatternFill("solid", fgColor="DDE7F3")
            head.alignment = Alignment(vertical="top", wrap_text=True)
            cell = ws.cell(row=r, column=2, value=text or "—")
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            head.border = cell.border = box
        paper.apply_font(ws, style)
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = FORM_TEXT_WIDTH
        paper.fit_rows(ws, style)
        paper.page_setup(
            ws,
            style,
            title="五维度案例分析 (以案促改)",
            period=f"投诉编号 {number}",
            landscape=False,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
