"""The service layer as a specification: one transaction per action, history, replay,
personal data at rest, time rules, and concurrent handlers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from services.lifecycle import actions as a
from services.lifecycle import queries
from services.lifecycle.registration import Person
from states import lifecycle as lc
from states.errors import Conflict, Forbidden, InvalidInput
from tests.factories import ANALYSIS, accepted, cst, notified, registered, registration


def snapshot(ctx, number):  # type: ignore[no-untyped-def]
    data = queries.get_complaint(ctx, number)
    return data["case"]["version"], len(data["events"]), data["deadlines"]


def replay(events):  # type: ignore[no-untyped-def]
    """Fold the event log with the lifecycle table; the result must be the stored state."""
    state = None
    for ev in events:
        if ev["action"] == "register":
            state = lc.State.registered
            continue
        assert ev["from_state"] == state.value
        state = lc.fire(lc.action(ev["action"]), state)
        assert state.value == ev["to_state"]
    return state


def test_a_complaint_goes_from_registration_to_closure_with_one_event_per_action(any_ctx) -> None:
    ctx = any_ctx
    number = notified(ctx, cst(2026, 6, 1, 9))
    a.close(
        ctx,
        number,
        actor="liaison",
        **ANALYSIS,
        root_cause="理赔时效管控不足",
        at=cst(2026, 6, 5, 9),
    )
    data = queries.get_complaint(ctx, number)
    assert data["case"]["state"] == "closed"
    assert [e["action"] for e in data["events"]] == [
        "register",
        "accept",
        "investigate",
        "negotiate",
        "decide",
        "notify",
        "close",
    ]
    assert [e["seq"] for e in data["events"]] == list(range(1, 8))
    assert data["events"][-1]["details"]["root_cause"] == "理赔时效管控不足"
    assert replay(data["events"]).value == data["case"]["state"]


def test_replaying_the_events_gives_the_stored_state_for_every_path(ctx) -> None:
    paths = []
    n = accepted(ctx, cst(2026, 5, 1, 9))
    a.withdraw(ctx, n, actor="clerk", reason="撤诉", at=cst(2026, 5, 2))
    paths.append(n)
    n = notified(ctx, cst(2026, 5, 1, 9), by_branch=True)
    a.request_review(ctx, n, actor="clerk", request="申请核查", at=cst(2026, 5, 10))
    a.reopen(ctx, n, actor="supervisor", reason="核查改变原决定", at=cst(2026, 5, 12))
    a.consult(ctx, n, actor="supervisor", reason="疑难", at=cst(2026, 5, 13))
    a.conclude_consultation(ctx, n, actor="committee", resolution="补偿", at=cst(2026, 5, 14))
    paths.append(n)
    for number in paths:
        data = queries.get_complaint(ctx, number)
        assert replay(data["events"]).value == data["case"]["state"]


def test_a_handler_cannot_close_an_undecided_complaint_and_nothing_changes(ctx) -> None:
    number = accepted(ctx, cst(2026, 6, 1, 9))
    before = snapshot(ctx, number)
    with pytest.raises(Forbidden, match="已受理.*investigate"):
        a.close(ctx, number, actor="liaison", **ANALYSIS, root_cause="x", at=cst(2026, 6, 2))
    assert snapshot(ctx, number) == before


def test_an_intake_clerk_may_not_decide(ctx) -> None:
    number = accepted(ctx, cst(2026, 6, 1, 9))
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 6, 1, 12))
    before = snapshot(ctx, number)
    with pytest.raises(Forbidden, match="受理员"):
        a.decide(
            ctx,
            number,
            actor="clerk",
            facts="f",
            basis="b",
            reasons="r",
            remedies=["review"],
            at=cst(2026, 6, 2),
        )
    assert snapshot(ctx, number) == before


def test_an_unknown_or_disabled_user_is_refused(ctx) -> None:
    from services import users

    number = registered(ctx, cst(2026, 6, 1, 9))
    with pytest.raises(InvalidInput, match="不存在"):
        a.withdraw(ctx, number, actor="nobody", reason="x")
    users.set_active(ctx, "clerk", False)
    with pytest.raises(InvalidInput, match="停用"):
        a.withdraw(ctx, number, actor="clerk", reason="x")


@pytest.mark.clock
def test_an_action_time_in_the_future_or_before_the_last_event_is_refused(
    ctx, now: datetime
) -> None:
    number = accepted(ctx, cst(2026, 6, 1, 9))
    before = snapshot(ctx, number)
    with pytest.raises(InvalidInput, match="晚于当前时间"):
        a.investigate(ctx, number, actor="liaison", at=now + timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="早于该投诉上一事件"):
        a.investigate(ctx, number, actor="liaison", at=cst(2026, 6, 1, 10))
    assert snapshot(ctx, number) == before


def test_a_bad_registration_field_is_named_and_nothing_is_written(ctx) -> None:
    bad = registration(complainant=Person(name="钱七", phone="12345", id_number=None))
    with pytest.raises(InvalidInput) as err:
        from services.lifecycle.registration import register

        register(ctx, bad, actor="clerk")
    assert err.value.field == "phone"
    with ctx.engine.connect() as conn:
        assert conn.execute(text("select count(*) from complaint")).scalar() == 0
        assert conn.execute(text("select count(*) from party")).scalar() == 0


def test_personal_data_is_encrypted_at_rest_and_matched_by_keyed_hash(ctx) -> None:
    number = registered(ctx, cst(2026, 6, 1, 9))
    ctx.engine.dispose()
    raw = b"".join(p.read_bytes() for p in ctx.config.data_dir.parent.glob("tousu.db*"))
    for secret in ("赵六", "13800138000", "11010519491231002X", "北京市朝阳区"):
        assert secret.encode() not in raw
    case = queries.get_complaint(ctx, number)["case"]
    person = queries.decrypt_party(ctx, case["complainant_id"])
    assert person["phone"] == "13800138000" and person["name"] == "赵六"
    from storage.models import Party

    table = Party.__table__
    key = ctx.vault.match_hash("phone", "138 0013 8000")
    with ctx.engine.connect() as conn:
        assert (
            conn.execute(select(table.c.id).where(table.c.phone_hash == key)).scalar()
            == case["complainant_id"]
        )


def test_the_event_log_is_append_only(any_ctx) -> None:
    number = registered(any_ctx, cst(2026, 6, 1, 9))
    with pytest.raises(Exception, match="append-only"), any_ctx.engine.begin() as conn:
        conn.execute(text("update event set actor = 'x'"))
    with pytest.raises(Exception, match="append-only"), any_ctx.engine.begin() as conn:
        conn.execute(text("delete from event"))
    assert len(queries.get_complaint(any_ctx, number)["events"]) == 1


def test_decline_only_on_the_ground_of_article_fourteen(ctx) -> None:
    number = registered(ctx, cst(2026, 6, 1, 9))
    # A ground outside the declared choices is bad input (exit 2), not a refusal.
    with pytest.raises(InvalidInput) as refused:
        a.decline(ctx, number, actor="liaison", ground="frivolous", explanation="x")
    assert refused.value.field == "ground"
    a.decline(
        ctx,
        number,
        actor="liaison",
        ground="not_entitled",
        explanation="来电人与保单无关, 亦无授权委托",
        at=cst(2026, 6, 1, 12),
    )
    assert queries.get_complaint(ctx, number)["case"]["state"] == "declined"


def test_merging_a_repeat_with_new_facts_restarts_the_open_cases_decision_clock(ctx) -> None:
    master = accepted(ctx, cst(2026, 6, 1, 9))
    # Another policy, so registration does not merge it on its own (tests/ledger); by hand here.
    repeat = registered(ctx, cst(2026, 6, 8, 9), policy_no="P2026000999")
    a.merge(ctx, repeat, actor="clerk", into=master, new_facts=True, at=cst(2026, 6, 8, 10))
    data = queries.get_complaint(ctx, master)
    decision = next(d for d in data["deadlines"] if d["name"] == "decision")
    assert decision["started"] == cst(2026, 6, 8, 10) and decision["due"] == cst(2026, 6, 24)
    assert data["events"][-1]["action"] == "new_facts"
    merged = queries.get_complaint(ctx, repeat)["case"]
    assert merged["state"] == "merged" and merged["merged_into_id"] == data["case"]["id"]


def test_merging_into_a_closed_case_is_refused(ctx) -> None:
    closed = notified(ctx, cst(2026, 6, 1, 9))
    a.close(ctx, closed, actor="liaison", **ANALYSIS, root_cause="x", at=cst(2026, 6, 4))
    repeat = registered(ctx, cst(2026, 6, 8, 9))
    with pytest.raises(Forbidden, match="在办投诉"):
        a.merge(ctx, repeat, actor="clerk", into=closed)


def test_two_handlers_at_once_one_succeeds_and_the_other_gets_a_conflict(any_ctx) -> None:
    ctx = any_ctx
    number = accepted(ctx, cst(2026, 6, 1, 9))
    seen = queries.get_complaint(ctx, number)["case"]["version"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(owner: str) -> None:
        barrier.wait()
        try:
            a.assign(
                ctx, number, actor="supervisor", owner=owner, reason="交接", expected_version=seen
            )
            outcomes.append("ok")
        except Conflict as exc:
            assert "已被他人修改" in str(exc)
            outcomes.append("conflict")

    threads = [threading.Thread(target=act, args=(o,)) for o in ("liaison", "liaison2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    data = queries.get_complaint(ctx, number)
    assert data["case"]["version"] == seen + 1
    assert [e["action"] for e in data["events"]].count("assign") == 1


def test_concurrent_writers_never_lose_an_update(any_ctx) -> None:
    ctx = any_ctx
    number = accepted(ctx, cst(2026, 6, 1, 9))
    done: list[bool] = []

    def work() -> None:
        for _ in range(8):
            try:
                a.escalate(ctx, number, actor="supervisor", reason="并发升级")
                done.append(True)
            except Conflict:
                done.append(False)  # PostgreSQL: the loser is told, never silently lost

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    case = queries.get_complaint(ctx, number)["case"]
    assert case["escalation_level"] == sum(done) and case["event_count"] == 2 + sum(done)


def test_many_threads_units_of_work_never_exhaust_the_connection_pool(ctx):
    """A web server's thread pool (40 threads) each doing a unit of work and staying alive:
    only a few threads keep an idle connection, the rest return theirs to the pool."""
    import threading

    from sqlalchemy import text

    from services.context import HELD_MAX

    alive = threading.Barrier(40, timeout=20)
    done: list[int] = []

    def work() -> None:
        with ctx.transaction() as conn:
            done.append(int(conn.execute(text("SELECT 1")).scalar_one()))
        alive.wait()  # every thread alive at once, after its unit of work

    threads = [threading.Thread(target=work) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert done == [1] * 40
    assert len(ctx._all_held) <= HELD_MAX
