"""The report flows (issue 7) under the session-wide Prefect harness: they pick the period
just ended or the one given, and call services.reporting.files.produce."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.context import Context
from tests.reports import dataset


@pytest.mark.now(dataset.AS_OF)
@pytest.mark.usefixtures("prefect_harness")
def test_the_monthly_and_quarterly_flows_write_the_files(ctx: Context, tmp_path: Path) -> None:
    from flows.reports import report_monthly, report_quarterly

    dataset.build(ctx)
    url, out = ctx.config.database_url, str(tmp_path / "out")
    month = report_monthly(database_url=url, period="2026-10", out_dir=out)
    assert month["volume"] == 4 and Path(month["excel"]).exists() and month["notified"]
    quarter = report_quarterly(database_url=url, period="2026Q4", out_dir=out)
    assert quarter["period"] == "2026Q4" and Path(quarter["html"]).exists()


@pytest.mark.clock
@pytest.mark.usefixtures("prefect_harness")
def test_without_a_period_the_flows_report_the_month_and_quarter_just_ended_in_beijing(
    ctx: Context, tmp_path: Path, now: datetime
) -> None:
    from flows.reports import report_monthly, report_quarterly

    local = now.astimezone(ctx.tz)
    month_before = local.date().replace(day=1) - timedelta(days=1)
    quarter = (local.month - 1) // 3  # the quarter just ended: 0 = Q4 of last year
    quarter_before = f"{local.year}Q{quarter}" if quarter else f"{local.year - 1}Q4"
    url, out = ctx.config.database_url, str(tmp_path / "out")
    assert report_monthly(database_url=url, out_dir=out)["period"] == f"{month_before:%Y-%m}"
    assert report_quarterly(database_url=url, out_dir=out)["period"] == quarter_before
