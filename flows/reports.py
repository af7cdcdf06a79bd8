"""Period reports on schedule: `report-monthly` on the 1st at 06:00 for the month just ended,
`report-quarterly` on the 1st of January/April/July/October at 06:30 for the quarter just
ended (Asia/Shanghai). Each writes the workbook and HTML page and tells the supervisors.
The metrics and files are services/reporting/reports.py and services/reporting/files.py;
any period by hand is `tousu report`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context
from services.reporting import periods
from services.reporting.files import produce
from storage.timeutil import utcnow


def _run(
    kind: str, database_url: str | None, period: str | None, out_dir: str | None
) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        today = utcnow().astimezone(ctx.tz).date()
        if kind == "month":
            chosen = periods.parse_month(period) if period else periods.last_full_month(today)
        else:
            chosen = periods.parse_quarter(period) if period else periods.last_full_quarter(today)
        done = produce(ctx, chosen, actor="system", out_dir=Path(out_dir) if out_dir else None)
    get_run_logger().info(
        "统计报告 %s: 投诉量 %d; %s; %s", done.period, done.volume, done.excel, done.html
    )
    return {
        "period": done.period,
        "excel": str(done.excel),
        "html": str(done.html),
        "volume": done.volume,
        "notified": done.notified,
    }


@flow(name="report-monthly", description="月度投诉统计报告 (Excel + HTML), 通知主管")
def report_monthly(
    database_url: str | None = None, period: str | None = None, out_dir: str | None = None
) -> dict[str, Any]:
    return _run("month", database_url, period, out_dir)


@flow(name="report-quarterly", description="季度投诉统计报告 (Excel + HTML), 通知主管")
def report_quarterly(
    database_url: str | None = None, period: str | None = None, out_dir: str | None = None
) -> dict[str, Any]:
    return _run("quarter", database_url, period, out_dir)
