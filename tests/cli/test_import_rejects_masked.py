"""Import reject files hold what was read: personal data in them is masked unless a role that
may reveal asks for it with --reveal-rejects, which is logged (issue 14, "Keys and files")."""

from __future__ import annotations

import csv
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from services.context import Context
from states.errors import Forbidden
from tests.cli.conftest import Tousu

pytestmark = pytest.mark.now(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))

MAPPING = """
[source]
name = "t"
id_column = "编号"

[columns]
name = "姓名"
phone = "电话"
id_number = "证件号"
address = "地址"
claim = "请求"
facts = "事实"
channel = "渠道"
received_at = "收到时间"
"""
HEADERS = ["编号", "姓名", "电话", "证件号", "地址", "请求", "事实", "渠道", "收到时间"]
# A bad channel rejects the row; everything personal in it must not reach the file in full.
BAD = [
    "R1",
    "欧阳娜娜",
    "13912345678",
    "11010519491231002X",
    "北京市朝阳区建国路88号",
    "要求退保",
    "来电 13800138000 催办",
    "信鸽",
    "2026-11-18 10:00",
]
SECRETS = ("欧阳娜娜", "13912345678", "11010519491231002X", "建国路88号", "13800138000")


def _files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "in.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADERS, BAD])
    return path, tmp_path / "map.toml"


def test_a_rejects_file_masks_personal_data_and_is_0600(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    path, m = _files(tmp_path)
    res = tousu("import", str(path), "--mapping", str(m), user="clerk")
    assert res.exit_code == 2, res.output
    out = tmp_path / "in.rejects.csv"
    text = out.read_text(encoding="utf-8-sig")
    assert "信鸽" in text  # the field at fault is still shown
    for secret in SECRETS:
        assert secret not in text
    assert "欧***" in text and "139****5678" in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_reveal_rejects_shows_them_in_full_and_is_logged(
    tousu: Tousu, ctx: Context, tmp_path: Path
) -> None:
    from storage.pii_access import PiiAccess
    from storage.schema import table_of

    path, m = _files(tmp_path)
    res = tousu("import", str(path), "--mapping", str(m), "--reveal-rejects", user="clerk")
    assert res.exit_code == 2, res.output
    text = (tmp_path / "in.rejects.csv").read_text(encoding="utf-8-sig")
    assert all(secret in text for secret in SECRETS)
    log = table_of(PiiAccess)
    with ctx.engine.connect() as conn:
        [row] = conn.execute(select(log)).mappings().all()
    assert row["username"] == "clerk" and row["what"] == "import rejects"
    assert "in.rejects.csv" in row["detail"] and "欧阳" not in row["detail"]


def test_a_role_that_may_not_reveal_cannot_have_rejects_unmasked(
    ctx: Context, tmp_path: Path
) -> None:
    from services.intake import importing

    path, m = _files(tmp_path)
    rules = importing.load_mapping(m)
    with pytest.raises(Forbidden):
        importing.run(ctx, path, rules, actor="system", reveal_rejects=True)
    assert not (tmp_path / "in.rejects.csv").exists()
