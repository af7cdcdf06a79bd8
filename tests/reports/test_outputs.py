"""Report files: the workbook reloads, the HTML is self-contained, the supervisors get one
outbox notice, and the five-dimension export (printing: test_print.py, test_html.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from services.context import Context
from services.reporting import case_analysis
from services.reporting.files import produce
from services.reporting.periods import parse_month
from storage import records
from tests.reports import dataset

pytestmark = pytest.mark.now(dataset.AS_OF)  # the dataset is October 2026, reported on 23 November


def test_files_land_in_the_configured_reports_directory(produced, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = produced
    assert out.excel == tmp_path / "data" / "reports" / "tousu-report-2026-10.xlsx"
    assert out.excel.exists() and out.html.exists() and out.volume == 4


def test_the_workbook_has_a_summary_and_a_sheet_per_breakdown(produced) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    out, _ = produced
    wb = load_workbook(out.excel)
    assert wb.sheetnames == [
        "汇总",
        "按投诉类别",
        "按产品",
        "按渠道",
        "按机构",
        "按处理人",
        "月度趋势",
        "整改完成率",
    ]
    summary = {
        row[0]: row[1:] for row in wb["汇总"].iter_rows(min_row=5, values_only=True) if row[0]
    }
    assert summary["投诉量"][:4] == (4, 1, 3.0, 1)
    assert summary["24 小时受理率"][0] == pytest.approx(2 / 3)
    assert summary["亿元保费投诉量"][0] == pytest.approx(4 / 3)


def test_the_html_report_is_self_contained_with_inline_charts(produced) -> None:  # type: ignore[no-untyped-def]
    out, _ = produced
    page = out.html.read_text(encoding="utf-8")
    assert page.count("<svg") >= 6
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert "<script" not in page and "@import" not in page
    assert "投诉统计报告 2026年10月" in page and "制度执行偏差率" in page


def test_supervisors_get_one_report_ready_notice(produced, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    out, _ = produced
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(records.OUTBOX).where(records.OUTBOX.c.kind == "report_ready")
        ).all()
    assert len(rows) == 1 and out.notified
    assert rows[0].audience == "role:supervisor"
    assert rows[0].payload["excel"] == str(out.excel)
    assert rows[0].payload["figures"]["volume"] == out.volume


def test_the_five_dimension_export_takes_the_closing_analysis(
    produced,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    ctx: Context,
) -> None:
    from openpyxl import load_workbook

    _, numbers = produced
    row = case_analysis.analyse(ctx, numbers["A"])
    assert "退休教师" in row["消费者背景"] and "理赔时效" in row["投诉内容"]
    assert "受理" in row["处理过程"] and "办结" in row["处理过程"]
    assert "保险法第二十三条" in row["相关法律法规"] and "补足赔款" in row["处理结果"]
    assert row["溯源整改"] == "流程"
    path = case_analysis.export(
        ctx, [numbers["A"], numbers["E"]], tmp_path / "a.xlsx", actor="committee"
    )
    wb = load_workbook(path)
    assert wb.sheetnames == [numbers["A"], numbers["E"]]
    form = {r[0]: r[1] for r in wb[numbers["E"]].iter_rows(min_row=3, values_only=True)}
    assert list(form) == case_analysis.DIMENSION_COLUMNS[1:]
    assert form["处理结果"] == case_analysis.analyse(ctx, numbers["E"])["处理结果"]


def test_an_intake_clerk_may_not_produce_reports_or_case_reviews(
    ctx: Context, tmp_path: Path
) -> None:
    from states.errors import Forbidden

    with pytest.raises(Forbidden):
        produce(ctx, parse_month("2026-10"), actor="clerk")
    with pytest.raises(Forbidden):
        case_analysis.export(ctx, [], tmp_path / "a.xlsx", actor="clerk")
