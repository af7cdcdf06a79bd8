"""Satisfaction callbacks (回访): alert assignees of due callbacks, escalate overdue ones.

Schedule (Asia/Shanghai): `callback-sweep` every 30 minutes from 08:30 to 18:00 on weekdays
and make-up days alike (the service decides what is due); concurrency 1.
The rules are in services/automatic/callbacks.py."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context
from services.automatic import callbacks


@flow(name="callback-sweep", description="回访到期提醒与逾期升级")
def callback_sweep(database_url: str | None = None) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        result = callbacks.sweep(ctx)
    get_run_logger().info(
        "回访: 到期提醒 %d 件, 逾期升级 %d 件", result["alerted"], result["escalated"]
    )
    return result
