"""Issue 13 items 1–4, as a compliance audit found them: false backlog and the closure
follow-through, review (核查) by a higher institution, priority assessed at registration and
re-assessed with the facts, manual escalation and the 舆情 plan."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config import ConfigError
from services import users
from services.automatic import escalation, ledger
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle import queries
from services.lifecycle.registration import Person
from services.reporting import reports
from services.reporting.periods import month_of
from states.errors import Forbidden, InvalidInput
from storage import records
from storage.public_opinion import OpinionTask
from storage.schema import table_of
from tests.cli.conftest import Tousu, as_json
from tests.conftest import make_config
from tests.factories import accepted, cst, notified, registered

pytestmark = pytest.mark.clock
OPINION_TASK = table_of(OpinionTask)


def _person(i: int) -> Person:
    return Person(name=f"客户{i}", phone=f"1391111{i:04d}")


def _rows(ctx: Context, table: Any, **where: Any) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        q = select(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return [dict(r) for r in conn.execute(q.order_by(table.c.id)).mappings()]


def _case(ctx: Context, number: str) -> dict[str, Any]:
    return queries.get_complaint(ctx, number)["case"]


def _alerts(ctx: Context, number: str, kind: str) -> list[dict[str, Any]]:
    cid = _case(ctx, number)["id"]
    return _rows(ctx, records.OUTBOX, complaint_id=cid, kind=kind)


# ---- 1. Closure follow-through and the backlog ------------------------------------------------


def test_a_notified_case_has_a_closure_deadline_in_the_queue_that_climbs_the_ladder(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    received = now - timedelta(days=30)
    number = notified(ctx, received)
    notified_at = received + timedelta(days=2, hours=1)  # tests/factories.py
    deadlines = {d["name"]: d for d in queries.get_complaint(ctx, number)["deadlines"]}
    closure = deadlines["closure"]
    expected = ctx.clock.start("closure", notified_at)
    assert closure["status"] == "running"
    assert closure["due"] == expected.due_at
    # In the handler's queue, by that deadline.
    items = as_json(tousu("queue", "--json", user="liaison"))["items"]
    assert [i["number"] for i in items] == [number]
    assert items[0]["nearest_due"] == expected.due_at.astimezone(ctx.tz).isoformat()
    # Past due: the sweep escalates it like any other deadline (breach → department head).
    escalation.sweep(ctx, now=now)
    events = [e for e in queries.get_complaint(ctx, number)["events"] if e["action"] == "escalate"]
    assert any(e["details"].get("deadline") == "closure" for e in events)
    audiences = {r["audience"] for r in _alerts(ctx, number, "escalation")}
    assert "role:department_head" in audiences or "role:committee" in audiences
    # Closing stops it.
    a.close(
        ctx,
        number,
        actor="liaison",
        background="退休教师",
        content="理赔时效",
        process="调查协商",
        rules="保险法第二十三条",
        outcome="补足赔款",
        root_cause="时效监控缺失",
    )
    deadlines = {d["name"]: d for d in queries.get_complaint(ctx, number)["deadlines"]}
    assert deadlines["closure"]["status"] == "stopped"


def test_a_review_stops_the_closure_clock_and_its_conclusion_starts_it_again(
    ctx: Context,
) -> None:
    number = notified(ctx, cst(2026, 3, 2, 9), by_branch=True)
    a.request_review(ctx, number, actor="liaison", request="书面申请", at=cst(2026, 3, 6, 9))
    deadlines = {d["name"]: d for d in queries.get_complaint(ctx, number)["deadlines"]}
    assert deadlines["closure"]["status"] == "stopped"
    a.conclude_review(ctx, number, actor="supervisor", conclusion="维持", at=cst(2026, 3, 20, 9))
    deadlines = {d["name"]: d for d in queries.get_complaint(ctx, number)["deadlines"]}
    assert deadlines["closure"]["status"] == "running"
    assert deadlines["closure"]["due"] == ctx.clock.start("closure", cst(2026, 3, 20, 9)).due_at


def test_backlog_counts_unresolved_handling_and_group_complaints_in_the_ledger_and_report(
    ctx: Context, now: datetime
) -> None:
    old = now - timedelta(days=90)
    decided_unclosed = notified(ctx, old)  # notified within days, never closed
    unresolved = accepted(ctx, old + timedelta(hours=1), complainant=_person(1))
    group = accepted(ctx, now - timedelta(days=20), complainant=_person(2), group_size=25)
    recent = accepted(ctx, now - timedelta(days=20, hours=1), complainant=_person(3))

    ledger.refresh(ctx, now=now)
    backlog_ids = {
        m["master_complaint_id"] for m in _rows(ctx, ledger.LEDGER_MATTER, kind="backlog")
    }
    ids = {n: _case(ctx, n)["id"] for n in (decided_unclosed, unresolved, group, recent)}
    assert backlog_ids == {ids[unresolved], ids[group]}
    notes = [r["note"] for r in _rows(ctx, ledger.LEDGER_ACTION, kind="kind_changed")]
    assert any("涉及 25 人的群体投诉" in n for n in notes)

    report = reports.build(ctx, month_of(now.astimezone(ctx.tz).date()), as_of=now)
    assert report.summary["backlog"] == 2


# ---- 2. Review (核查) by a higher institution (Art. 20) --------------------------------------


@pytest.fixture
def branch_supervisors(ctx: Context) -> None:
    for name, branch in (
        ("bj_sup", "beijing"),
        ("gd_sup", "guangdong"),
        ("sc_sup", "sichuan"),
    ):
        users.add_user(ctx, name, name=name, role="supervisor", team="消保", branch=branch)


def _in_review(ctx: Context, institution: str) -> str:
    number = accepted(ctx, cst(2026, 3, 2, 9), branch=institution)
    a.investigate(ctx, number, actor="liaison", at=cst(2026, 3, 2, 12))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="住院属实",
        basis="保险合同第五条",
        reasons="不属于保险责任",
        at=cst(2026, 3, 4, 9),
    )
    a.notify(ctx, number, actor="liaison", channel="sms", proof="回执", at=cst(2026, 3, 4, 10))
    a.request_review(ctx, number, actor="liaison", request="书面申请", at=cst(2026, 3, 6, 9))
    return number


def test_the_deciding_institution_is_recorded(ctx: Context) -> None:
    number = _in_review(ctx, "beijing")
    case = _case(ctx, number)
    assert (case["decided_by"], case["decided_by_branch"]) == ("beijing", True)
    head = accepted(ctx, cst(2026, 3, 2, 9), complainant=_person(5))
    a.investigate(ctx, head, actor="liaison", at=cst(2026, 3, 2, 12))
    a.decide(ctx, head, actor="liaison", facts="f", basis="b", reasons="r", at=cst(2026, 3, 4))
    assert (_case(ctx, head)["decided_by"], _case(ctx, head)["decided_by_branch"]) == (
        "head_office",
        False,
    )


@pytest.mark.usefixtures("branch_supervisors")
def test_a_review_conclusion_by_the_deciding_branch_itself_is_refused(
    tousu: Tousu, ctx: Context
) -> None:
    number = _in_review(ctx, "beijing")
    before = _case(ctx, number)
    result = tousu(
        "review", "conclude", number, "--conclusion", "维持", "--at", "2026-03-20T10:00",
        user="bj_sup",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "上级机构" in result.output and "北京分公司" in result.output
    after = _case(ctx, number)
    assert (after["state"], after["version"], after["reviewed_by"]) == (
        "reviewing",
        before["version"],
        None,
    )
    ok = tousu(
        "review", "conclude", number, "--conclusion", "维持", "--at", "2026-03-20T10:00",
        user="supervisor",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert (_case(ctx, number)["state"], _case(ctx, number)["reviewed_by"]) == (
        "notified",
        "head_office",
    )


@pytest.mark.usefixtures("branch_supervisors")
def test_a_central_sub_branch_decision_is_reviewed_by_its_own_branch_not_another(
    ctx: Context,
) -> None:
    number = _in_review(ctx, "guangdong_foshan")
    # Another branch (四川) is not above 佛山: refused (by the review rule, or before it by the
    # handler's scope when [access] limits supervisors to their branch), nothing changed.
    version = _case(ctx, number)["version"]
    with pytest.raises(Forbidden):
        a.conclude_review(ctx, number, actor="sc_sup", conclusion="维持", at=cst(2026, 3, 20))
    assert (_case(ctx, number)["state"], _case(ctx, number)["version"]) == ("reviewing", version)
    a.conclude_review(ctx, number, actor="gd_sup", conclusion="维持", at=cst(2026, 3, 20))
    assert _case(ctx, number)["reviewed_by"] == "guangdong"


def test_the_taxonomy_refuses_a_parent_that_is_not_above(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[taxonomy.branches]\nbeijing = { label = "北京分公司", level = "branch", '
        'parent = "guangdong_foshan" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="beijing"):
        make_config(tmp_path, TOUSU_CONFIG=str(bad))
    config = make_config(tmp_path)
    assert config.taxonomy.above("guangdong_foshan") == ["guangdong", "head_office"]
    assert config.taxonomy.level_of("guangdong_foshan") == "central_sub"


# ---- 3. Priority at registration and re-assessed with the facts -------------------------------


def test_group_and_forwarded_complaints_are_ranked_at_registration(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    group = registered(ctx, now - timedelta(hours=2), complainant=_person(1), group_size=25)
    forwarded = registered(
        ctx,
        now - timedelta(hours=1),
        complainant=_person(2),
        channel="regulator",
        regulator_ref="12378-2026-0001",
    )
    g, f = _case(ctx, group), _case(ctx, forwarded)
    assert (g["priority"], f["priority"]) == ("major", "key")
    assert g["priority_reasons"] == ["群体投诉 25 人(第二十九条)"]
    first = queries.get_complaint(ctx, group)["events"][0]
    assert (first["action"], first["details"]["priority"]) == ("register", "major")

    def numbers(*args: str) -> list[str]:
        result = tousu("queue", "--scope", "all", *args, "--json", user="supervisor")
        assert result.exit_code == 0, result.output
        return [i["number"] for i in as_json(result)["items"]]

    assert group not in numbers("--priority", "normal")
    assert numbers("--priority", "major") == [group]
    assert numbers("--priority", "key") == [forwarded]
    # The 重大 alert says 重大.
    major = [r for r in _alerts(ctx, group, "immediate_escalation") if ":major:" in r["dedupe_key"]]
    assert {r["audience"] for r in major} == {"role:committee", "role:senior_management"}
    for alert in major:
        payload = alert["payload"]
        assert (payload["priority"], payload["priority_label"]) == ("major", "重大")


def test_a_changed_fact_re_assesses_the_priority_as_an_event_and_escalates(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, now - timedelta(days=1), complainant=_person(3))
    assert _case(ctx, number)["priority"] == "normal"
    result = tousu(
        "facts", number, "--group-size", "25", "--reason", "同批次 25 位客户联名", "--json",
        user="liaison",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case = _case(ctx, number)
    # The version printed is the one to give --expect-version next (the priority change and
    # the escalation happen inside the action).
    assert as_json(result)["version"] == case["version"]
    assert (case["group_size"], case["priority"]) == (25, "major")
    events = queries.get_complaint(ctx, number)["events"]
    change = next(e for e in events if e["action"] == "reprioritize")
    assert (change["actor"], change["details"]["from"], change["details"]["to"]) == (
        "system",
        "normal",
        "major",
    )
    assert "一般 → 重大" in change["reason"]
    [alert] = _alerts(ctx, number, "immediate_escalation")[:1]
    assert alert["payload"]["priority"] == "major"
    # A fact that leaves the level as it is records no priority change.
    tousu("facts", number, "--amount", "150000", "--reason", "金额更正", user="liaison")
    events = queries.get_complaint(ctx, number)["events"]
    assert [e["action"] for e in events].count("reprioritize") == 1
    assert _case(ctx, number)["amount"] == 150000


def test_regulator_forwarding_learned_later_raises_priority_and_escalates(
    ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, now - timedelta(days=1), complainant=_person(4))
    a.update_facts(ctx, number, actor="liaison", reason="监管转来", regulator_ref="12378-9")
    case = _case(ctx, number)
    assert (case["regulator_forwarded"], case["priority"]) == (True, "key")
    audiences = {r["audience"] for r in _alerts(ctx, number, "immediate_escalation")}
    assert audiences == {"role:department_head"}


def test_facts_with_nothing_to_change_are_refused_naming_the_field(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, now - timedelta(days=1), complainant=_person(6))
    version = _case(ctx, number)["version"]
    result = tousu("facts", number, "--reason", "无", user="liaison")
    assert result.exit_code == 2 and "group_size" in result.output
    with pytest.raises(InvalidInput):
        a.update_facts(ctx, number, actor="liaison", reason="x", group_size=0)
    assert _case(ctx, number)["version"] == version


# ---- 4. Manual escalation and the 舆情 plan ----------------------------------------------------


def test_a_manual_escalation_alerts_the_audience_of_the_level_it_reaches(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, now - timedelta(days=1), complainant=_person(7))
    result = tousu("escalate", number, "--reason", "投诉人情绪激动", user="liaison")
    assert result.exit_code == 0, result.output
    [first] = _alerts(ctx, number, "escalation")
    assert (first["audience"], first["payload"]["level"], first["urgent"]) == (
        "role:handler",
        1,
        False,
    )
    a.escalate(ctx, number, actor="supervisor", reason="多次来电", level=3)
    last = _alerts(ctx, number, "escalation")[-1]
    assert (last["audience"], last["payload"]["level"], last["urgent"]) == (
        "role:department_head",
        3,
        True,
    )
    assert "多次来电" in last["payload"]["title"]


def test_media_involvement_starts_the_plan_with_a_task_and_escalates_at_once(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, now - timedelta(days=2), complainant=_person(8))
    result = tousu(
        "media", number, "--source", "某短视频平台发布投诉视频", "--assessor", "committee",
        user="liaison",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case = _case(ctx, number)
    assert (case["media_involved"], case["priority"]) == (True, "key")
    assert case["escalation_level"] >= 3
    [task] = _rows(ctx, OPINION_TASK, complaint_id=case["id"])
    assert (task["owner"], task["status"], task["source"]) == (
        "committee",
        "open",
        "某短视频平台发布投诉视频",
    )
    audiences = {r["audience"] for r in _alerts(ctx, number, "immediate_escalation")}
    assert audiences == {"role:senior_management", "role:public_opinion"}
    actions = [e["action"] for e in queries.get_complaint(ctx, number)["events"]]
    assert actions[-3:] == ["report_media", "reprioritize", "escalate"]
    # The handler sees the task in `show`.
    assert "舆情风险评估: 负责人 committee, 待完成" in tousu("show", number, user="liaison").stdout
    # Once only.
    again = tousu("media", number, "--source", "再次报道", user="liaison")
    assert again.exit_code == 3 and "已标记涉及舆情" in again.output
    # The outcome is recorded by upper management, not by the handler.
    assert tousu("opinion", number, "--outcome", "风险可控", user="liaison").exit_code == 3
    done = tousu("opinion", number, "--outcome", "风险可控, 分公司统一回应", user="committee")
    assert done.exit_code == 0, done.output
    [task] = _rows(ctx, OPINION_TASK, complaint_id=case["id"])
    assert (task["status"], task["outcome"], task["done_by"]) == (
        "done",
        "风险可控, 分公司统一回应",
        "committee",
    )
    assert tousu("opinion", number, "--outcome", "再记", user="committee").exit_code == 3
    [shown] = as_json(tousu("show", number, "--json", user="liaison"))["opinion_tasks"]
    assert (shown["status"], shown["outcome"], shown["done_by"]) == (
        "done",
        "风险可控, 分公司统一回应",
        "committee",
    )


def test_the_assessor_must_be_upper_management(tousu: Tousu, ctx: Context, now: datetime) -> None:
    number = accepted(ctx, now - timedelta(days=2), complainant=_person(9))
    result = tousu("media", number, "--source", "报道", "--assessor", "clerk", user="liaison")
    assert result.exit_code == 2 and "assessor" in result.output
    assert _case(ctx, number)["media_involved"] is False


def test_a_complaint_registered_with_media_involvement_opens_the_plan_task(
    ctx: Context, now: datetime
) -> None:
    number = registered(ctx, now - timedelta(hours=1), complainant=_person(10), media_involved=True)
    [task] = _rows(ctx, OPINION_TASK, complaint_id=_case(ctx, number)["id"])
    assert (task["status"], task["owner"]) == ("open", None)
    assert _case(ctx, number)["priority"] == "key"
