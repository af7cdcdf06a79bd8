"""Repeat detection at registration: keys, window edges, merge vs link, regulator items."""

from __future__ import annotations

from datetime import timedelta

from services.automatic import ledger
from services.lifecycle import actions as a
from services.lifecycle import queries
from services.lifecycle.registration import Person, register
from tests.factories import ANALYSIS, accepted, cst, registered, registration

T0 = cst(2026, 3, 2, 10, 0)


def _case(ctx, number):
    return queries.get_complaint(ctx, number)["case"] if hasattr(queries, "get_complaint") else None


def _closed(ctx, received):
    number = accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    a.negotiate(ctx, number, actor="liaison", findings="核实属实", at=received + timedelta(days=1))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="住院属实",
        basis="合同第五条",
        reasons="属实",
        remedies=["review", "mediation"],
        at=received + timedelta(days=2),
    )
    a.notify(
        ctx,
        number,
        actor="liaison",
        channel="sms",
        proof="回执",
        at=received + timedelta(days=2, hours=1),
    )
    a.close(
        ctx,
        number,
        actor="liaison",
        **ANALYSIS,
        root_cause="时效",
        at=received + timedelta(days=3),
    )
    return number


def test_a_first_complaint_is_not_a_repeat(ctx):
    reg = register(ctx, registration(received_at=T0), actor="clerk")
    assert reg.repeat.kind == "none" and reg.state == "registered"


def test_a_repeat_of_an_open_case_is_merged_into_it_and_restarts_its_decision_clock(ctx):
    first = accepted(ctx, T0)
    later = T0 + timedelta(days=10)
    reg = register(
        ctx, registration(received_at=later, facts="新情况: 医院补充了费用清单"), actor="clerk"
    )
    assert reg.repeat.kind == "merged" and reg.repeat.target == first and reg.repeat.new_facts
    assert reg.state == "merged"
    master = queries.get_complaint(ctx, first)
    decision = next(d for d in master["deadlines"] if d["name"] == "decision")
    assert decision["started"] == later  # Art. 18 ¶3: counted from the new material
    assert [e["action"] for e in master["events"]][-1] == "new_facts"
    merged = queries.get_complaint(ctx, reg.number)["case"]
    assert merged["merged_into_id"] == master["case"]["id"]


def test_a_repeat_with_the_same_facts_is_merged_without_restarting_the_clock(ctx):
    first = accepted(ctx, T0)
    reg = register(ctx, registration(received_at=T0 + timedelta(days=3)), actor="clerk")
    assert reg.repeat.kind == "merged" and not reg.repeat.new_facts
    decision = next(
        d for d in queries.get_complaint(ctx, first)["deadlines"] if d["name"] == "decision"
    )
    assert decision["started"] == T0


def test_a_repeat_of_a_closed_case_opens_a_new_case_linked_to_the_master(ctx):
    first = _closed(ctx, T0)
    reg = register(ctx, registration(received_at=T0 + timedelta(days=30)), actor="clerk")
    assert reg.repeat.kind == "linked" and reg.repeat.master == first
    assert reg.state == "registered"
    data = queries.get_complaint(ctx, reg.number)
    assert data["case"]["linked_to_id"] is not None
    # The link, then the priority it raises (a repeat ranks higher, docs/rules.md §4).
    assert [e["action"] for e in data["events"]][-2:] == ["link", "reprioritize"]
    assert data["case"]["priority"] == "key"


def test_a_third_complaint_links_to_the_first_not_to_the_second(ctx):
    first = _closed(ctx, T0)
    second = register(ctx, registration(received_at=T0 + timedelta(days=20)), actor="clerk")
    third = register(
        ctx, registration(received_at=T0 + timedelta(days=40), channel="online"), actor="clerk"
    )
    assert second.repeat.master == first
    # the second is open and being handled, so the third merges into it; the matter is one
    assert third.repeat.kind == "merged" and third.repeat.target == second.number
    assert third.repeat.master == first
    matter = ledger.list_matters(ctx)
    assert len(matter) == 1 and matter[0]["complaint_count"] == 3
    assert matter[0]["case_count"] == 2


def test_a_regulator_forwarded_repeat_is_linked_never_merged_and_stays_countable(ctx):
    first = accepted(ctx, T0)
    reg = register(
        ctx,
        registration(
            received_at=T0 + timedelta(days=5), channel="regulator", regulator_ref="12378-0001"
        ),
        actor="clerk",
    )
    assert reg.repeat.kind == "linked" and reg.repeat.master == first
    assert reg.state == "registered"
    again = register(
        ctx,
        registration(
            received_at=T0 + timedelta(days=6), channel="regulator", regulator_ref="12378-0002"
        ),
        actor="clerk",
    )
    assert again.repeat.kind == "linked"
    [matter] = ledger.list_matters(ctx)
    assert matter["regulator_count"] == 2 and matter["case_count"] == 3


def test_the_window_includes_day_180_and_excludes_day_181(ctx):
    first = _closed(ctx, cst(2026, 1, 5, 23, 30))
    day180 = cst(2026, 1, 5, 9, 0) + timedelta(days=180)
    reg = register(ctx, registration(received_at=day180), actor="clerk")
    assert reg.repeat.kind == "linked" and reg.repeat.master == first


def test_day_181_is_outside_the_window(ctx):
    _closed(ctx, cst(2026, 1, 5, 0, 1))
    day181 = cst(2026, 1, 5, 23, 59) + timedelta(days=181)
    reg = register(ctx, registration(received_at=day181), actor="clerk")
    assert reg.repeat.kind == "none"


