"""Retention (docs/rules.md §3, `[retention]`): personal data of a case finished more than
`years` years ago is erased with an event; the keyed hashes stay only if configured."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.automatic import retention
from services.context import Context, open_context
from services.lifecycle import actions as a
from services.lifecycle import lookup, queries
from services.lifecycle.registration import Person
from storage import records
from storage.models import Party
from storage.schema import table_of
from tests.conftest import make_config, seed_users
from tests.factories import ANALYSIS, accepted, cst, registered

PARTY = table_of(Party)
RECEIVED = cst(2015, 3, 2, 10)
CLOSED = cst(2015, 3, 5, 10)  # the day the case finished (Thursday)


def _closed(ctx: Context, received: datetime, closed: datetime, **over: object) -> str:
    number = accepted(ctx, received, **over)
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
    a.close(ctx, number, actor="liaison", **ANALYSIS, root_cause="时效", at=closed)
    return number


def _party(ctx: Context, number: str) -> dict[str, object]:
    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        row = conn.execute(select(PARTY).where(PARTY.c.id == case["complainant_id"])).mappings()
        return {**dict(row.one()), "complainant_hash": case["complainant_hash"]}


def _events(ctx: Context, number: str) -> list[dict[str, object]]:
    return [e for e in queries.get_complaint(ctx, number)["events"] if e["action"] == "erase_pii"]


@pytest.fixture
def keeping_ctx(tmp_path: Path, sqlite_template: Path) -> Iterator[Context]:
    db = tmp_path / "keep.db"
    shutil.copy(sqlite_template, db)
    ctx = open_context(
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__RETENTION__KEEP_HASHES="true")
    )
    seed_users(ctx)
    yield ctx
    ctx.close()


def test_a_case_finished_more_than_ten_years_ago_loses_its_personal_data_with_an_event(
    any_ctx: Context,
) -> None:
    ctx = any_ctx
    old = _closed(ctx, RECEIVED, CLOSED)
    recent = _closed(
        ctx,
        cst(2016, 3, 2, 10),
        cst(2016, 3, 5, 10),
        complainant=Person(name="钱七", phone="13900139000"),
    )
    still_open = registered(ctx, RECEIVED, complainant=Person(name="孙八", phone="13700137000"))
    result = retention.erase_expired(ctx, now=cst(2025, 3, 6, 0, 30))
    assert result.erased == [old] and result.parties == 1
    party = _party(ctx, old)
    assert party["erased_at"] is not None
    assert (party["name_enc"], party["phone_enc"], party["id_number_enc"]) == ("", None, None)
    assert party["address_enc"] is None
    # Hashes go too by default: the person can no longer be recognised.
    assert (party["name_hash"], party["phone_hash"], party["id_number_hash"]) == ("", None, None)
    assert party["complainant_hash"] == ""
    [event] = _events(ctx, old)
    assert event["actor"] == "system" and event["details"]["parties"] == ["complainant"]
    assert event["details"]["retention_years"] == 10 and "10 年" in event["reason"]
    # The case stays, its state unchanged; the others keep their data.
    assert queries.get_complaint(ctx, old)["case"]["state"] == "closed"
    for number in (recent, still_open):
        assert _party(ctx, number)["erased_at"] is None and _events(ctx, number) == []
    # A rerun finds nothing more to do.
    assert retention.erase_expired(ctx, now=cst(2025, 3, 6, 0, 30)).erased == []
    assert len(_events(ctx, old)) == 1


def test_the_period_counts_whole_years_after_the_day_the_case_finished(ctx: Context) -> None:
    number = _closed(ctx, RECEIVED, CLOSED)
    # Closed 2015-03-05: on 2025-03-05 still kept, from 2025-03-06 00:00 (Beijing) erased.
    assert retention.erase_expired(ctx, now=cst(2025, 3, 5, 23, 59)).erased == []
    assert retention.erase_expired(ctx, now=cst(2025, 3, 6, 0, 0)).erased == [number]


def test_the_configured_years_decide(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "three.db"
    shutil.copy(sqlite_template, db)
    ctx = open_context(make_config(tmp_path, f"sqlite:///{db}", TOUSU__RETENTION__YEARS="3"))
    seed_users(ctx)
    try:
        number = _closed(ctx, RECEIVED, CLOSED)
        assert retention.erase_expired(ctx, now=cst(2018, 3, 6, 9)).erased == [number]
    finally:
        ctx.close()


def test_kept_hashes_still_find_the_person_whose_data_is_gone(keeping_ctx: Context) -> None:
    ctx = keeping_ctx
    number = _closed(ctx, RECEIVED, CLOSED)
    before = _party(ctx, number)
    assert retention.erase_expired(ctx, now=cst(2025, 3, 6, 9)).erased == [number]
    party = _party(ctx, number)
    assert party["name_enc"] == "" and party["phone_enc"] is None
    assert party["phone_hash"] == before["phone_hash"] is not None
    assert party["complainant_hash"] == before["complainant_hash"]
    assert _events(ctx, number)[0]["details"]["hashes_kept"] is True
    supervisor = queries.actor(ctx, "supervisor")
    [found] = lookup.find(ctx, actor=supervisor, phone="13800138000")
    assert found["number"] == number and found["complainant"] == "(已超过保存期限删除)"
    shown = queries.complaint_view(ctx, number, actor=supervisor, reveal=True)
    assert shown["parties"]["complainant"]["name"] is None
    assert shown["parties"]["complainant"]["phone"] is None


def test_the_evidence_of_a_case_past_its_period_is_erased_with_it(
    ctx: Context, tmp_path: Path
) -> None:
    from services.casefile import evidence

    old = _closed(ctx, RECEIVED, CLOSED)
    recent = _closed(
        ctx,
        cst(2016, 3, 2, 10),
        cst(2016, 3, 5, 10),
        complainant=Person(name="钱七", phone="13900139000"),
    )
    for number, name in ((old, "old.pdf"), (recent, "recent.pdf")):
        path = tmp_path / name
        path.write_bytes(b"%PDF-1.4\n" + name.encode() + b"\n%%EOF\n")
        evidence.attach(ctx, number, [path], actor="liaison")
    result = retention.erase_expired(ctx, now=cst(2025, 3, 6, 0, 30))
    assert result.erased == [old] and result.evidence_files == 1
    actions = [e["action"] for e in queries.get_complaint(ctx, old)["events"]]
    assert "evidence_erased" in actions
    assert [e["erased_at"] is not None for e in _evidence(ctx, old)] == [True]
    assert [e["erased_at"] is None for e in _evidence(ctx, recent)] == [True]


def _evidence(ctx: Context, number: str) -> list[dict[str, object]]:
    from storage.evidence import Evidence

    table = table_of(Evidence)
    with ctx.engine.connect() as conn:
        cid = records.load_case(conn, number)["id"]
        return [
            dict(r)
            for r in conn.execute(select(table).where(table.c.complaint_id == cid)).mappings()
        ]
