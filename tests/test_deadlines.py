"""Deadlines on the 2026 calendar (Spring Festival, National Day with make-up days), pauses,
both extensions, restart, review, and a complaint whose deadlines reach 2027."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from config import load_config
from services.context import make_clock
from services.lifecycle import actions as a
from services.lifecycle import queries
from states import lifecycle as lc
from states.deadlines import ENDINGS, KNOWN, apply_clock, begins, needs_rows
from states.errors import Forbidden, InvalidInput
from storage import records
from tests.factories import accepted, cst, notified, registered

pytestmark = pytest.mark.clock


def clock(**calendar: object):  # type: ignore[no-untyped-def]
    cfg = load_config(environ={})
    cfg = cfg.model_copy(update={"calendar": cfg.calendar.model_copy(update=calendar)})
    return make_clock(cfg)


def due(ck, name, start):  # type: ignore[no-untyped-def]
    dl = ck.start(name, start)
    return dl.due_at.astimezone(cst(2026, 1, 1).tzinfo), dl.verified


def test_decision_deadline_counts_fifteen_calendar_days_without_the_start_day() -> None:
    # RULES §1: received 2026-03-02 → ends 24:00 on 2026-03-17.
    assert due(clock(), "decision", cst(2026, 3, 2, 15, 30)) == (cst(2026, 3, 18), True)


def test_acceptance_deadline_is_twenty_four_clock_hours() -> None:
    assert due(clock(), "acceptance", cst(2026, 2, 14, 10, 5))[0] == cst(2026, 2, 15, 10, 5)


def test_investigation_skips_spring_festival_and_counts_the_make_up_saturday() -> None:
    # 2/13 Fri, 2/14 Sat (make-up working day), 2/15–2/23 off, then 2/24, 2/25, 2/26.
    assert due(clock(), "investigation", cst(2026, 2, 12, 10)) == (cst(2026, 2, 27), True)


def test_investigation_skips_national_day_and_counts_saturday_october_tenth() -> None:
    # 9/30, (10/1–10/7 off), 10/8, 10/9, 10/10 Sat (make-up), (10/11 Sun), 10/12.
    assert due(clock(), "investigation", cst(2026, 9, 29, 9)) == (cst(2026, 10, 13), True)


def test_sunday_september_twentieth_is_a_working_day() -> None:
    assert due(clock(), "investigation", cst(2026, 9, 18, 17)) == (cst(2026, 9, 25), True)


def test_roll_forward_is_off_by_default_and_moves_past_national_day_when_on() -> None:
    start = cst(2026, 9, 16, 11)  # +15 days = 2026-10-01, a statutory holiday
    assert due(clock(), "decision", start)[0] == cst(2026, 10, 2)
    assert due(clock(holiday_roll_forward=True), "decision", start)[0] == cst(2026, 10, 9)


def test_a_complaint_received_on_december_twentieth_reaches_2027_without_crashing() -> None:
    received = cst(2026, 12, 20, 9)
    assert due(clock(), "decision", received) == (cst(2027, 1, 5), True)
    # With roll-forward the last day must be checked against an unknown 2027 calendar.
    assert due(clock(holiday_roll_forward=True), "decision", received)[1] is False


def test_working_days_in_an_unknown_year_fall_back_to_weekdays_and_are_unverified() -> None:
    # 12/29, 12/30, 12/31, then 2027-01-01 (元旦, a Friday: no working day), 2027-01-04, 01-05.
    assert due(clock(), "investigation", cst(2026, 12, 28, 10)) == (cst(2027, 1, 6), False)


def test_new_years_day_2027_is_not_a_working_day_and_the_answer_is_unverified() -> None:
    cal = clock().calendar
    assert cal.is_workday(date(2027, 1, 1)) == (False, False)
    assert cal.is_workday(date(2027, 1, 4)) == (True, False)
    assert clock(verified_years=[2027]).calendar.is_workday(date(2027, 1, 1)) == (False, True)


@pytest.mark.parametrize(
    "day",
    [
        date(2027, 2, 5),  # 春节 eve (除夕), from the lunar calendar
        date(2027, 2, 8),  # 正月初三, a Monday
        date(2027, 4, 5),  # 清明 (solar term)
        date(2027, 6, 9),  # 端午, 五月初五
        date(2027, 9, 15),  # 中秋, 八月十五
        date(2027, 10, 1),
        date(2030, 6, 5),  # 端午 2030: computed, no notice exists
    ],
)
def test_statutory_holidays_of_an_unknown_year_are_computed_with_lunar_dates(day: date) -> None:
    assert clock().calendar.is_workday(day) == (False, False)


def test_chinesecalendar_stays_the_source_for_the_years_it_lists() -> None:
    cal = clock().calendar
    # 2026-10-07 (Wednesday) is an arranged day off and 2026-10-10 (Saturday) a make-up working day:
    # only the announced calendar has them.
    assert cal.is_workday(date(2026, 10, 7)) == (False, True)
    assert cal.is_workday(date(2026, 10, 10)) == (True, True)


def test_a_computed_holiday_day_is_not_guessed_beyond_the_rule() -> None:
    # 2027-02-09 would be a guessed extra day off; without the notice it stays a weekday.
    assert clock().calendar.is_workday(date(2027, 2, 9)) == (True, False)


def test_configured_holidays_fill_the_gap_and_verified_years_vouch_for_them() -> None:
    # 2027-01-04 configured off as well (as a notice might): 12/29–12/31, 1/5, 1/6.
    ck = clock(extra_holidays=["2027-01-04"])
    assert due(ck, "investigation", cst(2026, 12, 28, 10)) == (cst(2027, 1, 7), False)
    ck = clock(extra_holidays=["2027-01-04"], verified_years=[2027])
    assert due(ck, "investigation", cst(2026, 12, 28, 10)) == (cst(2027, 1, 7), True)


def test_warnings_follow_the_configured_ladder() -> None:
    dl = clock().start("decision", cst(2026, 3, 2, 0))
    levels = {w["level"]: w["at"] for w in dl.warnings}
    assert set(levels) == {"warn_50", "warn_80", "breach", "breach_committee"}
    assert levels["breach"] == dl.due_at.isoformat()
    assert dl.next_check_at == min(dl.due_at - (dl.due_at - dl.started_at) / 2, dl.due_at)


def _deadlines(ctx, number):  # type: ignore[no-untyped-def]
    return {d["name"]: d for d in queries.get_complaint(ctx, number)["deadlines"]}


def test_acceptance_meets_the_24_hour_deadline_and_starts_investigation(ctx) -> None:
    number = accepted(ctx, cst(2026, 9, 28, 10))
    dls = _deadlines(ctx, number)
    assert dls["acceptance"]["status"] == "met"
    assert dls["investigation"]["due"] == cst(2026, 10, 11)


def test_appraisal_pause_shifts_running_deadlines_by_the_paused_time(ctx) -> None:
    received = cst(2026, 3, 2, 9)
    number = accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=5))
    a.start_appraisal(
        ctx,
        number,
        actor="liaison",
        body="司法鉴定所",
        complainant_told="电话告知",
        at=cst(2026, 3, 4, 12),
    )
    paused = _deadlines(ctx, number)
    assert paused["decision"]["status"] == "paused"
    assert paused["acceptance"]["status"] == "met"
    a.end_appraisal(ctx, number, actor="liaison", result="鉴定完成", at=cst(2026, 3, 9, 12))
    dls = _deadlines(ctx, number)
    assert dls["decision"]["status"] == "running"
    assert dls["decision"]["due"] == cst(2026, 3, 18) + timedelta(days=5)
    assert dls["internal_target"]["due"] == cst(2026, 3, 10) + timedelta(days=5)


def test_mediation_pauses_the_clock_until_it_ends(ctx) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 12))
    a.mediate(
        ctx,
        number,
        actor="liaison",
        channel="industry",
        organisation="北京保险行业协会调解委员会",
        at=cst(2026, 3, 3, 12),
    )
    assert _deadlines(ctx, number)["decision"]["status"] == "paused"
    a.end_mediation(ctx, number, actor="liaison", result="调解未达成", at=cst(2026, 3, 13, 12))
    assert _deadlines(ctx, number)["decision"]["due"] == cst(2026, 3, 28)


def test_first_extension_needs_a_reason_and_gives_thirty_days(ctx) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    with pytest.raises(InvalidInput, match="reason"):
        a.extend(ctx, number, actor="liaison", reason="", to=30, at=cst(2026, 3, 5))
    a.extend(ctx, number, actor="liaison", reason="案情复杂", to=30, at=cst(2026, 3, 5))
    assert _deadlines(ctx, number)["decision"]["due"] == cst(2026, 4, 2)


def test_second_extension_needs_an_approver_and_the_complainant_told(ctx) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.extend(ctx, number, actor="liaison", reason="案情复杂", to=30, at=cst(2026, 3, 5))
    with pytest.raises(InvalidInput, match="审批"):
        a.extend(ctx, number, actor="liaison", reason="特别复杂", to=60, at=cst(2026, 3, 20))
    a.extend(
        ctx,
        number,
        actor="supervisor",
        reason="特别复杂",
        to=60,
        approver="总公司副总经理 刘某",
        complainant_told="2026-03-20 短信告知",
        at=cst(2026, 3, 20),
    )
    assert _deadlines(ctx, number)["decision"]["due"] == cst(2026, 5, 2)
    with pytest.raises(Forbidden, match="60"):
        a.extend(
            ctx,
            number,
            actor="supervisor",
            reason="再延",
            to=60,
            approver="x",
            complainant_told="y",
            at=cst(2026, 3, 21),
        )


def test_new_facts_restart_the_decision_clock_from_their_receipt(ctx) -> None:
    number = accepted(ctx, cst(2026, 3, 2, 9))
    a.new_facts(ctx, number, actor="liaison", summary="补充医院诊断证明", at=cst(2026, 3, 10, 9))
    dl = _deadlines(ctx, number)["decision"]
    assert dl["started"] == cst(2026, 3, 10, 9) and dl["due"] == cst(2026, 3, 26)


def test_review_window_opens_only_for_a_branch_decision_and_review_has_thirty_days(ctx) -> None:
    head_office = notified(ctx, cst(2026, 3, 2, 9), by_branch=False)
    with pytest.raises(Forbidden, match="分支机构"):
        a.request_review(
            ctx, head_office, actor="liaison", request="书面核查申请", at=cst(2026, 3, 6)
        )
    branch = notified(ctx, cst(2026, 3, 2, 9), by_branch=True)
    window = _deadlines(ctx, branch)["review_request"]
    assert window["due"] == cst(2026, 4, 4) and window["warnings"] == []
    a.request_review(ctx, branch, actor="clerk", request="书面核查申请", at=cst(2026, 3, 20, 10))
    dls = _deadlines(ctx, branch)
    assert dls["review_request"]["status"] == "met"
    assert dls["review_decision"]["due"] == cst(2026, 4, 20)
    a.conclude_review(ctx, branch, actor="supervisor", conclusion="维持原决定", at=cst(2026, 4, 1))
    assert _deadlines(ctx, branch)["review_decision"]["status"] == "met"


def test_withdrawal_ends_every_running_deadline_on_the_day_received(ctx) -> None:
    number = registered(ctx, cst(2026, 3, 2, 9))
    a.withdraw(ctx, number, actor="clerk", reason="投诉人来电撤诉", at=cst(2026, 3, 3, 9))
    assert {d["status"] for d in _deadlines(ctx, number).values()} == {"stopped"}
    case = queries.get_complaint(ctx, number)["case"]
    assert case["closed_at"] == cst(2026, 3, 3, 9)


ENDING_CASES = [
    # (clock effect, how to reach a case with active deadlines)
    ("investigated", "accepted"),
    ("decided", "accepted"),
    ("notified", "accepted"),
    ("closed", "accepted"),
    ("ended", "registered"),
    ("closed", "paused"),
]


@pytest.mark.parametrize(("effect", "start"), ENDING_CASES)
def test_an_ending_written_in_sql_leaves_the_rows_the_clock_arithmetic_gives(
    any_ctx, effect, start
) -> None:  # type: ignore[no-untyped-def]
    # services.lifecycle.actions applies met/stopped with one UPDATE; the stored rows must be
    # exactly what states.deadlines.apply_clock gives on the loaded rows.
    ctx = any_ctx
    received = cst(2026, 3, 2, 9)
    number = registered(ctx, received) if start == "registered" else accepted(ctx, received)
    if start == "paused":
        a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
        a.start_appraisal(
            ctx,
            number,
            actor="liaison",
            body="司法鉴定所",
            complainant_told="电话告知",
            at=received + timedelta(hours=4),
        )
    at = received + timedelta(days=1)
    with ctx.engine.begin() as conn:
        cid = records.load_case(conn, number)["id"]
        expected = records.load_deadlines(conn, cid)
        assert any(dl.status in ("running", "paused") for dl in expected.values())
        apply_clock(ctx.clock, effect, expected, at, case={}, fields={})
        records.end_deadlines(conn, cid, ENDINGS[effect], at)
        stored = records.load_deadlines(conn, cid)
    # Only the ending is written in SQL: clocks the effect starts afresh (the closure clock
    # at notice) are not compared here.
    expected = {name: dl for name, dl in expected.items() if name in stored}
    for name, dl in expected.items():
        got = stored[name]
        assert (got.status, got.met_at, got.paused_at, got.due_at) == (
            dl.status,
            dl.met_at,
            dl.paused_at,
            dl.due_at,
        ), name
    with ctx.engine.connect() as conn:
        checks = dict(
            conn.execute(
                select(records.DEADLINE.c.name, records.DEADLINE.c.next_check_at).where(
                    records.DEADLINE.c.complaint_id == cid
                )
            ).all()
        )
    assert {n: checks[n] is None for n in checks} == {
        n: dl.next_check_at is None for n, dl in expected.items()
    }


def test_an_effect_said_to_happen_once_cannot_happen_twice_in_a_case() -> None:
    # needs_rows skips loading the stored clocks for these effects: their clocks are new.
    from states.deadlines import ONCE

    returns_to_registered = [a.trigger for a in lc.ACTIONS if a.dest is lc.State.registered]
    assert returns_to_registered == []
    for act in lc.ACTIONS:
        if act.clock in ONCE:
            assert act.sources == (lc.State.registered,), act.trigger
    case = {"decided_by_branch": True}
    for effect in ONCE:
        for name in begins(effect, case):
            assert {e for e in KNOWN if name in begins(e, case)} == {effect}, name


def test_every_clock_effect_in_the_lifecycle_table_is_known_to_the_arithmetic() -> None:
    effects = {act.clock for act in lc.ACTIONS if act.clock}
    assert effects <= KNOWN
    with pytest.raises(ValueError, match="unknown clock effect"):
        needs_rows("sideways", {})


def test_a_second_branch_notice_after_reopening_restarts_the_review_window_in_place(
    any_ctx,
) -> None:  # type: ignore[no-untyped-def]
    # Starting a clock by name replaces the earlier row of that name (one row per name), not
    # duplicated or left stale.
    ctx = any_ctx
    number = notified(ctx, cst(2026, 3, 2, 9), by_branch=True)
    first = _deadlines(ctx, number)["review_request"]
    a.reopen(ctx, number, actor="supervisor", reason="回访不满意", at=cst(2026, 3, 10, 9))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="复查属实",
        basis="保险合同第五条",
        reasons="补足赔款",
        remedies=["review"],
        institution="beijing",
        at=cst(2026, 3, 12, 9),
    )
    a.notify(ctx, number, actor="liaison", channel="sms", proof="短信回执", at=cst(2026, 3, 12, 10))
    rows = queries.get_complaint(ctx, number)["deadlines"]
    assert [d["name"] for d in rows].count("review_request") == 1
    second = _deadlines(ctx, number)["review_request"]
    assert first["due"] == cst(2026, 4, 4)
    assert (second["status"], second["started"], second["due"]) == (
        "running",
        cst(2026, 3, 12, 10),
        cst(2026, 4, 12),
    )
