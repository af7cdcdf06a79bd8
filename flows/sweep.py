"""Deadline sweep (时限巡检): every few minutes, act on the warnings and breaches that fell due.

Safe to overlap and to run on several workers: rows are claimed (SKIP LOCKED on PostgreSQL)
and each (complaint, deadline, level, cycle) is acted on once (services/automatic/escalation.py).
Overdue rectification items climb their own ladder in the same run, each rung once per item
(services/casefile/rectification.py)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context
from services.automatic import escalation
from services.casefile import rectification


@flow(name="deadline-sweep", description="时限预警与超时升级")
def deadline_sweep(database_url: str | None = None, batch: int | None = None) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        result = escalation.sweep(ctx, batch=batch)
        ladder = rectification.sweep(ctx)
    get_run_logger().info(
        "时限巡检: 处理 %d 条, 升级 %d 次, 自动会商 %d 件, 跳过(他人锁定) %d 条",
        result.claimed,
        result.escalated,
        result.convened,
        result.skipped,
    )
    get_run_logger().info("整改逾期: 检查 %d 项, 升级 %d 次", ladder.checked, ladder.escalated)
    return {
        "claimed": result.claimed,
        "escalated": result.escalated,
        "superseded": result.superseded,
        "convened": result.convened,
        "skipped": result.skipped,
        "by_level": dict(result.by_level),
        "rectification_checked": ladder.checked,
        "rectification_escalated": ladder.escalated,
    }
