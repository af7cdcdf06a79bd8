"""The deadline-sweep flow also runs the rectification ladder
(services/casefile/rectification.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.casefile import rectification as rect
from services.context import Context
from tests import factories as f

pytestmark = pytest.mark.clock


@pytest.mark.usefixtures("prefect_harness")
def test_the_sweep_flow_escalates_an_overdue_rectification_item_once(
    ctx: Context, now: datetime
) -> None:
    from flows.sweep import deadline_sweep

    added = now - timedelta(days=5)
    number = f.accepted(ctx, added - timedelta(days=1))
    due = (now - timedelta(days=3)).astimezone(ctx.tz).date()
    rect.add(
        ctx, number, actor="liaison", what="修订理赔时效", department="claims", due=due, now=added
    )
    url = ctx.config.database_url
    first = deadline_sweep(database_url=url)
    assert (first["rectification_checked"], first["rectification_escalated"]) == (1, 1)
    assert deadline_sweep(database_url=url)["rectification_escalated"] == 0
    [item] = rect.list_items(ctx, actor="liaison", number=number)
    assert item["ladder_level"] == 1
