"""The repeat/backlog ledger: backlog edges, counts, owners, consultation, updates, export."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from services.automatic import ledger
from services.lifecycle.registration import Person, register
from services.reporting import ledger_export
from states.errors import Forbidden, InvalidInput
from storage import records
from tests.factories import accepted, cst, registration

NOW = cst(2026, 6, 30, 2, 0)

pytestmark = pytest.mark.clock


def test_a_case_open_for_60_days_is_not_backlog_and_61_days_is(ctx):
    accepted(ctx, cst(2026, 5, 1, 23, 0))  # 60 local days before 6/30
    ledger.refresh(ctx, now=NOW)
    assert ledger.list_matters(ctx) == []
    accepted(ctx, cst(2026, 4, 30, 9, 0), complainant=Person(name="钱七", phone="13900139000"))
    ledger.refresh(ctx, now=NOW)
    [matter] = ledger.list_matters(ctx)
    assert matter["kind"] == "backlog" and matter["owner"] == "liaison"


def test_three_unresolved_complaints_of_one_matter_make_it_backlog(ctx_with):
    ctx = ctx_with(TOUSU__LEDGER__CONSULT="[]")
    t = cst(2026, 6, 1, 10)
    accepted(ctx, t, channel="regulator", regulator_ref="R1")
    register(
        ctx,
        registration(received_at=t + timedelta(days=1), channel="regulator", regulator_ref="R2"),
        actor="clerk",
    )
    ledger.refresh(ctx, now=NOW)
    assert ledger.list_matters(ctx)[0]["kind"] == "repeat"
    register(
        ctx,
        registration(received_at=t + timedelta(days=2), channel="regulator", regulator_ref="R3"),
        actor="clerk",
    )
    summary = ledger.refresh(ctx, now=NOW)
    [matter] = ledger.list_matters(ctx)
    assert matter["kind"] == "backlog" and summary["backlog_new"] == 1
    assert matter["complaint_count"] == 3 and matter["regulator_count"] == 3


def test_the_nightly_refresh_sends_repeat_matters_to_joint_consultation_once(ctx):
    t = cst(2026, 6, 1, 10)
    first = accepted(ctx, t)
    register(
        ctx,
        registration(received_at=t + timedelta(days=1), channel="regulator", regulator_ref="R1"),
        actor="clerk",
    )
    summary = ledger.refresh(ctx, now=NOW)
    assert summary["consulted"] == [first]
    assert records_state(ctx, first) == "consulting"
    assert ledger.refresh(ctx, now=NOW)["consulted"] == []
    [matter] = ledger.list_matters(ctx)
    assert matter["consulted_at"] is not None
    kinds = [a["kind"] for a in ledger.show(ctx, matter["code"])["actions"]]
    assert "consultation" in kinds


def test_consultation_waits_while_no_case_of_the_matter_can_be_consulted(ctx):
    t = cst(2026, 6, 1, 10)
    register(ctx, registration(received_at=t), actor="clerk")
    register(
        ctx,
        registration(received_at=t + timedelta(days=1), channel="regulator", regulator_ref="R1"),
        actor="clerk",
    )
    summary = ledger.refresh(ctx, now=NOW)
    assert summary["consulted"] == [] and summary["consult_pending"] == 1


def test_which_kinds_go_to_consultation_is_configured(ctx_with):
    ctx = ctx_with(TOUSU__LEDGER__CONSULT='["backlog"]')
    t = cst(2026, 6, 1, 10)
    accepted(ctx, t)
    register(
        ctx,
        registration(received_at=t + timedelta(days=1), channel="regulator", regulator_ref="R1"),
        actor="clerk",
    )
    assert ledger.refresh(ctx, now=NOW)["consulted"] == []


def records_state(ctx, number):
    with ctx.engine.connect() as conn:
        return records.load_case(conn, number)["state"]


def _matter(ctx):
    t = cst(2026, 6, 1, 10)
    accepted(ctx, t)
    register(
        ctx,
        registration(received_at=t + timedelta(days=1), channel="regulator", regulator_ref="R1"),
        actor="clerk",
    )
    return ledger.list_matters(ctx)[0]["code"]


def test_a_supervisor_sets_owner_class_measures_status_and_the_stop_date(ctx):
    code = _matter(ctx)
    ledger.update_matter(
        ctx, code, actor="supervisor", owner="liaison2", resolution_class="hardship"
    )
    ledger.update_matter(
        ctx, code, actor="liaison2", measure="assist", note="协调困难补助 2,000 元"
    )
    shown = ledger.update_matter(
        ctx, code, actor="liaison2", status="resolved", stopped_on=date(2026, 6, 20)
    )
    m = shown["matter"]
    assert (m["owner"], m["resolution_class"], m["status"]) == ("liaison2", "hardship", "resolved")
    assert m["stopped_on"] == date(2026, 6, 20)
    kinds = [a["kind"] for a in shown["actions"]]
    assert {"owner_changed", "class_changed", "measure", "status_changed", "stopped"} <= set(kinds)


def test_a_matter_cannot_be_resolved_before_it_is_classified(ctx):
    code = _matter(ctx)
    with pytest.raises(InvalidInput, match="化解分类"):
        ledger.update_matter(ctx, code, actor="supervisor", status="resolved")


def test_only_supervisors_committee_or_the_owner_update_a_matter(ctx):
    code = _matter(ctx)
    with pytest.raises(Forbidden):
        ledger.update_matter(ctx, code, actor="liaison2", note="x")
    ledger.update_matter(ctx, code, actor="liaison", note="owner may")  # owner of the case


def test_an_unknown_class_or_measure_is_refused_with_the_choices(ctx):
    code = _matter(ctx)
    with pytest.raises(InvalidInput, match="恶意投诉"):
        ledger.update_matter(ctx, code, actor="supervisor", resolution_class="bad")
    with pytest.raises(InvalidInput, match="行业调解"):
        ledger.update_matter(ctx, code, actor="supervisor", measure="bribe", note="x")


def test_a_complainant_who_comes_back_reopens_a_resolved_matter(ctx):
    code = _matter(ctx)
    ledger.update_matter(
        ctx,
        code,
        actor="supervisor",
        resolution_class="reasonable",
        status="resolved",
        stopped_on=date(2026, 6, 10),
    )
    register(
        ctx,
        registration(received_at=cst(2026, 6, 12, 10), channel="regulator", regulator_ref="R9"),
        actor="clerk",
    )
    m = ledger.show(ctx, code)["matter"]
    assert m["status"] == "open" and m["stopped_on"] is None and m["complaint_count"] == 3


def test_the_ledger_history_is_append_only(ctx):
    _matter(ctx)
    with pytest.raises(Exception, match="append-only"), ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_action"))


def test_the_weekly_summary_goes_to_supervisors_once_a_week(ctx):
    _matter(ctx)
    first = ledger.weekly_summary(ctx, now=NOW)
    assert first["queued"] and first["open"] == 1 and first["by_kind"]["repeat"] == 1
    assert not ledger.weekly_summary(ctx, now=NOW + timedelta(days=1))["queued"]
    assert ledger.weekly_summary(ctx, now=NOW + timedelta(days=7))["queued"]
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(records.OUTBOX).where(records.OUTBOX.c.kind == "ledger_weekly")
        ).all()
    assert len(rows) == 2 and rows[0].audience == "supervisors"


def test_the_excel_export_has_one_row_per_matter_with_masked_names(ctx, tmp_path):
    from openpyxl import load_workbook

    code = _matter(ctx)
    ledger.update_matter(ctx, code, actor="supervisor", measure="explain", note="电话解释条款")
    path = ledger_export.export(ctx, tmp_path / "tz.xlsx")
    ws = load_workbook(path).active
    assert ws["A1"].value == "重复投诉与积案台账"
    header = [c.value for c in ws[3]]
    assert header[:4] == ["序号", "台账编号", "投诉人", "主投诉编号"]
    row = [c.value for c in ws[4]]
    assert row[1] == code and row[2] == "赵*" and row[5] == 2 and row[7] == 1
    assert "电话解释条款" in row[header.index("化解措施")]
    assert ws.max_row == 4
