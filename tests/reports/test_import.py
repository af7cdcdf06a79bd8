"""Bulk import: the same validation as `tousu register`, rejected rows reported with
reasons, repeats detected, and a second run imports nothing twice."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import PROJECT_ROOT
from demo.data import SHEET_HEADERS, Generator, sheet_row
from services.context import Context
from services.intake import importing
from storage import records

MAPPING = PROJECT_ROOT / "config" / "import_mapping.example.toml"
# The generated sample's complaints are received before this instant; its tests run at it.
SAMPLE_AT = datetime(2026, 11, 20, tzinfo=UTC)

pytestmark = pytest.mark.now(SAMPLE_AT)


def write_sample(ctx: Context, path: Path, n: int, *, bad: bool = True) -> list[list[str]]:
    gen = Generator(
        ctx.config.taxonomy,
        now=SAMPLE_AT,
        seed=3,
        repeat_share=0.3,
    )
    rows = [sheet_row(c, ctx.config.taxonomy, ctx.tz) for c in gen.cases(n)]
    if bad:
        rows[1][2] = "110105194912310021"  # wrong check digit
        rows[2][3] = "12345"  # not a phone number
        rows[3][7] = "飞鸽传书"  # unknown channel
        rows[4][8] = ""  # no receipt time
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(SHEET_HEADERS)
        w.writerows(rows)
    return rows


def count(ctx: Context, table) -> int:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_good_rows_are_imported_and_bad_rows_reported_with_reasons(
    ctx: Context, tmp_path: Path
) -> None:
    write_sample(ctx, tmp_path / "legacy.csv", 60)
    res = importing.run(
        ctx, tmp_path / "legacy.csv", importing.load_mapping(MAPPING), actor="clerk", batch_size=25
    )
    assert (res.total, res.imported, res.rejected) == (60, 56, 4)
    assert count(ctx, records.COMPLAINT) == 56 and count(ctx, records.DEADLINE) == 56 * 3
    assert res.rejects_file is not None
    with res.rejects_file.open(encoding="utf-8-sig") as fh:
        rejected = list(csv.DictReader(fh))
    assert [(r["行号"], r["字段"]) for r in rejected] == [
        ("3", "id_number"),
        ("4", "phone"),
        ("5", "channel"),
        ("6", "received_at"),
    ]
    assert "校验位" in rejected[0]["原因"]


def test_a_second_run_imports_nothing_twice(any_ctx: Context, tmp_path: Path) -> None:
    ctx = any_ctx
    write_sample(ctx, tmp_path / "legacy.csv", 40, bad=False)
    mapping = importing.load_mapping(MAPPING)
    first = importing.run(ctx, tmp_path / "legacy.csv", mapping, actor="clerk", batch_size=16)
    again = importing.run(ctx, tmp_path / "legacy.csv", mapping, actor="clerk", batch_size=16)
    assert first.imported == 40 and again.imported == 0 and again.existing == 40
    assert count(ctx, records.COMPLAINT) == 40


def test_repeats_are_merged_or_linked_as_at_registration(any_ctx: Context, tmp_path: Path) -> None:
    ctx = any_ctx
    rows = write_sample(ctx, tmp_path / "legacy.csv", 80, bad=False)
    res = importing.run(
        ctx, tmp_path / "legacy.csv", importing.load_mapping(MAPPING), actor="clerk", batch_size=20
    )
    ids = [r[2] for r in rows]
    assert res.merged + res.linked > 0
    assert res.merged + res.linked <= len(ids) - len(set(ids))
    with ctx.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).where(
                (records.COMPLAINT.c.linked_to_id.is_not(None))
                | (records.COMPLAINT.c.merged_into_id.is_not(None))
            )
        ).scalar()
    assert n == res.merged + res.linked


def test_regulator_forwarded_rows_escalate_on_arrival(ctx: Context, tmp_path: Path) -> None:
    rows = write_sample(ctx, tmp_path / "legacy.csv", 60, bad=False)
    res = importing.run(
        ctx, tmp_path / "legacy.csv", importing.load_mapping(MAPPING), actor="clerk"
    )
    assert res.escalated >= sum(1 for r in rows if r[7] == "12378转办") > 0


def test_xlsx_files_import_with_the_same_mapping(ctx: Context, tmp_path: Path) -> None:
    from openpyxl import Workbook

    rows = write_sample(ctx, tmp_path / "x.csv", 10, bad=False)
    wb = Workbook()
    wb.active.append(SHEET_HEADERS)
    for r in rows:
        wb.active.append(r)
    wb.save(tmp_path / "legacy.xlsx")
    res = importing.run(
        ctx, tmp_path / "legacy.xlsx", importing.load_mapping(MAPPING), actor="clerk"
    )
    assert res.imported == 10 and res.rejected == 0


def test_only_registering_roles_may_import(ctx: Context, tmp_path: Path) -> None:
    from states.errors import Forbidden

    write_sample(ctx, tmp_path / "legacy.csv", 3, bad=False)
    with pytest.raises(Forbidden):
        importing.run(
            ctx, tmp_path / "legacy.csv", importing.load_mapping(MAPPING), actor="committee"
        )


@pytest.mark.parametrize(
    "person",
    [
        {"name": "赵六", "phone": "13800138000", "id_number": "11010519491231002X"},
        {"name": "赵六", "phone": "13800138000"},
        {"name": "赵六", "address": "北京市朝阳区"},
        {
            "name": "某某公司",
            "kind": "organisation",
            "credit_code": "91110000100000000R",
            "legal_rep": "钱某",
            "address": "北京市西城区",
        },
    ],
)
def test_an_imported_complainant_gets_the_repeat_key_registration_gives(
    ctx: Context, person: dict[str, str], now: datetime
) -> None:
    from services.intake import bulk
    from services.lifecycle.registration import Person, complainant_key
    from tests.factories import registration

    p = Person(**person)
    reg = registration(complainant=p, received_at=now, external_ref="k1")
    [number] = bulk.register_batch(ctx, [(1, reg)], user=bulk.check_actor(ctx, "clerk")).imported
    with ctx.engine.connect() as conn:
        key = records.load_case(conn, number)["complainant_hash"]
    assert key and key == complainant_key(ctx, p)
