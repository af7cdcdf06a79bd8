"""Joint consultation and mediation referral, without Prefect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.automatic import consultation, escalation, mediation
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle import queries
from states.errors import Forbidden
from storage import records
from storage.timeutil import from_db
from tests import factories as f

pytestmark = pytest.mark.clock


def _alerts(ctx: Context, kind: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(records.OUTBOX).where(records.OUTBOX.c.kind == kind)
            ).mappings()
        ]


def _state(ctx: Context, number: str) -> str:
    return str(queries.get_complaint(ctx, number)["case"]["state"])


def _in_working_hours(ctx: Context, when: datetime) -> bool:
    local = when.astimezone(ctx.tz)
    cal = ctx.config.calendar
    return (
        ctx.clock.calendar.is_workday(local.date())[0]
        and cal.workday_start <= local.time()
        and (local + timedelta(hours=1)).time() <= cal.workday_end
    )


def test_a_case_past_the_configured_share_of_its_decision_deadline_is_convened(
    any_ctx: Context, now: datetime
) -> None:
    ctx = any_ctx
    received = now - timedelta(days=10)
    # The decision deadline (15 days) ends at 24:00 local time: its share is 9 to 9.6 days.
    decision = ctx.clock.start("decision", received)
    share = consultation.settings(ctx)["share"]
    assert received + (decision.due_at - received) * share < now  # type: ignore[operator]
    number = f.accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))

    assert escalation.sweep(ctx).convened == 1
    assert escalation.sweep(ctx).convened == 0

    [k] = consultation.consultations_of(ctx, number)
    assert k["reason_code"] == "deadline_share" and _state(ctx, number) == "consulting"
    assert _in_working_hours(ctx, from_db(k["meeting_at"]))  # type: ignore[arg-type]
    invited = {r["audience"] for r in _alerts(ctx, "consultation_invite")}
    assert invited == {f"dept:{d}" for d in consultation.settings(ctx)["departments"]}


def test_the_consultation_decision_is_recorded_and_moves_the_case_on(
    ctx: Context, now: datetime
) -> None:
    number = f.accepted(ctx, now - timedelta(days=1))
    consultation.convene(
        ctx,
        number,
        actor="coordinator",
        reason="疑难: 免责条款理解分歧",
        departments=["claims", "legal"],
    )
    done = consultation.conclude(
        ctx, number, actor="coordinator", decision="按合同通常理解赔付, 法律部出具意见"
    )
    assert done["state"] == "negotiating" and _state(ctx, number) == "negotiating"
    [k] = consultation.consultations_of(ctx, number)
    assert (k["status"], k["decided_by"]) == ("concluded", "coordinator")


def test_a_consultation_is_reminded_before_and_escalated_when_overdue(
    ctx: Context, now: datetime
) -> None:
    number = f.accepted(ctx, now - timedelta(days=1))
    k = consultation.convene(ctx, number, actor="coordinator", reason="重复投诉")
    meeting = from_db(k["meeting_at"])
    assert meeting is not None

    assert consultation.cycle(ctx, now=meeting - timedelta(hours=1)).reminded == 1
    assert consultation.cycle(ctx, now=meeting - timedelta(minutes=30)).reminded == 0
    late = consultation.cycle(ctx, now=meeting + timedelta(hours=49))
    assert late.escalated == 1
    assert consultation.cycle(ctx, now=meeting + timedelta(hours=50)).escalated == 0
    [alert] = [r for r in _alerts(ctx, "escalation") if r["payload"].get("consultation_id")]
    assert alert["audience"] == "role:committee"


def test_major_cases_in_handling_are_convened_once(ctx: Context, now: datetime) -> None:
    number = f.registered(ctx, now - timedelta(hours=2))
    a.accept(
        ctx,
        number,
        actor="clerk",
        category="claims",
        product="medical",
        owner="liaison",
        priority="major",
        priority_reason="群体事件",
    )
    assert consultation.cycle(ctx).convened == 1
    assert consultation.cycle(ctx).convened == 0
    assert consultation.consultations_of(ctx, number)[0]["reason_code"] == "major"


def test_the_ledger_can_convene_a_consultation_once(ctx: Context, now: datetime) -> None:
    number = f.accepted(ctx, now - timedelta(days=2))
    with ctx.transaction() as conn:
        first = consultation.convene_for(
            ctx, number, "重复投诉 3 次未化解", reason_code="repeat", key="matter-7", conn=conn
        )
    with ctx.transaction() as conn:
        second = consultation.convene_for(
            ctx, number, "重复投诉 3 次未化解", reason_code="repeat", key="matter-7", conn=conn
        )
    assert first["id"] == second["id"] and _state(ctx, number) == "consulting"


def test_a_case_not_in_handling_cannot_be_convened(ctx: Context, now: datetime) -> None:
    number = f.registered(ctx, now - timedelta(hours=2))
    with pytest.raises(Forbidden), ctx.transaction() as conn:
        consultation.convene_for(ctx, number, "积案", reason_code="backlog", conn=conn)


def test_a_meeting_asked_for_on_friday_evening_falls_on_the_next_working_morning(
    ctx: Context,
) -> None:
    friday_evening = datetime(2026, 11, 20, 16, 0, tzinfo=ctx.tz).astimezone(UTC)
    slot = consultation.meeting_slot(ctx, friday_evening, consultation.settings(ctx))
    assert slot.astimezone(ctx.tz) == datetime(2026, 11, 23, 9, 0, tzinfo=ctx.tz)


def test_a_referral_chooses_the_branch_organisation_and_keeps_personal_data_out(
    any_ctx: Context, now: datetime
) -> None:
    ctx = any_ctx
    received = now - timedelta(days=3)
    number = f.accepted(ctx, received, branch="beijing")
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))

    ref = mediation.refer(ctx, number, actor="liaison", channel="industry")

    assert ref["organisation"] == "北京银行业保险业消费纠纷调解中心"
    text = str(ref["summary"])
    for personal in ("赵六", "13800138000", "11010519491231002X", "朝阳区"):
        assert personal not in text
    [alert] = _alerts(ctx, "mediation_referral")
    assert alert["audience"] == "mediation:beijing_industry"
    deadlines = {d["name"]: d["status"] for d in queries.get_complaint(ctx, number)["deadlines"]}
    assert deadlines["decision"] == "paused" and escalation.due_count(ctx) == 0


def test_a_plain_mediate_action_gets_its_referral_from_the_cycle(
    ctx: Context, now: datetime
) -> None:
    received = now - timedelta(days=3)
    number = f.accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    a.mediate(ctx, number, actor="liaison", channel="people", organisation="所在地人民调解委员会")
    assert mediation.cycle(ctx).prepared == 1
    assert mediation.cycle(ctx).prepared == 0
    assert mediation.referrals_of(ctx, number)[0]["contact"] == "mediation:people"


def test_mediation_past_its_time_is_followed_up(ctx: Context, now: datetime) -> None:
    received = now - timedelta(days=3)
    number = f.accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    mediation.refer(ctx, number, actor="liaison", channel="industry")
    assert mediation.follow_up(ctx, now=now + timedelta(days=10)) == 0
    assert mediation.follow_up(ctx, now=now + timedelta(days=31)) == 1
    assert mediation.follow_up(ctx, now=now + timedelta(days=32)) == 0
    assert {r["audience"] for r in _alerts(ctx, "mediation_follow_up")} == {
        "mediation:industry",
        "user:liaison",
    }


def test_an_agreement_closes_the_case_and_a_failure_returns_it_with_advice(
    ctx: Context, now: datetime
) -> None:
    received = now - timedelta(days=3)
    agreed, failed = (
        f.accepted(ctx, received),
        f.accepted(ctx, received, policy_no="P2026999999", channel="online"),
    )
    for number in (agreed, failed):
        a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
        mediation.refer(ctx, number, actor="liaison", channel="industry")

    mediation.record_result(
        ctx,
        agreed,
        actor="liaison",
        outcome="agreement",
        result="达成调解协议",
        agreement="补付 8,600 元",
        analysis=f.ANALYSIS,
        root_cause="理赔时效管控不足",
    )
    out = mediation.record_result(
        ctx,
        failed,
        actor="liaison",
        outcome="failure",
        result="双方未达成一致",
        advice="litigation",
    )

    assert _state(ctx, agreed) == "closed"
    assert out["state"] == "negotiating" and _state(ctx, failed) == "negotiating"
    deadlines = {d["name"]: d["status"] for d in queries.get_complaint(ctx, failed)["deadlines"]}
    assert deadlines["decision"] == "running"
    [advice] = _alerts(ctx, "mediation_advice")
    assert "诉讼" in advice["payload"]["title"]


def test_a_referral_after_the_decision_carries_the_decision_from_the_event_log(
    any_ctx: Context, now: datetime
) -> None:
    ctx = any_ctx
    number = f.notified(ctx, now - timedelta(days=5))

    ref = mediation.refer(ctx, number, actor="liaison", channel="industry")

    assert ref["summary"]["decision"] == {
        "facts": "住院属实",
        "basis": "保险合同第五条",
        "reasons": "属于保险责任",
    }
