"""Satisfaction callbacks: scheduling on the Chinese working calendar, retries, outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from services.automatic import callbacks, ledger
from services.lifecycle import actions as a
from services.lifecycle import queries
from states.errors import Conflict, Forbidden, InvalidInput
from storage import records
from tests.factories import ANALYSIS, accepted, cst

pytestmark = pytest.mark.clock


def notified_at(ctx, when: datetime, *, by_branch: bool = False, close: bool = False) -> str:
    received = when - timedelta(days=3)
    number = accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    a.negotiate(ctx, number, actor="liaison", findings="属实", at=received + timedelta(days=1))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="属实",
        basis="合同",
        reasons="属责",
        remedies=["review", "mediation"],
        institution="beijing" if by_branch else None,
        at=received + timedelta(days=2),
    )
    a.notify(ctx, number, actor="liaison", channel="phone", proof="通话记录", at=when)
    if close:
        a.close(
            ctx,
            number,
            actor="liaison",
            **ANALYSIS,
            root_cause="时效",
            at=when + timedelta(hours=1),
        )
    return number


def reached(ctx, cb, satisfaction: str, **more):
    """The liaison reaches the complainant on the callback's day (Thu 3/5) and records it."""
    return callbacks.record(
        ctx,
        cb["id"],
        actor="liaison",
        reached=True,
        satisfaction=satisfaction,
        at=cst(2026, 3, 5, 10),
        **more,
    )


def test_notifying_a_decision_schedules_a_callback_three_working_days_later_at_nine(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))  # Monday
    [cb] = callbacks.for_complaint(ctx, number)
    assert cb["due_at"] == cst(2026, 3, 5, 9) and cb["window_end_at"] == cst(2026, 3, 5, 18)
    assert cb["assignee"] == "liaison" and cb["status"] == "scheduled" and cb["round"] == 1


def test_the_callback_skips_the_national_day_holiday(ctx):
    number = notified_at(ctx, cst(2026, 9, 29, 16))  # Tue; 9/30 works, 10/1–10/7 off
    [cb] = callbacks.for_complaint(ctx, number)
    assert cb["due_at"] == cst(2026, 10, 9, 9)


def test_a_make_up_saturday_counts_as_a_working_day(ctx):
    number = notified_at(ctx, cst(2026, 9, 30, 10))  # 10/8, 10/9, then Saturday 10/10 works
    [cb] = callbacks.for_complaint(ctx, number)
    assert cb["due_at"] == cst(2026, 10, 10, 9)


def test_the_local_day_of_notice_decides_not_the_utc_day(ctx):
    late = notified_at(ctx, cst(2026, 9, 29, 23, 59))  # still 9/29 in Beijing
    early = notified_at(ctx, cst(2026, 9, 30, 0, 1))  # 9/29 16:01 UTC, but 9/30 in Beijing
    assert callbacks.for_complaint(ctx, late)[0]["due_at"] == cst(2026, 10, 9, 9)
    assert callbacks.for_complaint(ctx, early)[0]["due_at"] == cst(2026, 10, 10, 9)


def test_delay_and_assignee_come_from_configuration(ctx_with):
    ctx = ctx_with(
        TOUSU__CALLBACK__DELAY_WORKING_DAYS="1", TOUSU__CALLBACK__ASSIGNEE='"coordinator"'
    )
    number = notified_at(ctx, cst(2026, 3, 6, 10))  # Friday → Monday
    [cb] = callbacks.for_complaint(ctx, number)
    assert cb["due_at"] == cst(2026, 3, 9, 9) and cb["assignee"] == "coordinator"


