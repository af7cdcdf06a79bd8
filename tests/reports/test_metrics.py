"""Report metrics on a small known dataset (tests/reports/dataset.py), worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.context import Context
from services.reporting import reports
from services.reporting.periods import parse_month, parse_quarter, span
from tests.reports import dataset

pytestmark = pytest.mark.now(dataset.AS_OF)  # the dataset is October 2026, reported on 23 November


@pytest.fixture
def report(any_ctx: Context, tmp_path: Path) -> reports.Report:
    """The October report on SQLite and (when it answers) PostgreSQL."""
    dataset.build(any_ctx)
    dataset.write_exposure(tmp_path / "config" / "exposure")
    return reports.build(any_ctx, parse_month("2026-10"), as_of=dataset.AS_OF)


def test_october_volume_counts_complaints_received_in_the_month(report: reports.Report) -> None:
    s = report.summary
    assert s["volume"] == 4
    assert s["forwarded"] == 1


def test_month_on_month_and_year_on_year_compare_with_september_and_last_october(
    report: reports.Report,
) -> None:
    assert report.summary_previous["volume"] == 1
    assert report.summary_year_ago["volume"] == 1
    assert reports.change(report.summary["volume"], report.summary_previous["volume"]) == 3.0
    assert report.previous.label == "2026-09" and report.year_ago.label == "2025-10"


def test_timeliness_follows_the_configured_allowances(report: reports.Report) -> None:
    s = report.summary
    assert s["accepted_24h"] == pytest.approx(2 / 3)  # B late; D withdrawn before acceptance
    assert s["avg_decision_days"] == pytest.approx(7.5)  # A 5 days, B 10 days
    assert s["decided_7"] == pytest.approx(0.5)
    assert s["decided_15"] == pytest.approx(1.0)
    assert s["beyond_30"] == 1  # C still open 34 days after receipt
    assert s["beyond_60"] == 0


def test_timeliness_is_given_from_receipt_and_from_acceptance_each_labelled(
    report: reports.Report,
) -> None:
    # From receipt (the regulation's clock): A 5 days, B 10 days. From acceptance to the
    # decision (the internal practice): A accepted after 2 h, B after 30 h.
    s = report.summary
    assert s["avg_decision_days"] == pytest.approx(7.5)
    assert s["avg_accepted_decision_days"] == pytest.approx(((5 * 24 - 2) + (10 * 24 - 30)) / 48)
    labels = {key: label for key, label, _ in reports.METRICS}
    assert "自收到" in labels["avg_decision_days"]
    assert "自受理" in labels["avg_accepted_decision_days"]
    assert all("自收到" in labels[k] for k in ("decided_7", "decided_15"))


def test_repeat_backlog_and_deviation_rates(report: reports.Report) -> None:
    s = report.summary
    assert s["repeat_rate"] == pytest.approx(0.25)
    assert s["backlog"] == 1  # G, open since July
    assert s["deviation_rate"] == pytest.approx(0.5)  # B accepted late; C past its deadlines


def test_events_in_the_period_give_escalations_consultations_and_mediation(
    report: reports.Report,
) -> None:
    s = report.summary
    # B escalates on arrival (regulator-forwarded, level 2); G by hand (level 2).
    assert (s["escalations"], s["consultations"], s["mediations"]) == (2, 1, 1)
    assert s["mediation_success"] == 1.0
    assert report.escalation_levels == {"2": 2}


def test_exposure_ratios_use_the_period_file(report: reports.Report) -> None:
    s = report.summary
    assert s["per_premium"] == pytest.approx(4 / 3)
    assert s["per_policies"] == pytest.approx(4 / 5)
    assert s["per_insured"] == pytest.approx(4 / 7)
    beijing = next(r for r in report.breakdowns["branch"] if r.key == "beijing")
    assert beijing.metrics["volume"] == 2
    assert beijing.metrics["per_premium"] == pytest.approx(1.0)
    assert beijing.metrics["per_policies"] == pytest.approx(0.5)
    assert beijing.previous_volume == 1 and beijing.year_ago_volume == 1


def test_callbacks_count_attempts_recorded_in_the_period(ctx: Context) -> None:
    from sqlalchemy import insert

    numbers = dataset.build(ctx)
    with ctx.engine.begin() as conn:
        from storage import records
        from storage.callback import Callback

        cid = records.load_case(conn, numbers["A"])["id"]
        at = dataset.AS_OF.replace(month=10, day=12)
        base = {
            "complaint_id": cid,
            "round": 1,
            "due_at": at,
            "window_end_at": at,
            "assignee": "liaison",
            "recorded_at": at,
            "created_at": at,
        }
        conn.execute(
            insert(Callback.__table__),
            [  # type: ignore[attr-defined]
                {**base, "attempt": 1, "status": "unreachable", "satisfaction": None, "nps": None},
                {**base, "attempt": 2, "status": "reached", "satisfaction": "satisfied", "nps": 10},
                {
                    **base,
                    "attempt": 3,
                    "status": "reached",
                    "satisfaction": "dissatisfied",
                    "nps": 3,
                },
                {
                    **base,
                    "attempt": 4,
                    "status": "reached",
                    "satisfaction": "basically_satisfied",
                    "nps": 8,
                },
            ],
        )
    s = reports.build(ctx, parse_month("2026-10"), as_of=dataset.AS_OF).summary
    assert s["callback_reach"] == pytest.approx(3 / 4)
    assert s["satisfaction"] == pytest.approx(2 / 3)
    assert s["nps"] == pytest.approx(0.0)  # one promoter, one detractor, one passive


def test_breakdowns_cover_every_dimension_and_add_up(report: reports.Report) -> None:
    for dim in reports.DIMENSIONS:
        assert sum(r.metrics["volume"] or 0 for r in report.breakdowns[dim]) == 4
    handlers = {r.key: r.label for r in report.breakdowns["handler"]}
    assert handlers["liaison"] == "李对接" and handlers[""] == "未分派"
    categories = {r.key: r.metrics["volume"] for r in report.breakdowns["category"]}
    # G (surrender, received in July) appears only through its backlog and escalation.
    assert categories == {"claims": 2, "sales": 1, "": 1, "surrender": 0}
    surrender = next(r for r in report.breakdowns["category"] if r.key == "surrender")
    assert surrender.metrics["backlog"] == 1 and surrender.metrics["escalations"] == 1


def test_the_trend_ends_with_the_report_month(report: reports.Report) -> None:
    assert report.trend[-1] == ("2026-10", 4, 1)
    assert report.trend[-2] == ("2026-09", 1, 0)
    assert len(report.trend) == 13


def test_a_quarter_without_its_own_exposure_file_has_no_ratios(ctx: Context) -> None:
    dataset.build(ctx)
    rep = reports.build(ctx, parse_quarter("2026Q4"), as_of=dataset.AS_OF)
    assert rep.summary["volume"] == 4 and rep.summary["per_premium"] is None
    assert rep.previous.label == "2026Q3" and rep.summary_previous["volume"] == 2


def test_periods_parse_and_compare() -> None:
    assert (
        span(
            __import__("datetime").date(2026, 10, 1), __import__("datetime").date(2026, 10, 31)
        ).kind
        == "month"
    )
    p = span(__import__("datetime").date(2026, 10, 1), __import__("datetime").date(2026, 10, 15))
    assert p.previous().label == "2026-09-16~2026-09-30"
    assert parse_quarter("2026Q1").previous().label == "2025Q4"
    assert parse_quarter("2026Q1").year_ago().label == "2025Q1"


def test_decided_within_counts_calendar_days_as_the_deadlines_do(any_ctx: Context) -> None:
    # Art. 43: received 2026-03-02 17:00, the 15 days end at 24:00 on 2026-03-17 (the
    # decision deadline's due time), not 15 × 24 h later at 17:00. 7 days: 24:00 on 03-09.
    from datetime import timedelta

    from services.lifecycle import actions as a
    from services.lifecycle.registration import Person
    from tests.factories import cst, registered

    ctx = any_ctx
    received = cst(2026, 3, 2, 17)
    decided = [
        cst(2026, 3, 9, 23, 30),  # within 7 (and 15), though past 7 × 24 h
        cst(2026, 3, 17, 20),  # within 15, though past 15 × 24 h
        cst(2026, 3, 18, 0, 30),
    ]  # the 16th day: late
    for i, when in enumerate(decided):
        number = registered(
            ctx,
            received,
            policy_no=f"P-ART43-{i}",
            complainant=Person(name=f"投诉人{i}", phone=f"1370000000{i}"),
        )
        a.accept(
            ctx,
            number,
            actor="clerk",
            category="claims",
            product="medical",
            owner="liaison",
            at=received + timedelta(hours=1),
        )
        a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=2))
        a.decide(
            ctx,
            number,
            actor="liaison",
            facts="属实",
            basis="合同",
            reasons="保险责任",
            remedies=["review"],
            at=when,
        )
    r = reports.build(ctx, parse_month("2026-03"), as_of=cst(2026, 6, 1))
    assert r.summary["decided_7"] == pytest.approx(1 / 3)
    assert r.summary["decided_15"] == pytest.approx(2 / 3)
    assert (r.summary["beyond_30"], r.summary["beyond_60"]) == (0, 0)


def _quarter_files(folder: Path, policies_take: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = {
        "2026-10": (1, 10000, 40000),
        "2026-11": (2, 20000, 40000),
        "2026-12": (3, 60000, 40000),
    }
    for month, (premium, policies, insured) in rows.items():
        (folder / f"{month}.csv").write_text(
            "branch,premium_100m,policies,insured_persons\n"
            f"beijing,{premium},{policies},{insured}\n",
            encoding="utf-8",
        )
    (folder / "format.toml").write_text(
        '[premium_100m]\nkind = "flow"\n'
        f'[policies]\nkind = "stock"\ntake = "{policies_take}"\n'
        '[insured_persons]\nkind = "stock"\ntake = "end"\n',
        encoding="utf-8",
    )


@pytest.mark.parametrize(("take", "policies"), [("end", 60000), ("average", 30000)])
def test_a_quarter_sums_flows_and_takes_stocks_at_the_end_or_on_average(
    ctx: Context, tmp_path: Path, take: str, policies: int
) -> None:
    # Q4 2026 holds 4 complaints. Premium is a flow (1 + 2 + 3 = 6 亿元); policies in force
    # and persons insured are stocks: 40,000 persons every month is 40,000, not 120,000.
    dataset.build(ctx)
    _quarter_files(tmp_path / "config" / "exposure", take)
    s = reports.build(ctx, parse_quarter("2026Q4"), as_of=dataset.AS_OF).summary
    assert s["volume"] == 4
    assert s["per_premium"] == pytest.approx(4 / 6)
    assert s["per_policies"] == pytest.approx(4 / (policies / 10000))
    assert s["per_insured"] == pytest.approx(4 / 4)


def test_a_quarter_from_month_files_needs_every_measure_declared(
    ctx: Context, tmp_path: Path
) -> None:
    from config import ConfigError

    folder = tmp_path / "config" / "exposure"
    _quarter_files(folder, "end")
    (folder / "format.toml").write_text('[premium_100m]\nkind = "flow"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[policies\]"):
        reports.build(ctx, parse_quarter("2026Q4"), as_of=dataset.AS_OF)
    (folder / "format.toml").write_text(
        '[premium_100m]\nkind = "flow"\n[policies]\nkind = "stock"\ntake = "sum"\n'
        '[insured_persons]\nkind = "flow"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="stock"):
        reports.build(ctx, parse_quarter("2026Q4"), as_of=dataset.AS_OF)


def test_the_shipped_exposure_format_declares_policies_and_persons_as_stocks() -> None:
    from services.reporting import exposure

    root = Path(__file__).resolve().parents[2]
    measures = exposure.read_format(root / "config" / "exposure" / exposure.FORMAT_FILE)
    assert measures["premium_100m"] == exposure.Measure("flow", "sum")
    assert measures["policies"].kind == "stock" and measures["insured_persons"].kind == "stock"
