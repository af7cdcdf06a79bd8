"""The daily digest per supervisor."""

from __future__ import annotations

import pytest

from notifications.digest import compose_digests
from notifications.dispatch import dispatch
from services.context import Context
from tests.factories import accepted, cst
from tests.notifications.conftest import SMTP, WORKING, routing, settings

pytestmark = pytest.mark.clock


@pytest.mark.now(WORKING)  # after the case it registers
def test_each_supervisor_gets_one_digest_a_day_listing_overdue_cases(
    ctx: Context, smtp: SMTP
) -> None:
    number = accepted(ctx, cst(2026, 11, 2, 10, 0))
    morning = cst(2026, 11, 23, 8, 30)
    assert compose_digests(ctx, morning) == 1
    assert compose_digests(ctx, morning) == 0  # once a day
    r = routing(
        f"version: 1\nurls:\n  - {smtp.url(to='wang@example.com')}:\n      - tag: user-supervisor\n"
    )
    # Composed at 08:30, sent when working hours begin.
    assert dispatch(ctx, now=morning, routing=r, settings=settings()).sent == 0
    assert dispatch(ctx, now=cst(2026, 11, 23, 9, 0), routing=r, settings=settings()).sent == 1
    msg = smtp.messages[0]
    assert "每日汇总" in str(msg["Subject"])
    body = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert number in body and "已超时" in body
