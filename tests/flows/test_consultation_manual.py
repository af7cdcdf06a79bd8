"""A consultation asked for by a person is a consultation, and its invitations reach a shared
mailbox once (issue 14, "History and the outbox")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from notifications.dispatch import dispatch
from services.automatic import consultation
from services.context import Context
from storage import records
from tests import factories as f
from tests.cli.conftest import Tousu
from tests.notifications.conftest import SMTP, routing, settings

pytestmark = pytest.mark.clock


def test_tousu_consult_creates_a_consultation_with_invitations_that_the_cycle_follows(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = f.accepted(ctx, now - timedelta(days=2))
    r = tousu(
        "consult",
        number,
        "--reason",
        "疑难投诉",
        "--department",
        "claims",
        "--department",
        "legal",
        user="liaison",
    )
    assert r.exit_code == 0, r.output
    [k] = consultation.consultations_of(ctx, number)
    assert k["reason_code"] == "manual" and k["status"] == "convened"
    assert k["departments"] == ["claims", "legal"] and k["convened_by"] == "liaison"
    with ctx.engine.connect() as conn:
        invites = (
            conn.execute(
                select(records.OUTBOX.c.audience).where(
                    records.OUTBOX.c.kind == "consultation_invite"
                )
            )
            .scalars()
            .all()
        )
    assert sorted(invites) == ["dept:claims", "dept:legal"]
    # The cycle sees it: reminded before its meeting.
    meeting = k["meeting_at"]
    assert consultation.cycle(ctx, now=meeting - timedelta(hours=1)).reminded == 1


def test_an_automatic_consultation_is_still_recorded_once(ctx: Context, now: datetime) -> None:
    number = f.accepted(ctx, now - timedelta(days=2))
    with ctx.transaction() as conn:
        consultation.convene_for(
            ctx, number, "重复投诉 3 次未化解", reason_code="repeat", key="m1", conn=conn
        )
    assert len(consultation.consultations_of(ctx, number)) == 1


@pytest.mark.now(datetime.fromisoformat("2026-11-23T10:00:00+08:00"))
def test_five_departments_sharing_one_mailbox_get_one_invitation(
    ctx: Context, smtp: SMTP, now: datetime
) -> None:
    number = f.accepted(ctx, now - timedelta(days=2))
    consultation.convene(ctx, number, actor="liaison", reason="疑难投诉")
    depts = consultation.settings(ctx)["departments"]
    assert len(depts) == 5
    tags = ", ".join(f"dept-{d}" for d in depts)
    shared = routing(f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: {tags}\n")
    report = dispatch(ctx, now=now + timedelta(minutes=1), routing=shared, settings=settings())
    assert report.sent == 1 and len(smtp.messages) == 1
    assert "会商" in str(smtp.messages[0]["Subject"])
    with ctx.engine.connect() as conn:
        statuses = sorted(
            conn.execute(
                select(records.OUTBOX.c.status).where(
                    records.OUTBOX.c.kind == "consultation_invite"
                )
            ).scalars()
        )
    assert statuses == ["duplicate"] * 4 + ["sent"]