def test_the_same_complainant_on_another_policy_and_category_is_not_a_repeat(ctx):
    accepted(ctx, T0)
    reg = register(
        ctx, registration(received_at=T0 + timedelta(days=1), policy_no="P999"), actor="clerk"
    )
    assert reg.repeat.kind == "none"


def test_the_same_category_on_another_policy_is_a_repeat(ctx):
    first = accepted(ctx, T0)  # accepted as claims
    reg = register(
        ctx,
        registration(received_at=T0 + timedelta(days=1), policy_no="P999", category="claims"),
        actor="clerk",
    )
    assert reg.repeat.kind == "merged"
    assert reg.repeat.matched_on == ("id_number", "phone", "category")
    assert reg.repeat.target == first


def test_another_complainant_on_the_same_policy_is_not_a_repeat_by_default(ctx):
    accepted(ctx, T0)
    other = Person(name="钱七", phone="13900139000")
    reg = register(
        ctx, registration(received_at=T0 + timedelta(days=1), complainant=other), actor="clerk"
    )
    assert reg.repeat.kind == "none"


def test_the_matching_keys_come_from_configuration(tmp_path, sqlite_template):
    import shutil

    from services.context import open_context
    from tests.conftest import make_config, seed_users

    db = tmp_path / "t.db"
    shutil.copy(sqlite_template, db)
    ctx = open_context(
        make_config(
            tmp_path,
            f"sqlite:///{db}",
            TOUSU__REPEAT__MATCH='["policy"]',
            TOUSU__REPEAT__WINDOW_DAYS="30",
        )
    )
    seed_users(ctx)
    try:
        first = accepted(ctx, T0)
        other = Person(name="钱七", phone="13900139000")
        reg = register(
            ctx, registration(received_at=T0 + timedelta(days=30), complainant=other), actor="clerk"
        )
        assert reg.repeat.kind == "merged" and reg.repeat.target == first
        late = register(
            ctx,
            registration(
                received_at=T0 + timedelta(days=31, hours=14),
                policy_no="P2026000123",
                complainant=other,
            ),
            actor="clerk",
        )
        # day 31 of a 30-day window from the first; but within 30 days of the merged repeat
        assert late.repeat.kind == "merged"
    finally:
        ctx.close()


def test_a_repeat_enters_the_ledger_with_its_master(ctx):
    first = _closed(ctx, T0)
    reg = register(ctx, registration(received_at=T0 + timedelta(days=30)), actor="clerk")
    [matter] = ledger.list_matters(ctx)
    assert matter["master"] == first and matter["kind"] == "repeat"
    shown = ledger.show(ctx, matter["code"])
    assert [(m["number"], m["relation"]) for m in shown["members"]] == [
        (first, "master"),
        (reg.number, "linked"),
    ]
    assert matter["owner"] == "liaison"


def test_registration_without_a_repeat_writes_nothing_to_the_ledger(ctx):
    registered(ctx, T0)
    registered(ctx, T0, complainant=Person(name="钱七", phone="13900139000"))
    assert ledger.list_matters(ctx) == []


def test_name_phone_and_policy_without_an_id_number_repeat_a_complaint_that_gave_all_four(ctx):
    first = _closed(ctx, T0)  # 赵六 with ID number, phone and policy P2026000123
    no_id = Person(name="赵六", phone="138 0013 8000", address="北京市朝阳区")
    reg = register(
        ctx, registration(received_at=T0 + timedelta(days=20), complainant=no_id), actor="clerk"
    )
    assert reg.repeat.kind == "linked" and reg.repeat.master == first
    assert reg.repeat.matched_on == ("phone", "policy_name", "policy")
    [matter] = ledger.list_matters(ctx)
    member = ledger.show(ctx, matter["code"])["members"][1]
    assert (member["number"], member["matched_on"]) == (reg.number, "phone,policy_name,policy")
    added = ledger.show(ctx, matter["code"])["actions"][-1]
    assert "联系电话、保单号+姓名、同一保单" in added["note"]


def test_the_same_name_on_the_same_policy_with_a_new_phone_is_a_repeat_by_policy_and_name(ctx):
    first = accepted(ctx, T0)
    moved = Person(name="赵六", phone="13911112222")
    reg = register(
        ctx, registration(received_at=T0 + timedelta(days=2), complainant=moved), actor="clerk"
    )
    assert reg.repeat.kind == "merged" and reg.repeat.target == first
    assert reg.repeat.matched_on == ("policy_name", "policy")


def test_the_id_number_alone_finds_the_complainant_with_a_new_phone_and_policy(ctx):
    accepted(ctx, T0)  # accepted as claims
    again = Person(name="赵六", phone="13911112222", id_number="11010519491231002X")
    reg = register(
        ctx,
        registration(
            received_at=T0 + timedelta(days=2),
            complainant=again,
            policy_no="P777",
            category="claims",
        ),
        actor="clerk",
    )
    assert reg.repeat.kind == "merged" and reg.repeat.matched_on == ("id_number", "category")


def test_the_identifiers_that_count_come_from_configuration(tmp_path, sqlite_template):
    import shutil

    from services.context import open_context
    from tests.conftest import make_config, seed_users

    db = tmp_path / "t.db"
    shutil.copy(sqlite_template, db)
    ctx = open_context(
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__REPEAT__IDENTIFIERS='["id_number"]')
    )
    seed_users(ctx)
    try:
        accepted(ctx, T0)
        no_id = Person(name="赵六", phone="13800138000")
        reg = register(
            ctx, registration(received_at=T0 + timedelta(days=2), complainant=no_id), actor="clerk"
        )
        assert reg.repeat.kind == "none"
    finally:
        ctx.close()
