"""Rectification items: the overdue ladder through the deadline sweep at fixed instants, each
rung once; updates; 整改完成率 by department and branch against the target."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from services.casefile import rectification as rect
from services.context import Context
from services.lifecycle.queries import get_complaint
from states.errors import Forbidden, InvalidInput
from storage import records
from tests.factories import accepted, cst

RECEIVED = cst(2026, 8, 3, 9, 0)
ADDED = cst(2026, 8, 4, 10, 0)


def _alerts(ctx: Context) -> list[tuple[str, str]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(records.OUTBOX.c.kind, records.OUTBOX.c.audience)
            .where(records.OUTBOX.c.kind == "rectification_overdue")
            .order_by(records.OUTBOX.c.id)
        ).all()
    return [(r.kind, r.audience) for r in rows]


def _overdue_events(ctx: Context, number: str) -> list[int]:
    events = get_complaint(ctx, number)["events"]
    return [e["details"]["level"] for e in events if e["action"] == "rectify_overdue"]


def test_an_overdue_item_climbs_the_ladder_once_per_rung(ctx: Context) -> None:
    number = accepted(ctx, RECEIVED)
    item = rect.add(
        ctx,
        number,
        actor="liaison",
        what="理赔时效考核纳入分支机构 KPI",
        department="claims",
        due=date(2026, 8, 31),
        root_cause="理赔审核环节积压",
        now=ADDED,
    )
    assert item["due_on"] == date(2026, 8, 31)
    assert rect.sweep(ctx, now=cst(2026, 8, 31, 23, 59)).escalated == 0  # due that day: not late
    assert rect.sweep(ctx, now=cst(2026, 9, 1, 0, 0)).escalated == 1
    assert rect.sweep(ctx, now=cst(2026, 9, 1, 0, 5)).escalated == 0  # acted on once
    assert rect.sweep(ctx, now=cst(2026, 9, 7, 23, 0)).escalated == 0
    assert rect.sweep(ctx, now=cst(2026, 9, 8, 0, 0)).escalated == 1
    assert _overdue_events(ctx, number) == [1, 2]
    assert _alerts(ctx) == [
        ("rectification_overdue", "role:handler"),
        ("rectification_overdue", "role:department_head"),
    ]
    listed = rect.list_items(ctx, actor="supervisor", overdue=True, now=cst(2026, 9, 8, 1, 0))
    assert [(i["id"], i["ladder_level"], i["overdue"]) for i in listed] == [(item["id"], 2, True)]


def test_a_sweep_that_finds_an_item_late_goes_straight_to_the_rung_it_reached(
    ctx: Context,
) -> None:
    number = accepted(ctx, RECEIVED)
    rect.add(ctx, number, actor="liaison", what="修订话术", department="sales",
             due=date(2026, 8, 10), now=ADDED)  # fmt: skip
    assert rect.sweep(ctx, now=cst(2026, 9, 20, 9, 0)).escalated == 1
    assert _overdue_events(ctx, number) == [3]
    assert _alerts(ctx) == [("rectification_overdue", "role:committee")]


def test_a_done_item_stops_climbing_and_a_new_due_date_starts_the_ladder_afresh(
    ctx: Context,
) -> None:
    number = accepted(ctx, RECEIVED)
    done = rect.add(ctx, number, actor="liaison", what="培训", department="operations",
                    due=date(2026, 8, 20), now=ADDED)  # fmt: skip
    moved = rect.add(ctx, number, actor="liaison", what="流程", department="operations",
                     due=date(2026, 8, 20), now=ADDED)  # fmt: skip
    assert rect.sweep(ctx, now=cst(2026, 8, 21, 9, 0)).escalated == 2
    with pytest.raises(InvalidInput) as err:  # done needs its proof
        rect.update_item(ctx, done["id"], actor="liaison", status="done", now=cst(2026, 8, 22))
    assert err.value.field == "evidence"
    rect.update_item(ctx, done["id"], actor="liaison", status="done",
                     evidence="培训签到表已归档", now=cst(2026, 8, 22))  # fmt: skip
    rect.update_item(ctx, moved["id"], actor="supervisor", due=date(2026, 9, 5),
                     note="系统改造排期", now=cst(2026, 8, 22))  # fmt: skip
    assert rect.sweep(ctx, now=cst(2026, 9, 1, 9, 0)).escalated == 0
    assert rect.sweep(ctx, now=cst(2026, 9, 6, 9, 0)).escalated == 1
    assert _overdue_events(ctx, number) == [1, 1, 1]
    with pytest.raises(InvalidInput) as err:  # cancelled is final
        rect.update_item(ctx, moved["id"], actor="liaison", status="cancelled", now=cst(2026, 9, 7))
        rect.update_item(ctx, moved["id"], actor="liaison", status="open", now=cst(2026, 9, 7))
    assert err.value.field == "status"


def test_bad_items_are_refused_by_field_and_roles_are_checked(ctx: Context) -> None:
    number = accepted(ctx, RECEIVED)
    for field, kwargs in (
        ("department", {"what": "x", "department": "kitchen"}),
        ("what", {"what": " ", "department": "claims"}),
        ("due", {"what": "x", "department": "claims", "due": date(2026, 8, 1)}),
    ):
        with pytest.raises(InvalidInput) as err:
            rect.add(ctx, number, actor="liaison", now=ADDED, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field
    with pytest.raises(Forbidden):
        rect.add(ctx, number, actor="clerk", what="x", department="claims", now=ADDED)
    assert rect.list_items(ctx, actor="clerk", number=number) == []


def test_the_completion_rate_by_department_and_branch_meets_or_misses_the_target(
    ctx: Context,
) -> None:
    number = accepted(ctx, RECEIVED)
    ids = []
    for dept, due in (("claims", 10), ("claims", 20), ("claims", 31), ("legal", 15)):
        item = rect.add(ctx, number, actor="liaison", what=f"{dept}{due}", department=dept,
                        due=date(2026, 8, due), now=ADDED)  # fmt: skip
        ids.append(item["id"])
    for item_id in ids[:3]:
        rect.update_item(ctx, item_id, actor="liaison", status="done", evidence="已完成",
                         now=cst(2026, 8, 9))  # fmt: skip
    late = rect.add(ctx, number, actor="liaison", what="九月", department="legal",
                    due=date(2026, 9, 3), now=ADDED)  # fmt: skip
    rect.update_item(ctx, late["id"], actor="liaison", status="cancelled", now=ADDED)
    got = rect.completion(ctx, start=cst(2026, 8, 1), end=cst(2026, 9, 1))
    assert got["target_rate"] == 0.95
    assert got["total"] | {} == {**got["total"], "due": 4, "done": 3, "rate": 0.75}
    by_dept = {d["code"]: (d["due"], d["done"], d["meets_target"]) for d in got["by_department"]}
    assert by_dept == {"claims": (3, 3, True), "legal": (1, 0, False)}
    branch = get_complaint(ctx, number)["case"]["branch"]
    assert [(b["code"], b["rate"]) for b in got["by_branch"]] == [(branch, 0.75)]
    assert (
        rect.completion(ctx, start=cst(2026, 9, 1), end=cst(2026, 10, 1))["total"]["rate"] is None
    )


def test_the_monthly_report_shows_the_completion_rate_by_department_and_branch(
    ctx: Context, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from services.reporting.files import produce
    from services.reporting.periods import parse_month

    number = accepted(ctx, RECEIVED)
    done = rect.add(ctx, number, actor="liaison", what="培训", department="claims",
                    due=date(2026, 8, 20), now=ADDED)  # fmt: skip
    rect.add(ctx, number, actor="liaison", what="制度", department="legal",
             due=date(2026, 8, 25), now=ADDED)  # fmt: skip
    rect.update_item(ctx, done["id"], actor="liaison", status="done", evidence="签到表",
                     now=cst(2026, 8, 19))  # fmt: skip
    out = produce(ctx, parse_month("2026-08"), actor="supervisor", notify=False, out_dir=tmp_path)
    ws = load_workbook(out.excel)["整改完成率"]
    rows = {r[0]: r[1:] for r in ws.iter_rows(min_row=3, values_only=True) if r[0]}
    assert rows["理赔部"] == (1, 1, 1.0, "达标")
    assert rows["法律部"] == (1, 0, 0.0, "未达标")
    assert rows["合计"] == (2, 1, 0.5, "未达标")
    html = out.html.read_text(encoding="utf-8")
    assert "十、整改完成率" in html and "目标 95%" in html and "50.0%" in html


def test_the_five_dimension_analysis_lists_the_cases_rectification_items(ctx: Context) -> None:
    from services.reporting.case_analysis import analyse

    number = accepted(ctx, RECEIVED)
    item = rect.add(ctx, number, actor="liaison", what="理赔时效纳入考核", department="claims",
                    due=date(2026, 8, 31), now=ADDED)  # fmt: skip
    root = analyse(ctx, number)["溯源整改"]
    assert f"整改事项 #{item['id']}: 理赔时效纳入考核 (理赔部, 期限 2026-08-31, 待整改)" in root


@pytest.mark.postgres
def test_the_ladder_and_the_rate_work_on_both_databases(any_ctx: Context) -> None:
    number = accepted(any_ctx, RECEIVED)
    item = rect.add(any_ctx, number, actor="liaison", what="流程", department="claims",
                    due=date(2026, 8, 31), now=ADDED)  # fmt: skip
    assert rect.sweep(any_ctx, now=cst(2026, 9, 8, 0, 0)).escalated == 1
    assert rect.sweep(any_ctx, now=cst(2026, 9, 8, 0, 0)).escalated == 0
    rect.update_item(any_ctx, item["id"], actor="liaison", status="done", evidence="已完成",
                     now=cst(2026, 9, 9))  # fmt: skip
    got = rect.completion(any_ctx, start=cst(2026, 8, 1), end=cst(2026, 9, 1))
    assert (got["total"]["due"], got["total"]["done"]) == (1, 0)  # done after the period
