"""`tousu import` and `tousu report` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from services.context import Context
from tests.cli.conftest import Tousu, cli_env, tousu  # noqa: F401  (fixtures)
from tests.reports import dataset
from tests.reports.test_import import MAPPING, write_sample


def test_import_reports_counts_and_the_rejects_file(
    ctx: Context, tmp_path: Path, tousu: Tousu
) -> None:  # noqa: F811
    write_sample(ctx, tmp_path / "legacy.csv", 30)
    result = tousu("import", str(tmp_path / "legacy.csv"), "--mapping", str(MAPPING))
    assert result.exit_code == 0, result.output
    assert "新登记 26" in result.output and "被拒 4" in result.output
    assert "legacy.rejects.csv" in result.output
    again = tousu("import", str(tmp_path / "legacy.csv"), "--mapping", str(MAPPING))
    assert "新登记 0, 已导入过 26" in again.output


def test_report_for_a_month_says_where_the_files_are(
    ctx: Context, tmp_path: Path, tousu: Tousu
) -> None:  # noqa: F811
    dataset.build(ctx)
    result = tousu("report", "--period", "2026-10", user="supervisor")
    assert result.exit_code == 0, result.output
    assert "2026年10月 统计报告已生成 (投诉量 4)" in result.output
    assert (tmp_path / "data" / "reports" / "tousu-report-2026-10.xlsx").exists()
    assert tousu("report", "--period", "2026-13", user="supervisor").exit_code == 2
    assert tousu("report", "--period", "2026-10", user="clerk").exit_code == 3


def test_report_analysis_exports_the_five_dimensions(
    ctx: Context, tmp_path: Path, tousu: Tousu
) -> None:  # noqa: F811
    numbers = dataset.build(ctx)
    result = tousu(
        "report", "analysis", numbers["A"], "--out", str(tmp_path / "a.xlsx"), user="supervisor"
    )
    assert result.exit_code == 0, result.output
    assert "消费者背景" in result.output and "溯源整改" in result.output
    assert (tmp_path / "a.xlsx").exists()