def test_due_lists_callbacks_whose_day_has_come(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    assert callbacks.due(ctx, at=cst(2026, 3, 4, 23, 59)) == []
    [cb] = callbacks.due(ctx, at=cst(2026, 3, 5, 0, 0))
    assert cb["number"] == number


def test_a_satisfied_callback_is_recorded_with_its_nps(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    [cb] = callbacks.for_complaint(ctx, number)
    done = reached(ctx, cb, "satisfied", nps=9)
    assert done.status == "reached" and done.outcome is None
    [cb] = callbacks.for_complaint(ctx, number)
    assert cb["satisfaction"] == "satisfied" and cb["nps"] == 9
    with pytest.raises(Conflict):
        callbacks.record(ctx, cb["id"], actor="liaison", reached=True, satisfaction="satisfied")


@pytest.mark.parametrize("nps", [-1, 11])
def test_nps_outside_zero_to_ten_is_refused(ctx, nps):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    [cb] = callbacks.for_complaint(ctx, number)
    with pytest.raises(InvalidInput, match="NPS"):
        callbacks.record(
            ctx, cb["id"], actor="liaison", reached=True, satisfaction="satisfied", nps=nps
        )


def test_a_reached_callback_needs_a_satisfaction_level(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    [cb] = callbacks.for_complaint(ctx, number)
    with pytest.raises(InvalidInput, match="满意度"):
        callbacks.record(ctx, cb["id"], actor="liaison", reached=True, satisfaction="ok")


def test_an_investigator_may_not_record_a_callback(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    [cb] = callbacks.for_complaint(ctx, number)
    with pytest.raises(Forbidden):
        callbacks.record(ctx, cb["id"], actor="investigator", reached=False)


@pytest.mark.now(cst(2026, 10, 9, 12))  # after the last attempt it records
def test_unreachable_retries_on_the_next_working_day_up_to_the_configured_count(ctx):
    number = notified_at(ctx, cst(2026, 9, 25, 10))  # Fri → due Wed 9/30
    [cb] = callbacks.for_complaint(ctx, number)
    assert cb["due_at"] == cst(2026, 9, 30, 9)
    first = callbacks.record(ctx, cb["id"], actor="liaison", reached=False, at=cst(2026, 9, 30, 10))
    assert first.outcome == "retry"
    second_cb = callbacks.for_complaint(ctx, number)[1]
    assert second_cb["attempt"] == 2 and second_cb["due_at"] == cst(2026, 10, 8, 9)  # after 国庆
    second = callbacks.record(
        ctx, second_cb["id"], actor="liaison", reached=False, at=cst(2026, 10, 8, 11)
    )
    third_cb = callbacks.for_complaint(ctx, number)[2]
    assert second.outcome == "retry" and third_cb["due_at"] == cst(2026, 10, 9, 9)
    last = callbacks.record(
        ctx, third_cb["id"], actor="liaison", reached=False, at=cst(2026, 10, 9, 11)
    )
    assert last.outcome == "gave_up" and last.next_callback_id is None
    assert len(callbacks.for_complaint(ctx, number)) == 3


def test_dissatisfied_reopens_the_case_by_default(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15), close=True)
    [cb] = callbacks.for_complaint(ctx, number)
    done = reached(ctx, cb, "dissatisfied", nps=2, note="认为赔付偏低")
    assert done.outcome == "reopen" and done.case_state == "reopened"
    events = queries.get_complaint(ctx, number)["events"]
    assert events[-1]["action"] == "reopen" and "回访不满意" in events[-1]["reason"]


def test_dissatisfied_goes_to_review_when_configured_and_the_branch_decided(ctx_with):
    ctx = ctx_with(TOUSU__CALLBACK__DISSATISFIED='"review"')
    number = notified_at(ctx, cst(2026, 3, 2, 15), by_branch=True)
    [cb] = callbacks.for_complaint(ctx, number)
    done = reached(ctx, cb, "dissatisfied")
    assert done.outcome == "review" and done.case_state == "reviewing"


def test_review_of_a_head_office_decision_falls_back_to_reopening(ctx_with):
    ctx = ctx_with(TOUSU__CALLBACK__DISSATISFIED='"review"')
    number = notified_at(ctx, cst(2026, 3, 2, 15), by_branch=False)
    [cb] = callbacks.for_complaint(ctx, number)
    done = reached(ctx, cb, "dissatisfied")
    assert done.outcome == "reopen" and done.case_state == "reopened"


def test_dissatisfied_goes_to_mediation_when_configured(ctx_with):
    ctx = ctx_with(TOUSU__CALLBACK__DISSATISFIED='"mediation"')
    number = notified_at(ctx, cst(2026, 3, 2, 15), close=True)
    [cb] = callbacks.for_complaint(ctx, number)
    done = reached(ctx, cb, "dissatisfied")
    assert done.outcome == "mediation" and done.case_state == "mediating"


def test_dissatisfied_enters_the_ledger_when_configured(ctx_with):
    ctx = ctx_with(TOUSU__CALLBACK__DISSATISFIED='"ledger"')
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    [cb] = callbacks.for_complaint(ctx, number)
    done = reached(ctx, cb, "dissatisfied")
    assert done.outcome == "ledger" and done.case_state == "notified"
    [matter] = ledger.list_matters(ctx)
    assert matter["master"] == number and matter["kind"] == "dissatisfied"


def test_basically_satisfied_changes_nothing(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    [cb] = callbacks.for_complaint(ctx, number)
    done = reached(ctx, cb, "basically_satisfied", nps=7)
    assert done.outcome is None and done.case_state == "notified"


def test_notifying_again_replaces_the_pending_callback_with_a_new_round(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    a.reopen(ctx, number, actor="supervisor", reason="核查改变原决定", at=cst(2026, 3, 3, 10))
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 3, 11))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="复核",
        basis="合同",
        reasons="补付",
        remedies=["review"],
        at=cst(2026, 3, 4, 10),
    )
    a.notify(ctx, number, actor="liaison", channel="sms", proof="回执", at=cst(2026, 3, 4, 11))
    first, second = callbacks.for_complaint(ctx, number)
    assert first["status"] == "cancelled" and second["round"] == 2
    assert second["due_at"] == cst(2026, 3, 9, 9)


def _outbox(ctx, kind):
    with ctx.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(records.OUTBOX).where(records.OUTBOX.c.kind == kind)
            ).mappings()
        ]


