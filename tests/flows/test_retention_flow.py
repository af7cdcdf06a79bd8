"""The `retention` flow (flows/retention.py, deployment `retention`) erases through the service."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle import queries
from tests import factories as f


@pytest.mark.clock
@pytest.mark.usefixtures("prefect_harness")
def test_the_retention_flow_erases_a_case_withdrawn_more_than_ten_years_ago(
    ctx: Context, now: datetime
) -> None:
    from flows.retention import retention_sweep
    from services.automatic import retention

    received = retention.cutoff(ctx, now).replace(year=2014)  # well past any suite instant
    number = f.registered(ctx, received)
    a.withdraw(ctx, number, actor="clerk", reason="投诉人撤回", at=received.replace(hour=12))
    url = ctx.config.database_url
    assert retention_sweep(database_url=url) == {"erased": [number], "parties": 1}
    assert retention_sweep(database_url=url) == {"erased": [], "parties": 0}
    assert queries.get_complaint(ctx, number)["events"][-1]["action"] == "erase_pii"
