"""Bulk import of files as other systems write them: encodings, spreadsheets that turned
identifiers into numbers, foreign date formats, joined columns, rows bad in every field,
same-time repeats, and history that must stay history."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from notifications import templates
from services.automatic import alerts, escalation
from services.context import Context
from services.intake import bulk, importing
from storage import records
from storage.timeutil import from_db

# Rows are received before this instant; the tests run at it.
AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
pytestmark = pytest.mark.now(AT)
AT_TZ = ZoneInfo("Asia/Shanghai")

HEADERS = ["编号", "姓名", "证件号码", "电话", "投诉请求", "事实", "渠道", "收到时间", "保单号"]
MAPPING = """
[source]
name = "t"
id_column = "编号"

[columns]
name = "姓名"
id_number = "证件号码"
phone = "电话"
claim = "投诉请求"
facts = "事实"
channel = "渠道"
received_at = "收到时间"
policy_no = "保单号"
"""
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, _W, strict=True)) % 11]


ID1 = resident_id("11010519491231002")
ID2 = resident_id("11010819710123890")


def row(n: int, **over: Any) -> list[Any]:
    base = {
        "编号": f"R{n}",
        "姓名": f"张{n}",
        "证件号码": "",
        "电话": f"138{n:08d}",
        "投诉请求": "要求按合同赔付",
        "事实": "理赔申请 30 日未获答复",
        "渠道": "客服热线",
        "收到时间": "2026-11-10 09:30",
        "保单号": f"P{n:06d}",
    }
    base.update(over)
    return [base[h] for h in HEADERS]


def write_csv(path: Path, rows: list[list[Any]], encoding: str, delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(HEADERS)
        w.writerows(rows)
    return path


def mapping(tmp_path: Path, extra: str = "", base: str = MAPPING) -> importing.Mapping:
    path = tmp_path / "map.toml"
    path.write_text(base + extra, encoding="utf-8")
    return importing.load_mapping(path)


def run(ctx: Context, path: Path, m: importing.Mapping, **kw: Any) -> importing.ImportResult:
    return importing.run(ctx, path, m, actor="clerk", **kw)


def rejects(res: importing.ImportResult) -> list[dict[str, str]]:
    assert res.rejects_file is not None
    with res.rejects_file.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def count(ctx: Context, table: Any, *where: Any) -> int:
    with ctx.engine.connect() as conn:
        q = select(func.count()).select_from(table)
        return int(conn.execute(q.where(*where) if where else q).scalar() or 0)


def case(ctx: Context, ref: str) -> Any:
    with ctx.engine.connect() as conn:
        return (
            conn.execute(select(records.COMPLAINT).where(records.COMPLAINT.c.external_ref == ref))
            .mappings()
            .one()
        )


# ---- Encodings -------------------------------------------------------------------------------


def test_a_gb18030_csv_is_detected_and_read_with_its_chinese_intact(
    ctx: Context, tmp_path: Path
) -> None:
    rows = [
        row(i, 事实=f"业务员承诺保本高收益,未说明犹豫期和退保损失(第{i}件)") for i in range(1, 6)
    ]
    path = write_csv(tmp_path / "gbk.csv", rows, "gb18030")
    res = run(ctx, path, mapping(tmp_path))
    assert (res.imported, res.rejected, res.encoding) == (5, 0, "gb18030")
    assert case(ctx, "t:R3")["facts"] == "业务员承诺保本高收益,未说明犹豫期和退保损失(第3件)"
    assert res.exit_code == 0


def test_a_utf16_unicode_text_export_tab_separated_is_read(ctx: Context, tmp_path: Path) -> None:
    # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated.
    path = write_csv(tmp_path / "export.txt", [row(1), row(2)], "utf-16", delimiter="\t")
    res = run(ctx, path, mapping(tmp_path))
    assert (res.imported, res.rejected) == (2, 0)
    assert case(ctx, "t:R2")["claim"] == "要求按合同赔付"


def test_a_forced_wrong_encoding_is_refused_naming_the_option(ctx: Context, tmp_path: Path) -> None:
    from states.errors import InvalidInput

    path = write_csv(tmp_path / "gbk.csv", [row(1), row(2, 事实="退保")], "gb18030")
    with pytest.raises(InvalidInput) as err:
        run(ctx, path, mapping(tmp_path), encoding="utf-8")
    assert err.value.field == "encoding" and "--encoding" in err.value.reason
    assert count(ctx, records.COMPLAINT) == 0


def test_a_row_with_bytes_that_do_not_decode_is_rejected_and_the_rest_imported(
    ctx: Context, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "mixed.csv", [row(1), row(2)], "utf-8")
    with path.open("ab") as fh:  # one row pasted in from a GBK file
        fh.write(
            "R3,张3,,13800000003,要求赔付,".encode()
            + "退保".encode("gbk")
            + b",hotline,2026-11-10 09:30,P3\r\n"
        )
    res = run(ctx, path, mapping(tmp_path), encoding="utf-8")
    assert (res.total, res.imported, res.rejected) == (3, 2, 1)
    [bad] = rejects(res)
    assert (bad["行号"], bad["字段"]) == ("4", "facts") and "--encoding" in bad["原因"]


# ---- Spreadsheets that made numbers of identifiers -------------------------------------------


def test_xlsx_id_numbers_turned_into_floats_are_rejected_as_damaged_not_as_check_digits(
    ctx: Context, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    # What LibreOffice stores for 110108197101238901 typed as a number: 15 significant digits.
    ws.append(row(1, 证件号码=float(ID2), 电话=13800000001))
    ws.append(row(2, 证件号码=ID1, 电话=13800000002, 保单号="0012345"))
    ws.append(row(3, 电话="1.38E+10"))  # a text cell showing what a number column displayed
    ws.append(row(4, 证件号码=int(ID2[:17] + "0")))  # an integer longer than Excel keeps
    wb.save(tmp_path / "ids.xlsx")
    # The values as read, unmasked (rejects files mask personal data unless revealed).
    res = run(ctx, tmp_path / "ids.xlsx", mapping(tmp_path), reveal_rejects=True)
    assert (res.imported, res.rejected) == (1, 3)
    got = {(r["行号"], r["字段"]): r for r in rejects(res)}
    assert set(got) == {("2", "id_number"), ("4", "phone"), ("5", "id_number")}
    assert all(r["原因"] == importing.MANGLED for r in got.values())
    assert got[("2", "id_number")]["读到的值"] == repr(float(ID2))
    assert got[("2", "id_number")]["列"] == "证件号码"
    assert not any("校验位" in r["原因"] for r in got.values())
    # A text cell keeps its leading zeros; an exact whole-number phone reads as its digits.
    stored = case(ctx, "t:R2")
    assert stored["policy_no"] == "0012345"
    assert res.by_reason[("id_number", importing.MANGLED)] == 2


def test_scientific_notation_in_a_csv_is_rejected_as_damaged(ctx: Context, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "sci.csv",
        [row(1, 证件号码="1.10108197101239E+17"), row(2, 电话="13800000002.0"), row(3)],
        "utf-8-sig",
    )
    res = run(ctx, path, mapping(tmp_path))
    assert (res.imported, res.rejected) == (1, 2)
    assert [(r["字段"], r["原因"]) for r in rejects(res)] == [
        ("id_number", importing.MANGLED),
        ("phone", importing.MANGLED),
    ]


# ---- The mapping -----------------------------------------------------------------------------

ENGLISH = """
[source]
name = "cfpb"
id_column = "Complaint ID"

