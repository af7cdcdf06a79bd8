"""`tousu import` and `tousu report` as a user runs them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.context import Context
from tests.cli.conftest import Tousu
from tests.reports import dataset
from tests.reports.test_import import MAPPING, SAMPLE_AT, write_sample


@pytest.mark.now(SAMPLE_AT)
def test_import_reports_counts_and_the_rejects_file(
    ctx: Context, tmp_path: Path, tousu: Tousu
) -> None:
    write_sample(ctx, tmp_path / "legacy.csv", 30)
    result = tousu("import", str(tmp_path / "legacy.csv"), "--mapping", str(MAPPING))
    # Some rows rejected (the rest stored): exit 2, so that a script can tell.
    assert result.exit_code == 2, result.output
    assert "新登记 26" in result.output and "被拒 4" in result.output
    assert str(tmp_path / "legacy.rejects.csv") in result.output
    again = tousu("import", str(tmp_path / "legacy.csv"), "--mapping", str(MAPPING))
    assert "新登记 0, 已导入过 26" in again.output
    assert str(tmp_path / "legacy.rejects-2.csv") in again.output


@pytest.mark.now(dataset.AS_OF)
def test_report_for_a_month_says_where_the_files_are(
    ctx: Context, tmp_path: Path, tousu: Tousu
) -> None:
    dataset.build(ctx)
    result = tousu("report", "--period", "2026-10", user="supervisor")
    assert result.exit_code == 0, result.output
    assert "2026年10月 统计报告已生成 (投诉量 4)" in result.output
    assert (tmp_path / "data" / "reports" / "tousu-report-2026-10.xlsx").exists()
    assert tousu("report", "--period", "2026-13", user="supervisor").exit_code == 2
    assert tousu("report", "--period", "2026-10", user="clerk").exit_code == 3


@pytest.mark.now(dataset.AS_OF)
def test_report_analysis_exports_the_five_dimensions(
    ctx: Context, tmp_path: Path, tousu: Tousu
) -> None:
    numbers = dataset.build(ctx)
    result = tousu(
        "report", "analysis", numbers["A"], "--out", str(tmp_path / "a.xlsx"), user="supervisor"
    )
    assert result.exit_code == 0, result.output
    assert "消费者背景" in result.output and "溯源整改" in result.output
    assert (tmp_path / "a.xlsx").exists()


@pytest.mark.clock
def test_report_without_a_period_is_for_the_month_just_ended_in_beijing(
    ctx: Context, tmp_path: Path, tousu: Tousu, now: datetime
) -> None:
    month = now.astimezone(ctx.tz).date().replace(day=1) - timedelta(days=1)
    result = tousu("report", "--no-notice", user="supervisor")
    assert result.exit_code == 0, result.output
    assert f"{month.year}年{month.month}月 统计报告已生成 (投诉量 0)" in result.output
    assert (tmp_path / "data" / "reports" / f"tousu-report-{month:%Y-%m}.xlsx").exists()
