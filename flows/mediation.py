"""Mediation referrals (调解转介): prepare referrals for cases sent to mediation, follow up
those running past their configured time. Results are recorded by people (services)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context
from services.automatic import mediation


@flow(name="mediation-cycle", description="调解转介准备与超期跟进")
def mediation_cycle(database_url: str | None = None) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        result = mediation.cycle(ctx)
    get_run_logger().info(
        "调解: 准备转介 %d 件, 超期跟进 %d 件", result.prepared, result.followed_up
    )
    return vars(result)
