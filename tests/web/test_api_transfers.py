"""POST/GET /api/v1/transfers/12378: the regulator's transfer list uploaded (GBK CSV, XLSX)
and the handling results downloaded in the same columns, re-read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.intake import transfers
from tests import test_transfers as lists
from tests.web import test_api

api = test_api.api  # the fixture: a client whose calls carry a user's token
pytestmark = pytest.mark.now(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
URL = "/api/v1/transfers/12378"


def upload(api, user, path: Path, **params):
    with path.open("rb") as fh:
        return api.post(URL, user, files={"file": (path.name, fh.read())}, params=params)


def test_a_clerk_uploads_a_gbk_csv_and_gets_counts_and_masked_rejects(api, ctx, tmp_path):
    path = lists.write_csv(tmp_path / "12378转办.csv", lists.ROWS)
    response = upload(api, "clerk", path)
    body = test_api.assert_error(response, 400, "invalid_input", 2)
    assert (body["total"], body["imported"], body["rejected"]) == (3, 2, 1)
    assert body["file"] == "12378转办.csv" and body["encoding"] == "gb18030"
    (reject,) = body["rejects"]
    assert (reject["line"], reject["field"], reject["column"]) == (4, "phone", "联系电话")
    assert set(lists.by_ref(ctx)) == {"BJ12378-2026-0001", "BJ12378-2026-0002"}
    again = upload(api, "clerk", lists.write_csv(tmp_path / "again.csv", lists.ROWS[:2]))
    assert again.status_code == 200, again.text
    assert (again.json()["imported"], again.json()["existing"]) == (0, 2)
    assert lists.count(ctx) == 2


def test_an_xlsx_upload_registers_and_a_dry_run_writes_nothing(api, ctx, tmp_path):
    path = lists.write_xlsx(tmp_path / "12378.xlsx", lists.ROWS[:2])
    dry = upload(api, "liaison", path, dry_run="true")
    assert dry.status_code == 200 and dry.json()["imported"] == 2 and dry.json()["dry_run"]
    assert lists.count(ctx) == 0
    done = upload(api, "liaison", path)
    assert done.status_code == 200 and done.json()["imported"] == 2
    assert lists.count(ctx) == 2


def test_roles_that_may_not_register_are_refused_and_other_files_too(api, ctx, tmp_path):
    path = lists.write_csv(tmp_path / "12378.csv", lists.ROWS[:1])
    test_api.assert_error(upload(api, "investigator", path), 403, "forbidden", 3)
    pdf = tmp_path / "12378.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    assert test_api.assert_error(upload(api, "clerk", pdf), 400, "invalid_input", 2)["field"] == (
        "file"
    )
    missing = api.post(URL, "clerk")
    assert test_api.assert_error(missing, 400, "invalid_input", 2)["field"] == "file"
    refused = api.get(URL, "investigator", params={"from": "2026-11-01", "to": "2026-11-30"})
    test_api.assert_error(refused, 403, "forbidden", 3)
    assert lists.count(ctx) == 0


def test_the_results_download_in_the_lists_columns_as_xlsx_and_csv(api, ctx, tmp_path):
    stored = lists._handled(ctx, tmp_path)
    period = {"from": "2026-11-17", "to": "2026-11-18"}
    xlsx = api.get(URL, "liaison", params=period)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    (tmp_path / "got.xlsx").write_bytes(xlsx.content)
    rows = lists.reread(tmp_path / "got.xlsx")
    assert list(rows[0]) == lists.HEADERS + list(transfers.RESULTS.values())
    assert rows[0]["本机构投诉编号"] == stored["BJ12378-2026-0001"]["number"]
    assert rows[0]["处理结果"] == "属于保险责任, 补足赔款 8600 元"
    gbk = api.get(URL, "liaison", params={**period, "format": "csv", "encoding": "gb18030"})
    assert gbk.status_code == 200
    text = gbk.content.decode("gb18030")
    (tmp_path / "got.csv").write_bytes(gbk.content)
    assert lists.reread(tmp_path / "got.csv")[0]["转办编号"] == "BJ12378-2026-0001"
    assert text.splitlines()[0].split(",")[: len(lists.HEADERS)] == lists.HEADERS
    bad = api.get(URL, "liaison", params={**period, "format": "pdf"})
    assert test_api.assert_error(bad, 400, "invalid_input", 2)["field"] == "format"
    backwards = api.get(URL, "liaison", params={"from": "2026-11-18", "to": "2026-11-01"})
    assert test_api.assert_error(backwards, 400, "invalid_input", 2)["field"] == "to"