[columns]
name = "Consumer"
identity = "Consumer ID"
received_at = "Date received"
claim = "Issue"
facts = { join = ["Issue", "Sub-issue", "Narrative"], separator = " / " }
channel = "Submitted via"
address = "State"

[formats]
received_at = ["%m-%d-%Y", "%m/%d/%Y %H:%M", "%Y年%m月%d日"]

[values.channel]
"Web" = "online"
"Phone" = "hotline"
"*" = "other"

[constants]
branch = "head_office"

[defaults]
name = "匿名客户"
"""
EN_HEADERS = [
    "Complaint ID",
    "Consumer",
    "Consumer ID",
    "Date received",
    "Issue",
    "Sub-issue",
    "Narrative",
    "Submitted via",
    "State",
]


def write_en(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(EN_HEADERS)
        w.writerows(rows)
    return path


def test_three_date_formats_joined_columns_value_maps_and_constants(
    ctx: Context, tmp_path: Path
) -> None:
    path = write_en(
        tmp_path / "en.csv",
        [
            ["1", "", "c1", "09-12-2016", "Billing", "Late fee", "", "Web", "CA"],
            ["2", "", "c2", "10/03/2016 14:05", "Fraud", "", "Card stolen", "Phone", "NY"],
            ["3", "", "c3", "2016年11月05日", "Claims", "Denied", "x", "Fax", "TX"],
            ["4", "", "c4", "2016-13-01", "Claims", "", "", "Web", "TX"],
        ],
    )
    res = run(ctx, path, mapping(tmp_path, base=ENGLISH))
    assert (res.imported, res.rejected) == (3, 1)
    tz = ctx.tz
    one, two, three = (case(ctx, f"cfpb:{i}") for i in (1, 2, 3))
    assert from_db(one["received_at"]) == datetime(2016, 9, 12, tzinfo=tz)
    assert from_db(two["received_at"]) == datetime(2016, 10, 3, 14, 5, tzinfo=tz)
    assert from_db(three["received_at"]) == datetime(2016, 11, 5, tzinfo=tz)
    assert one["facts"] == "Billing / Late fee" and two["facts"] == "Fraud / Card stolen"
    assert (one["channel"], two["channel"], three["channel"]) == ("online", "hotline", "other")
    assert {one["branch"], two["branch"], three["branch"]} == {"head_office"}
    [bad] = rejects(res)
    assert (bad["行号"], bad["字段"], bad["读到的值"]) == ("5", "received_at", "2016-13-01")
    assert "%m-%d-%Y" in bad["原因"]


def test_the_identity_column_not_a_default_name_says_who_complained(
    ctx: Context, tmp_path: Path
) -> None:
    path = write_en(
        tmp_path / "en.csv",
        [
            # Two anonymised consumers, no phone or ID, the mapping's default name for both.
            ["1", "", "c1", "09-12-2016", "Billing", "", "", "Web", "CA"],
            ["2", "", "c2", "09-13-2016", "Billing", "", "", "Web", "CA"],
            ["3", "", "c1", "09-14-2016", "Billing", "", "", "Web", "CA"],
        ],
    )
    run(ctx, path, mapping(tmp_path, base=ENGLISH))
    keys = [case(ctx, f"cfpb:{i}")["complainant_hash"] for i in (1, 2, 3)]
    assert keys[0] and keys[0] == keys[2] != keys[1]
    # Without the identity column, a name the mapping supplied identifies no one.
    path = write_en(
        tmp_path / "en2.csv",
        [
            ["5", "", "", "09-12-2016", "Billing", "", "", "Web", "CA"],
            ["6", "", "", "09-13-2016", "Billing", "", "", "Web", "CA"],
        ],
    )
    res = run(ctx, path, mapping(tmp_path, base=ENGLISH.replace("identity =", "# identity =")))
    assert res.imported == 2 and res.merged + res.linked == 0
    assert [case(ctx, f"cfpb:{i}")["complainant_hash"] for i in (5, 6)] == ["", ""]


def test_a_bad_mapping_is_refused_naming_what_is_wrong(tmp_path: Path) -> None:
    from states.errors import InvalidInput

    for extra, words in [
        ("[formats]\nclaim = ['%Y']\n", "[formats] claim"),
        ("[columns]\nfacts = { join = 'x' }\n", "[columns] facts"),
        ("[bogus]\nx = 1\n", "[bogus]"),
    ]:
        with pytest.raises(InvalidInput) as err:
            mapping(tmp_path, extra, base="[source]\nname = 't'\n")
        assert err.value.field == "mapping" and words in err.value.reason


# ---- Every bad field, every row --------------------------------------------------------------


def test_a_row_bad_in_every_field_lists_every_field_and_the_rest_of_the_file_goes_in(
    ctx: Context, tmp_path: Path
) -> None:
    bad = row(
        2,
        姓名="",
        证件号码="110105194912310029",  # wrong check digit
        电话="12345",
        投诉请求="",
        事实="",
        渠道="飞鸽传书",
        收到时间="去年春天",
    )
    path = write_csv(tmp_path / "bad.csv", [row(1), bad, row(3)], "utf-8")
    res = run(ctx, path, mapping(tmp_path), reveal_rejects=True)  # the values as read
    assert (res.total, res.imported, res.rejected, res.exit_code) == (3, 2, 1, 2)
    listed = rejects(res)
    assert {r["行号"] for r in listed} == {"3"}
    assert {r["字段"] for r in listed} == {
        "name",
        "id_number",
        "phone",
        "claim",
        "facts",
        "channel",
        "received_at",
    }
    by_field = {r["字段"]: r for r in listed}
    assert by_field["phone"]["列"] == "电话" and by_field["phone"]["读到的值"] == "12345"
    assert "校验位" in by_field["id_number"]["原因"]
    assert by_field["received_at"]["读到的值"] == "去年春天"
    assert all(r["原因"] for r in listed)
    assert sum(res.by_reason.values()) == 7


def test_rejects_go_beside_the_input_and_never_overwrite_another_imports(
    ctx: Context, tmp_path: Path
) -> None:
    m = mapping(tmp_path)
    path = write_csv(tmp_path / "a.csv", [row(1, 电话="1")], "utf-8")
    first = run(ctx, path, m)
    second = run(ctx, path, m)
    assert first.rejects_file == tmp_path / "a.rejects.csv"
    assert second.rejects_file == tmp_path / "a.rejects-2.csv"
    assert len(rejects(first)) == len(rejects(second)) == 1
    elsewhere = tmp_path / "out"
    elsewhere.mkdir()
    third = run(ctx, path, m, rejects=elsewhere)
    assert third.rejects_file == elsewhere / "a.rejects.csv"
    clean = run(ctx, write_csv(tmp_path / "b.csv", [row(7)], "utf-8"), m)
    assert clean.rejects_file is None and clean.exit_code == 0


def test_a_dry_run_validates_and_reports_without_writing(ctx: Context, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [row(1), row(2, 电话="1"), row(3)], "utf-8")
    res = run(ctx, path, mapping(tmp_path), dry_run=True)
    assert (res.imported, res.rejected, res.dry_run) == (2, 1, True)
    assert count(ctx, records.COMPLAINT) == 0 and count(ctx, records.EVENT) == 0


# ---- No row stops the file -------------------------------------------------------------------


def test_same_time_repeats_are_merged_in_a_stable_order(any_ctx: Context, tmp_path: Path) -> None:
    ctx = any_ctx
    # One complainant, two complaints received at the same instant and one earlier.
    rows = [
        row(1, 电话="13900000001", 收到时间="2026-11-10 09:30", 保单号="P1"),
        row(2, 电话="13900000001", 收到时间="2026-11-10 09:30", 保单号="P1"),
        row(3, 电话="13900000001", 收到时间="2026-11-09 08:00", 保单号="P1"),
    ]
    path = write_csv(tmp_path / "same.csv", rows, "utf-8")
    res = run(ctx, path, mapping(tmp_path))
    assert (res.imported, res.rejected, res.exit_code) == (3, 0, 0)
    assert res.merged + res.linked == 2
    first, second, earlier = (case(ctx, f"t:R{i}") for i in (1, 2, 3))
    assert earlier["merged_into_id"] is None and earlier["linked_to_id"] is None
    assert first["merged_into_id"] == earlier["id"]
    assert second["merged_into_id"] == earlier["id"]


def test_same_time_repeats_with_nothing_earlier_merge_the_later_stored_into_the_first(
    ctx: Context, tmp_path: Path
) -> None:
    rows = [row(i, 电话="13900000001", 收到时间="2026-11-10 09:30", 保单号="P1") for i in (1, 2, 3)]
    res = run(ctx, write_csv(tmp_path / "s.csv", rows, "utf-8"), mapping(tmp_path))
    assert (res.imported, res.rejected, res.merged) == (3, 0, 2)
    one, two, three = (case(ctx, f"t:R{i}") for i in (1, 2, 3))
    assert one["merged_into_id"] is None
    assert two["merged_into_id"] == three["merged_into_id"] == one["id"]


def test_an_unexpected_error_on_one_row_is_that_rows_reject(
    any_ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = any_ctx
    real = bulk.registration.party_row

    def failing(ctx: Context, p: Any, now: datetime) -> dict[str, Any]:
        if p.name == "张2":
            raise RuntimeError("磁盘已满")
        return real(ctx, p, now)

    monkeypatch.setattr(bulk.registration, "party_row", failing)
    path = write_csv(tmp_path / "x.csv", [row(i) for i in range(1, 5)], "utf-8")
    res = run(ctx, path, mapping(tmp_path))
    assert (res.imported, res.rejected, res.exit_code) == (3, 1, 2)
    [bad] = rejects(res)
    assert bad["行号"] == "3" and "意外错误" in bad["原因"] and "磁盘已满" in bad["原因"]
    assert count(ctx, records.COMPLAINT) == 3
    monkeypatch.setattr(bulk.registration, "party_row", real)
    again = run(ctx, path, mapping(tmp_path))
    assert (again.imported, again.existing, again.exit_code) == (1, 3, 0)


# ---- History stays history -------------------------------------------------------------------

# Appended to MAPPING's [columns]: the handling times of a legacy register.
HISTORY = """
regulator_ref = "编号"
accepted_at = "受理时间"
decided_at = "答复时间"
closed_at = "办结时间"
"""


def history_rows(n: int, at: datetime) -> list[list[Any]]:
    """n complaints received over the two years before `at`; most finished (some late),
    every 50th still open."""
    out = []
    for i in range(n):
        received = at - timedelta(days=730 - (i % 700), hours=i % 9)
        fmt = "%Y-%m-%d %H:%M"
        local = received.astimezone(AT_TZ)
        if i % 50 == 0:
            times = ["", "", ""]
        else:
            late = i % 10 == 0  # decided on day 20: the 15-day decision deadline breached
            decided = local + timedelta(days=20 if late else 6)
            times = [
                (local + timedelta(hours=3)).strftime(fmt),
                decided.strftime(fmt),
                (decided + timedelta(days=2)).strftime(fmt),
            ]
        out.append(
            row(
                i,
                电话=f"139{i % 1500:08d}",
                收到时间=local.strftime(fmt),
                渠道="监管转办 (12378)" if i % 7 == 0 else "客服热线",
            )
            + times
        )
    return out


def write_history(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*HEADERS, "受理时间", "答复时间", "办结时间"])
        w.writerows(rows)
    return path


def test_two_thousand_history_rows_then_a_sweep_queue_no_per_case_committee_escalation(
    ctx: Context, tmp_path: Path
) -> None:
    rows = history_rows(2000, AT)
    m = mapping(tmp_path, HISTORY)
    path = write_history(tmp_path / "history.csv", rows)
    res = run(ctx, path, m, now=AT, escalate=False)
    assert (res.imported, res.rejected) == (2000, 0)
    open_cases = sum(1 for r in rows if not r[-1])
    assert res.finished == 2000 - open_cases
    assert res.overdue == open_cases  # every open one is long past its deadlines

    escalation_table = alerts.ESCALATION
    alert_table = records.OUTBOX
    before = count(ctx, alert_table)
    swept = escalation.sweep(ctx, now=AT)
    assert swept.escalated == 0
    assert count(ctx, escalation_table, escalation_table.c.outcome == "acted") == 0
    assert count(ctx, alert_table) == before
    # One summary alert to the supervisors lists the overdue open ones.
    with ctx.engine.connect() as conn:
        queued = conn.execute(select(alert_table)).mappings().all()
    assert [(a["kind"], a["audience"]) for a in queued] == [("import_overdue", "role:supervisor")]
    assert queued[0]["payload"]["overdue"] == open_cases
    assert len({c["number"] for c in queued[0]["payload"]["cases"]}) == open_cases
    assert "决定" in queued[0]["payload"]["cases"][0]["deadlines"]
    message = templates.render(
        "import_overdue", queued[0]["payload"], deadline_labels={}, tz=ctx.tz
    )
    assert f"{open_cases} 件已逾期" in message.subject
    assert queued[0]["payload"]["cases"][0]["number"] in message.text
    # A day later the sweep still fires nothing for the imported history.
    later = escalation.sweep(ctx, now=AT + timedelta(days=1))
    assert later.escalated == 0


def test_finished_history_records_its_deadlines_met_or_breached_at_its_own_times(
    any_ctx: Context, tmp_path: Path
) -> None:
    ctx = any_ctx
    received = datetime(2025, 3, 3, 9, 0, tzinfo=AT_TZ)
    rows = [
        row(1, 收到时间="2025-03-03 09:00")
        + ["2025-03-03 12:00", "2025-03-08 10:00", "2025-03-10 10:00"],
        row(2, 收到时间="2025-03-03 09:00")
        + ["2025-03-05 12:00", "2025-03-30 10:00", "2025-04-02 10:00"],
        row(3, 收到时间="2025-03-03 09:00") + ["", "", "2025-03-08 10:00"],
        row(4, 收到时间="2025-03-03 09:00") + ["2025-03-02 10:00", "", ""],  # before receipt
    ]
    res = run(ctx, write_history(tmp_path / "h.csv", rows), mapping(tmp_path, HISTORY), now=AT)
    assert (res.imported, res.finished, res.rejected) == (3, 3, 1)
    assert rejects(res)[0]["字段"] == "accepted_at"

    def deadlines(ref: str) -> dict[str, Any]:
        cid = case(ctx, ref)["id"]
        with ctx.engine.connect() as conn:
            got = conn.execute(
                select(records.DEADLINE).where(records.DEADLINE.c.complaint_id == cid)
            ).mappings()
            return {d["name"]: d for d in got}

    on_time, late, closed_only = deadlines("t:R1"), deadlines("t:R2"), deadlines("t:R3")
    for d in on_time.values():
        assert d["next_check_at"] is None
    assert on_time["acceptance"]["status"] == "met"
    assert from_db(on_time["acceptance"]["met_at"]) == received + timedelta(hours=3)
    assert from_db(on_time["decision"]["met_at"]) <= from_db(on_time["decision"]["due_at"])
    # Late: accepted after 24 hours and decided after 15 days: met, but after the due time.
    for name in ("acceptance", "decision"):
        assert late[name]["status"] == "met"
        assert from_db(late[name]["met_at"]) > from_db(late[name]["due_at"])
    # Only a closing time: the decision counts as given then; acceptance time unknown.
    assert closed_only["decision"]["status"] == "met"
    assert closed_only["acceptance"]["status"] == "stopped"
    stored = case(ctx, "t:R2")
    assert stored["state"] == "closed" and stored["event_count"] == 4
    with ctx.engine.connect() as conn:
        steps = conn.execute(
            select(records.EVENT.c.action, records.EVENT.c.at)
            .where(records.EVENT.c.complaint_id == stored["id"])
            .order_by(records.EVENT.c.seq)
        ).all()
    assert [a for a, _ in steps] == ["register", "accept", "notify", "close"]
    assert from_db(steps[-1][1]) == datetime(2025, 4, 2, 10, 0, tzinfo=AT_TZ)
    assert count(ctx, alerts.ESCALATION) == 0


# ---- The documented examples -----------------------------------------------------------------


def test_the_commented_example_mappings_load_and_name_real_taxonomy_codes(
    ctx: Context, tmp_path: Path
) -> None:
    from config import PROJECT_ROOT

    text = (PROJECT_ROOT / "config" / "import_mapping.example.toml").read_text(encoding="utf-8")
    blocks = text.split("# " + "-" * 93)[1:]
    assert len(blocks) == 2
    tax = ctx.config.taxonomy
    codes = {
        "channel": tax.channels,
        "category": tax.categories,
        "product": tax.products,
        "branch": tax.branches,
    }
    for block in blocks:
        body = "\n".join(
            line[2:]
            for line in block.splitlines()
            if line.startswith("# ") and "=" in line or line.startswith("# [")
        )
        path = tmp_path / "example.toml"
        path.write_text(body, encoding="utf-8")
        m = importing.load_mapping(path)
        assert m.columns and m.formats
        for fld, table in m.values.items():
            assert set(table.values()) <= set(codes[fld]), (fld, table)
        for fld, value in m.constants.items():
            if fld in codes:
                assert value in codes[fld]
