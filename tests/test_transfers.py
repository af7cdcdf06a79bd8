"""The regulator's 12378 transfers (services/intake/transfers.py, `tousu transfers`): the list
in (a GBK CSV and an XLSX, with config/transfers_12378.toml), the handling results back out in
the same columns (XLSX and CSV), re-read."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.context import Context
from services.intake import importing, transfers
from services.lifecycle import actions as a
from states.errors import Forbidden, InvalidInput
from states.lifecycle import State
from storage import records
from tests.cli import conftest as cli
from tests.cli.conftest import Tousu, as_json

# The CLI's fixtures (tests/cli/conftest.py), for `tousu transfers` here.
cli_env, tousu = cli.cli_env, cli.tousu

# The list's dates are fixed in November 2026: the suite instant must come after them.
pytestmark = pytest.mark.now(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))

HEADERS = [
    "转办编号",
    "转办日期",
    "接收日期",
    "投诉人",
    "证件号码",
    "联系电话",
    "联系地址",
    "保单号",
    "投诉诉求",
    "投诉内容",
    "投诉类别",
    "涉及产品",
    "承办机构",
]
ROWS = [
    [
        "BJ12378-2026-0001",
        "2026/11/16",
        "2026-11-17 09:30",
        "赵六",
        "11010519491231002X",
        "13800138000",
        "北京市朝阳区",
        "P2026000123",
        "要求赔付医疗费用",
        "住院后申请理赔, 30 日未获答复",
        "理赔",
        "健康险",
        "北京分公司",
    ],
    [
        "BJ12378-2026-0002",
        "2026年11月17日",
        "2026/11/18",
        "钱七",
        "",
        "13900139000",
        "",
        "",
        "要求退还保费",
        "电话销售时未说明犹豫期",
        "销售纠纷",
        "寿险",
        "上海分公司",
    ],
    [  # no phone or address: refused with its reason
        "BJ12378-2026-0003",
        "2026/11/18",
        "2026/11/18",
        "孙八",
        "",
        "",
        "",
        "",
        "要求解释",
        "未收到回复",
        "服务",
        "",
        "",
    ],
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "gbk") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        out.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "转办明细"
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def count(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records.COMPLAINT)).scalar_one())


def by_ref(ctx: Context) -> dict[str, dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(records.COMPLAINT).where(records.COMPLAINT.c.channel == "regulator")
        ).mappings()
        return {r["regulator_ref"]: dict(r) for r in rows}


def reread(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in importing.read_rows(path)]


def test_a_gbk_csv_list_is_registered_once_with_its_rejects_reported(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "12378转办.csv", ROWS)
    result = tousu("transfers", "import", str(path), "--json")
    assert result.exit_code == 2, result.output
    body = as_json(result)
    assert (body["total"], body["imported"], body["rejected"]) == (3, 2, 1)
    assert body["encoding"] == "gb18030"
    assert body["by_reason"][0]["field"] == "phone"
    stored = by_ref(ctx)
    assert set(stored) == {"BJ12378-2026-0001", "BJ12378-2026-0002"}
    first = stored["BJ12378-2026-0001"]
    assert (first["channel"], first["category"], first["product"], first["branch"]) == (
        "regulator",
        "claims",
        "medical",
        "beijing",
    )
    assert first["external_ref"] == "12378:BJ12378-2026-0001"
    assert first["regulator_forwarded"] is True
    again = tousu("transfers", "import", str(path), "--json")
    assert (as_json(again)["imported"], as_json(again)["existing"]) == (0, 2)
    assert count(ctx) == 2


def test_an_xlsx_list_with_date_cells_is_registered(ctx: Context, tmp_path: Path) -> None:
    rows: list[list[Any]] = [list(r) for r in ROWS[:2]]
    rows[0][1] = datetime(2026, 11, 16)
    rows[0][2] = datetime(2026, 11, 17, 9, 30)
    path = write_xlsx(tmp_path / "12378.xlsx", rows)
    res = transfers.import_list(ctx, path, actor="clerk", rejects=tmp_path)
    assert (res.total, res.imported, res.rejected) == (2, 2, 0)
    first = by_ref(ctx)["BJ12378-2026-0001"]
    received = (
        first["received_at"].replace(tzinfo=UTC)
        if first["received_at"].tzinfo is None
        else first["received_at"]
    )
    assert received == datetime(2026, 11, 17, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


def _handled(ctx: Context, tmp_path: Path) -> dict[str, dict[str, Any]]:
    path = write_xlsx(tmp_path / "12378.xlsx", ROWS[:2])
    transfers.import_list(ctx, path, actor="clerk", rejects=tmp_path)
    stored = by_ref(ctx)
    number = stored["BJ12378-2026-0001"]["number"]
    at = datetime(2026, 11, 17, 4, 0, tzinfo=UTC)
    a.accept(
        ctx, number, actor="clerk", category="claims", product="medical", owner="liaison", at=at
    )
    a.investigate(ctx, number, actor="liaison", at=at + timedelta(hours=1))
    a.negotiate(ctx, number, actor="liaison", findings="核实属实", at=at + timedelta(hours=2))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="住院属实",
        basis="保险合同第五条",
        reasons="属于保险责任, 补足赔款 8600 元",
        remedies=["review", "mediation", "arbitration", "litigation"],
        at=at + timedelta(days=1),
    )
    return by_ref(ctx)


def test_the_results_go_back_in_the_lists_columns_as_xlsx(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    stored = _handled(ctx, tmp_path)
    out = tmp_path / "办理结果.xlsx"
    result = tousu(
        "transfers", "export", str(out), "--from", "2026-11-17", "--to", "2026-11-18", "--json"
    )
    assert result.exit_code == 0, result.output
    assert as_json(result)["rows"] == 2
    rows = reread(out)
    assert list(rows[0])[: len(HEADERS)] == HEADERS
    assert list(rows[0])[len(HEADERS) :] == list(transfers.RESULTS.values())
    first, second = rows
    assert first["转办编号"] == "BJ12378-2026-0001"
    assert first["本机构投诉编号"] == stored["BJ12378-2026-0001"]["number"]
    assert first["办理状态"] == State.decided.label
    assert first["受理日期"] == "2026-11-17" and first["答复日期"] == "2026-11-18"
    assert first["处理结果"] == "属于保险责任, 补足赔款 8600 元"
    assert first["投诉类别"] == "理赔纠纷" and first["承办机构"] == "北京分公司"
    assert first["接收日期"] == "2026-11-17 09:30"
    # personal data masked: the regulator matches rows by its own reference
    assert first["投诉人"] != "赵六" and first["联系电话"] != "13800138000"
    assert "8000" in first["联系电话"] and "002X" not in (first["证件号码"] or "")[:6]
    assert (
        second["转办编号"] == "BJ12378-2026-0002" and second["办理状态"] == State.registered.label
    )
    assert second["受理日期"] in ("", None)


def test_the_results_as_a_gb18030_csv_read_back_the_same(ctx: Context, tmp_path: Path) -> None:
    _handled(ctx, tmp_path)
    xlsx, gbk = tmp_path / "r.xlsx", tmp_path / "r.csv"
    start, end = date(2026, 11, 17), date(2026, 11, 18)
    assert transfers.export(ctx, start, end, xlsx, actor="liaison") == 2
    assert transfers.export(ctx, start, end, gbk, actor="liaison", encoding="gb18030") == 2
    gbk.read_bytes().decode("gb18030")  # really GB18030 (and not UTF-8 with a BOM)
    assert not gbk.read_bytes().startswith(b"\xef\xbb\xbf")
    from_csv, from_xlsx = reread(gbk), reread(xlsx)
    assert [{k: (v or "") for k, v in r.items()} for r in from_csv] == [
        {k: (v or "") for k, v in r.items()} for r in from_xlsx
    ]
    nothing = transfers.export(
        ctx, date(2026, 10, 1), date(2026, 10, 31), tmp_path / "e.csv", actor="liaison"
    )
    assert nothing == 0 and reread(tmp_path / "e.csv") == []


def test_only_the_registration_roles_import_or_export_and_bad_periods_are_refused(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "12378.csv", ROWS[:1])
    refused = tousu("transfers", "import", str(path), user="investigator")
    assert refused.exit_code == 3
    with pytest.raises(Forbidden):
        transfers.export(
            ctx, date(2026, 11, 1), date(2026, 11, 30), tmp_path / "x.xlsx", actor="investigator"
        )
    with pytest.raises(InvalidInput) as backwards:
        transfers.export(
            ctx, date(2026, 11, 30), date(2026, 11, 1), tmp_path / "x.xlsx", actor="clerk"
        )
    assert backwards.value.field == "to"
    with pytest.raises(InvalidInput) as pdf:
        transfers.export(
            ctx, date(2026, 11, 1), date(2026, 11, 30), tmp_path / "x.pdf", actor="clerk"
        )
    assert pdf.value.field == "file"
    assert count(ctx) == 0
