"""Joint consultations (会商): convene 重大 cases, remind before meetings, escalate overdue ones.

Convening by share of the decision deadline happens in the deadline sweep (same index)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context
from services.automatic import consultation


@flow(name="consultation-cycle", description="会商召集、提醒与逾期升级")
def consultation_cycle(database_url: str | None = None) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        result = consultation.cycle(ctx)
    get_run_logger().info(
        "会商: 召集 %d 件, 提醒 %d 件, 逾期升级 %d 件",
        result.convened,
        result.reminded,
        result.escalated,
    )
    return vars(result)
