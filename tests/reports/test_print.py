"""Printed as a supervisor prints them: each workbook converted to PDF by real LibreOffice
headless, then read back with pdftotext: the pages each sheet takes are what its print setup
promises (one page wide, with the title row and label column on every page), the Chinese
headings and chart titles are in the text layer, no number prints as ###, and wrapped text
shows every line. Skipped with a message where LibreOffice or poppler cannot be installed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from services.context import Context
from services.reporting import case_analysis, ledger_export, paper
from services.reporting.files import Produced
from services.reporting.workbook import write_excel
from tests.reports import dataset
from tests.reports.test_paper import SHEETS, _matter_with_measures, long_report

pytestmark = pytest.mark.now(dataset.AS_OF)
Pdf = Callable[[Path], list[str]]


def _sheet_of(page: str, names: list[str]) -> str:
    """The sheet a page belongs to: its name is the centre of every page's header."""
    header = next(line for line in page.splitlines() if line.strip())
    found = [name for name in names if name in header.split()]
    assert len(found) == 1, header
    return found[0]


def test_each_report_sheet_prints_on_one_page_with_its_headings_and_charts(
    produced: tuple[Produced, dict[str, str]], to_pdf: Pdf
) -> None:
    pages = to_pdf(produced[0].excel)
    assert Counter(_sheet_of(p, SHEETS) for p in pages) == dict.fromkeys(SHEETS, 1)
    text = "\n".join(pages)
    for heading in (
        "投诉统计报告 2026年10月",
        "24 小时受理率",
        "制度执行偏差率",
        "去年同期",
        "同比",
        "受理与决定时效",  # the chart titles: the charts were drawn
        "各投诉类别投诉量",
        "各机构投诉量",
        "近 13 个月投诉量与监管转办量",
    ):
        assert heading in text, heading
    assert "###" not in text
    assert re.search(r"生成时间 2026-11-23 12:\d\d \(北京时间\)", pages[0])
    assert "UTC" not in text


def test_a_long_breakdown_repeats_its_title_row_and_labels_on_every_page_one_page_wide(
    ctx: Context, to_pdf: Pdf, tmp_path: Path
) -> None:
    rep = long_report(ctx)
    path = write_excel(rep, tmp_path / "long.xlsx", paper.style_of(ctx, dataset.AS_OF))
    pages = [p for p in to_pdf(path) if _sheet_of(p, SHEETS) == "按处理人"]
    assert len(pages) >= 2
    for page in pages:
        # The heading row (first and last column) on every page: one page wide, titles kept.
        assert "处理人" in page.split("\n", 3)[-1] and "同比" in page and "投诉量" in page
    shown = [label for page in pages for label in re.findall(r"处理人\d{3}", page)]
    assert sorted(shown) == [f"处理人{i:03d}" for i in range(120)]
    assert "+123,456,600.0%" in pages[0] or "+123456600.0%" in pages[0]
    assert "###" not in "".join(pages)


def test_the_ledger_prints_one_page_wide_with_its_title_and_every_measure_line(
    ctx: Context, to_pdf: Pdf, tmp_path: Path
) -> None:
    _matter_with_measures(ctx)
    pages = to_pdf(ledger_export.export(ctx, tmp_path / "台账.xlsx"))
    assert len(pages) == 1
    text = pages[0]
    assert "重复投诉与积案台账" in text and "化解措施" in text and "停访息诉日期" in text
    # Each measure is a line of its cell; the wrapped one's start and end both print (pdftotext
    # interleaves the neighbouring cells' lines between them).
    for start, end in (
        ("电话解释", "解释条款"),
        ("上门走访", "依据与时限"),
        ("协商补偿", "补偿方案"),
    ):
        assert start in text and end in text, end


def test_the_five_dimension_analysis_prints_each_case_as_a_form_on_its_own_page(
    produced: tuple[Produced, dict[str, str]], ctx: Context, to_pdf: Pdf, tmp_path: Path
) -> None:
    numbers = produced[1]
    cases = [numbers["A"], numbers["E"]]
    pages = to_pdf(case_analysis.export(ctx, cases, tmp_path / "cases.xlsx", actor="committee"))
    assert [_sheet_of(p, cases) for p in pages] == cases
    for page, number in zip(pages, cases, strict=True):
        flat = re.sub(r"\s+", "", page)
        for label in case_analysis.DIMENSION_COLUMNS[1:]:
            assert label in flat
        whole = case_analysis.analyse(ctx, number)["处理过程"]
        assert re.sub(r"\s+", "", whole) in flat  # the whole process, wrapped, nothing cut
