"""The ledger (台账): nightly refresh and the weekly summary to supervisors.

Schedules (Asia/Shanghai): `ledger-nightly` 02:00 daily, `ledger-weekly` Monday 08:30; both
concurrency 1. The rules are in services/automatic/ledger.py."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context
from services.automatic import ledger


@flow(name="ledger-nightly", description="台账夜间刷新: 积案认定、计数、责任人、提请会商")
def ledger_nightly(database_url: str | None = None) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        result = ledger.refresh(ctx)
    get_run_logger().info(
        "台账: 新认定积案 %d 项, 在办 %d 项, 提请会商 %d 件, 待会商 %d 项",
        result["backlog_new"],
        result["matters"],
        len(result["consulted"]),
        result["consult_pending"],
    )
    return result


@flow(name="ledger-weekly", description="台账周报: 发送主管")
def ledger_weekly(database_url: str | None = None) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        result = ledger.weekly_summary(ctx)
    get_run_logger().info(
        "台账周报 %s: 在办 %d 项%s",
        result["week"],
        result["open"],
        "" if result["queued"] else " (本周已发送)",
    )
    return result
