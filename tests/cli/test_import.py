"""`tousu import` as a script sees it: exit 0 only when every row went in (or was already
there), 2 when some were rejected; a summary by reason; --dry-run, --encoding, --rejects."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.context import Context
from storage import records
from tests.cli.conftest import Tousu, as_json

pytestmark = pytest.mark.now(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))

MAPPING = """
[source]
name = "t"
id_column = "编号"

[columns]
name = "姓名"
phone = "电话"
claim = "请求"
facts = "事实"
channel = "渠道"
received_at = "收到时间"
"""


def write(tmp_path: Path, rows: list[list[str]], encoding: str = "gb18030") -> tuple[Path, Path]:
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "in.csv"
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "姓名", "电话", "请求", "事实", "渠道", "收到时间"])
        w.writerows(rows)
    return path, tmp_path / "map.toml"


def good(n: int) -> list[str]:
    return [
        f"R{n}",
        f"王{n}",
        f"139{n:08d}",
        "要求退保",
        "销售误导",
        "客服热线",
        "2026-11-18 10:00",
    ]


def stored(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records.COMPLAINT)).scalar() or 0)


def test_exit_0_when_every_row_is_imported_or_already_there(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    path, m = write(tmp_path, [good(1), good(2)])
    first = tousu("import", str(path), "--mapping", str(m))
    assert first.exit_code == 0, first.output
    assert "新登记 2" in first.output and "编码 gb18030" in first.output
    again = tousu("import", str(path), "--mapping", str(m))
    assert again.exit_code == 0 and "已导入过 2" in again.output
    assert stored(ctx) == 2


def test_exit_2_with_a_summary_by_reason_when_rows_are_rejected(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    bad_phone = ["R2", "李二", "12345", "要求退保", "销售误导", "客服热线", "2026-11-18 10:00"]
    bad_all = ["R9", "", "1", "", "", "飞鸽", "明天"]
    rows = [good(1), bad_phone, bad_all]
    path, m = write(tmp_path, rows)
    res = tousu("import", str(path), "--mapping", str(m))
    assert res.exit_code == 2, res.output
    assert "被拒 2" in res.output and "被拒原因" in res.output
    assert "联系电话: 「…」不是有效的手机号" in res.output
    assert "投诉人姓名/名称: 投诉人姓名/名称不能为空" in res.output
    assert str(tmp_path / "in.rejects.csv") in res.output
    assert stored(ctx) == 1


def test_dry_run_writes_nothing_and_json_tells_the_counts(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    path, m = write(tmp_path, [good(1), good(2)])
    res = tousu("import", str(path), "--mapping", str(m), "--dry-run", "--json")
    body = as_json(res)
    assert res.exit_code == 0 and body["dry_run"] is True and body["imported"] == 2
    assert stored(ctx) == 0


def test_encoding_and_rejects_options(tousu: Tousu, ctx: Context, tmp_path: Path) -> None:
    path, m = write(tmp_path, [good(1), [*good(2)[:2], "1", *good(2)[3:]]], encoding="utf-16")
    out = tmp_path / "elsewhere"
    out.mkdir()
    res = tousu(
        "import", str(path), "--mapping", str(m), "--encoding", "utf-16", "--rejects", str(out)
    )
    assert res.exit_code == 2 and (out / "in.rejects.csv").exists()
    wrong = tousu("import", str(path), "--mapping", str(m), "--encoding", "klingon")
    assert wrong.exit_code == 2 and "klingon" in wrong.output


def test_a_row_failing_unexpectedly_is_a_reject_with_no_traceback_on_the_terminal(
    tousu: Tousu, ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.intake import bulk

    real = bulk.registration.party_row

    def failing(ctx: Context, p: Any, now: datetime) -> dict[str, Any]:
        if p.name == "王2":
            raise RuntimeError("磁盘已满")
        return real(ctx, p, now)

    monkeypatch.setattr(bulk.registration, "party_row", failing)
    path, m = write(tmp_path, [good(1), good(2), good(3)])
    res = tousu("import", str(path), "--mapping", str(m))  # the fixture refuses a traceback
    assert res.exit_code == 2 and "意外错误" in res.output
    assert stored(ctx) == 2