def test_the_sweep_alerts_the_assignee_once_when_a_callback_falls_due(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    assert callbacks.sweep(ctx, now=cst(2026, 3, 5, 8, 59)) == {"alerted": 0, "escalated": 0}
    assert callbacks.sweep(ctx, now=cst(2026, 3, 5, 9, 0))["alerted"] == 1
    assert callbacks.sweep(ctx, now=cst(2026, 3, 5, 10, 0))["alerted"] == 0
    [alert] = _outbox(ctx, "callback_due")
    assert alert["audience"] == "liaison" and alert["payload"]["number"] == number


def test_an_unrecorded_callback_is_escalated_two_working_days_after_it_fell_due(ctx):
    notified_at(ctx, cst(2026, 3, 2, 15))  # due Thu 3/5 09:00 → overdue Mon 3/9 18:00
    assert callbacks.sweep(ctx, now=cst(2026, 3, 9, 17, 59))["escalated"] == 0
    assert callbacks.sweep(ctx, now=cst(2026, 3, 9, 18, 0))["escalated"] == 1
    assert callbacks.sweep(ctx, now=cst(2026, 3, 10, 9))["escalated"] == 0
    [alert] = _outbox(ctx, "callback_overdue")
    assert alert["audience"] == "supervisors" and alert["urgent"]


def test_a_case_settled_by_mediation_gets_a_callback_after_the_agreement(ctx):
    # Mediation straight from negotiation: no decision was ever notified, the agreement is
    # the outcome the complainant was told, and the callback follows it like any closure.
    received = cst(2026, 2, 27, 10)
    number = accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    a.negotiate(ctx, number, actor="liaison", findings="属实", at=received + timedelta(days=1))
    a.mediate(
        ctx,
        number,
        actor="liaison",
        channel="industry",
        organisation="北京保险行业协会调解委员会",
        at=received + timedelta(days=2),
    )
    assert callbacks.for_complaint(ctx, number) == []
    a.settle(
        ctx,
        number,
        actor="liaison",
        agreement="调解书",
        **ANALYSIS,
        root_cause="理赔时效",
        at=cst(2026, 3, 2, 15),  # Monday
    )
    [cb] = callbacks.for_complaint(ctx, number)
    assert cb["due_at"] == cst(2026, 3, 5, 9) and cb["status"] == "scheduled"
    assert cb["round"] == 1 and cb["assignee"] == "liaison"


def test_settling_after_a_notified_decision_replaces_its_pending_callback(ctx):
    number = notified_at(ctx, cst(2026, 3, 2, 15))
    a.mediate(
        ctx,
        number,
        actor="liaison",
        channel="industry",
        organisation="调解中心",
        at=cst(2026, 3, 2, 16),
    )
    a.settle(
        ctx,
        number,
        actor="liaison",
        agreement="调解书",
        **ANALYSIS,
        root_cause="时效",
        at=cst(2026, 3, 3, 10),
    )
    first, second = callbacks.for_complaint(ctx, number)
    assert first["status"] == "cancelled" and second["round"] == 2
    assert second["due_at"] == cst(2026, 3, 6, 9)
