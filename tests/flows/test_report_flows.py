"""The report flows (issue 7) under the session-wide Prefect harness: they pick the period
just ended or the one given, and call services.reporting.files.produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.context import Context
from tests.reports import dataset


@pytest.mark.usefixtures("prefect_harness")
def test_the_monthly_and_quarterly_flows_write_the_files(ctx: Context, tmp_path: Path) -> None:
    from flows.reports import report_monthly, report_quarterly

    dataset.build(ctx)
    url, out = ctx.config.database_url, str(tmp_path / "out")
    month = report_monthly(database_url=url, period="2026-10", out_dir=out)
    assert month["volume"] == 4 and Path(month["excel"]).exists() and month["notified"]
    quarter = report_quarterly(database_url=url, period="2026Q4", out_dir=out)
    assert quarter["period"] == "2026Q4" and Path(quarter["html"]).exists()
