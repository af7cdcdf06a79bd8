"""Workbooks laid out for paper, read back with openpyxl: native charts beside the tables they
draw, print setup (A4, orientation, one page wide, repeated titles, header and footer with
the period and the generation time in Beijing time), widths that fit every shown number,
rows tall enough for their wrapped text, frozen panes, and the configured CJK font."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from services.automatic import ledger
from services.context import Context, open_context
from services.lifecycle import actions as a
from services.reporting import case_analysis, ledger_export, paper, reports
from services.reporting.files import Produced
from services.reporting.periods import parse_month
from services.reporting.workbook import write_excel
from tests.conftest import make_config
from tests.factories import ANALYSIS, cst, notified
from tests.reports import dataset

pytestmark = pytest.mark.now(dataset.AS_OF)
SHEETS = ["汇总", "按投诉类别", "按产品", "按渠道", "按机构", "按处理人", "月度趋势", "整改完成率"]


def test_cjk_characters_count_double_and_numbers_show_through_their_format() -> None:
    assert paper.text_width("投诉ab") == 6 and paper.text_width("２４") == 4
    assert paper.shown(0.6667, "0.0%") == "66.7%"
    assert paper.shown(-0.25, "+0.0%;-0.0%;0.0%") == "-25.0%"
    assert paper.shown(12345.0, "#,##0") == "12,345"
    assert paper.wrapped_lines("中文" * 10, 10) == 4
    assert paper.wrapped_lines("TS202610050000001、TS202610050000002", 22) == 2


def test_the_report_draws_four_native_charts_from_the_cells_beside_them(
    produced: tuple[Produced, dict[str, str]],
) -> None:
    with zipfile.ZipFile(produced[0].excel) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 4
    drawn = sorted({s for c in charts for s in re.findall(r"<(?:c:)?f>'?([^'!<]+)'?!", c)})
    assert drawn == ["按投诉类别", "按机构", "月度趋势", "汇总"]


def test_every_sheet_is_set_up_for_a4_one_page_wide_with_titles_header_and_footer(
    produced: tuple[Produced, dict[str, str]],
) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(produced[0].excel)
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.page_setup.orientation == ("portrait" if ws.title == "汇总" else "landscape")
        assert ws.oddHeader.right.text == "统计区间 2026-10" and ws.oddHeader.center.text == "&A"
        assert re.fullmatch(r"生成时间 2026-11-23 12:\d\d \(北京时间\)", ws.oddFooter.left.text)
        assert "&P" in ws.oddFooter.right.text and ws.freeze_panes
    assert wb["按机构"].print_title_rows == "$1:$1" and wb["按机构"].print_title_cols == "$A:$A"
    assert wb["汇总"].page_setup.fitToHeight == 1 and wb["按处理人"].page_setup.fitToHeight == 0


def long_report(ctx: Context) -> reports.Report:
    """October's report with 120 handlers, each with a seven-digit volume and a change of
    over a million per cent: long pages and the widest numbers a breakdown shows."""
    dataset.build(ctx)
    rep = reports.build(ctx, parse_month("2026-10"), as_of=dataset.AS_OF)
    one = rep.breakdowns["handler"][0]
    rep.breakdowns["handler"] = [
        replace(
            one,
            key=f"h{i}",
            label=f"处理人{i:03d}",
            metrics={**one.metrics, "volume": 1_234_567.0 + i},
            previous_volume=1,
            year_ago_volume=3,
        )
        for i in range(120)
    ]
    return rep


def test_no_column_is_narrower_than_the_numbers_it_shows(ctx: Context, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_excel(long_report(ctx), tmp_path / "long.xlsx", paper.style_of(ctx, dataset.AS_OF))
    for ws in load_workbook(path).worksheets:
        # The widths the file sets (<col min max width>); any other column is the default 8.43.
        widths = {
            i: d.width for d in ws.column_dimensions.values() for i in range(d.min, d.max + 1)
        }
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, int | float):
                    shown = paper.shown(cell.value, cell.number_format)
                    width = widths.get(cell.column, 8.43)
                    assert width >= paper.text_width(shown) + 1, (ws.title, cell.coordinate)


def test_a_label_longer_than_its_column_wraps_onto_a_row_tall_enough_for_it(
    ctx: Context, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    rep = long_report(ctx)
    rep.breakdowns["handler"][0].label = "华东区域理赔服务中心第三业务部客户经理王某某"  # 44 cells
    path = write_excel(rep, tmp_path / "long.xlsx", paper.style_of(ctx, dataset.AS_OF))
    ws = load_workbook(path)["按处理人"]
    label = ws["A2"]
    assert label.alignment.wrap_text and ws.column_dimensions["A"].width < 44
    assert ws.row_dimensions[2].height >= 2 * 10 * 1.5  # two lines at 10 pt


def test_every_cell_declares_the_configured_cjk_font_with_the_simplified_chinese_charset(
    produced: tuple[Produced, dict[str, str]],
) -> None:
    from openpyxl import load_workbook

    path = produced[0].excel
    for ws in load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    assert (cell.font.name, cell.font.charset) == ("等线", 134), cell.coordinate
    with zipfile.ZipFile(path) as z:
        theme = z.read("xl/theme/theme1.xml").decode()
    assert theme.count('<a:ea typeface="等线"/>') == 2
    assert '<a:font script="Hans" typeface="等线"/>' in theme


def test_the_font_is_configurable(tmp_path: Path) -> None:
    config = make_config(tmp_path, TOUSU__REPORTS__FONT="微软雅黑", TOUSU__REPORTS__FONT_SIZE="11")
    context = open_context(config)
    style = paper.style_of(context, generated=dataset.AS_OF)
    context.close()
    assert (style.font, style.size) == ("微软雅黑", 11.0)


def test_the_ledger_export_wraps_its_measures_and_shows_every_line(
    ctx: Context, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    matter = _matter_with_measures(ctx)
    ws = load_workbook(ledger_export.export(ctx, tmp_path / "tz.xlsx")).active
    header = [c.value for c in ws[3]]
    measures = ws.cell(row=4, column=header.index("化解措施") + 1)
    assert measures.value.count("\n") == 2 and measures.alignment.wrap_text
    assert ws.row_dimensions[4].height >= 3 * 10 * 1.5  # three lines at 10 pt
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$3:$3"
    assert ws.cell(row=4, column=2).value == matter


def test_the_five_dimension_analysis_cites_each_law_once(ctx: Context, now) -> None:  # type: ignore[no-untyped-def]
    number = notified(ctx, cst(2026, 10, 8, 9))  # decided on the basis 保险合同第五条
    a.close(
        ctx,
        number,
        actor="liaison",
        **{**ANALYSIS, "rules": "保险合同第五条；保险法第二十三条、保险合同第五条"},
        root_cause="条款",
        at=cst(2026, 10, 12, 9),
    )
    rules = case_analysis.analyse(ctx, number)["相关法律法规"]
    assert rules == "保险合同第五条; 保险法第二十三条"


def _matter_with_measures(ctx: Context) -> str:
    """A repeat matter (three complaints by one person on one policy) with three measures."""
    t = cst(2026, 10, 1, 10)
    for day in range(3):
        notified(ctx, t + timedelta(days=day))
    code = ledger.list_matters(ctx)[0]["code"]
    for note in ("电话解释条款", "上门走访, 说明理赔依据与时限", "协商补偿方案"):
        ledger.update_matter(ctx, code, actor="supervisor", measure="explain", note=note)
    return str(code)
