"""Hostile 12378 transfer lists and downloads through the API (POST/GET /api/v1/transfers/12378,
services/intake/transfers.py): the encodings Excel and the regulator really write, a zip bomb
dressed as XLSX, a list over the size limit, a broken upload, codecs that are no text encoding,
dates no calendar holds. Each is a clear 4xx or a clean import, never a 500."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import test_transfers as lists
from tests.cli import conftest as cli
from tests.cli.conftest import Tousu
from tests.web.test_api import Api, assert_error
from web.app import create_app

pytestmark = pytest.mark.now(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
URL = "/api/v1/transfers/12378"


@pytest.fixture
def api(ctx: Any) -> Iterator[Api]:
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield Api(client, ctx)


def upload(api: Api, name: str, content: bytes, **params: str) -> Any:
    return api.post(URL, "clerk", files={"file": (name, content)}, params=params)


def utf16_tab_text(rows: list[list[str]]) -> bytes:
    """What Excel's "Unicode text (*.txt)" writes: UTF-16LE with a BOM, tab-separated, CRLF."""
    lines = ["\t".join(lists.HEADERS)] + ["\t".join(str(v) for v in row) for row in rows]
    return "\r\n".join(lines).encode("utf-16")


def test_a_gbk_csv_and_an_excel_utf16_text_import_cleanly(api, ctx, tmp_path):
    gbk = lists.write_csv(tmp_path / "转办.csv", lists.ROWS[:1]).read_bytes()
    assert upload(api, "转办.csv", gbk).json()["imported"] == 1
    response = upload(api, "转办.txt", utf16_tab_text(lists.ROWS[1:2]))
    assert response.status_code == 200, response.text
    assert (response.json()["imported"], response.json()["encoding"]) == (1, "utf-16")
    assert lists.count(ctx) == 2


@pytest.mark.parametrize(
    "codec", ["rot13", "base64", "zlib", "hex", "uu", "idna", "nope", "utf-32", "punycode"]
)
def test_a_codec_that_is_no_text_encoding_is_a_400_on_upload(api, ctx, tmp_path, codec):
    gbk = lists.write_csv(tmp_path / "转办.csv", lists.ROWS[:1]).read_bytes()
    body = assert_error(upload(api, "转办.csv", gbk, encoding=codec), 400, "invalid_input", 2)
    assert body["field"] == "encoding"
    assert lists.count(ctx) == 0


@pytest.mark.parametrize("codec", ["rot13", "base64", "zlib", "hex", "nope", "utf-8\r\nX-A: b"])
def test_a_codec_that_is_no_text_encoding_is_a_400_on_export(api, codec):
    params = {"from": "2026-11-01", "to": "2026-11-30", "format": "csv", "encoding": codec}
    response = api.get(URL, "clerk", params=params)
    assert assert_error(response, 400, "invalid_input", 2)["field"] == "encoding"


@pytest.mark.parametrize(
    ("start", "end"),
    [("0001-01-01", "2026-11-30"), ("2026-11-01", "9999-12-31"), ("2026-02-30", "2026-03-01")],
)
def test_an_export_period_outside_the_calendar_is_a_400(api, start, end):
    response = api.get(URL, "clerk", params={"from": start, "to": end})
    assert_error(response, 400, "invalid_input", 2)


def test_the_export_is_an_attachment_with_its_name(api):
    response = api.get(URL, "clerk", params={"from": "2026-11-01", "to": "2026-11-30"})
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "12378-results-20261101-20261130" in (
        disposition
    )


def zip_bomb(tmp_path: Path, unzipped_mb: int) -> bytes:
    """A real transfer-list workbook with one more row whose one cell's text unzips to
    `unzipped_mb` MB from a few hundred kilobytes."""
    real = lists.write_xlsx(tmp_path / "real.xlsx", lists.ROWS[:1])
    sheet = "xl/worksheets/sheet1.xml"
    out = io.BytesIO()
    with zipfile.ZipFile(real) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            if item.filename != sheet:
                z.writestr(item, src.read(item))
                continue
            text = src.read(item)
            cut = text.rindex(b"</sheetData>")
            with z.open(sheet, "w") as fh:
                fh.write(text[:cut] + b'<row r="3"><c r="A3" t="inlineStr"><is><t>')
                block = b"A" * (1024 * 1024)
                for _ in range(unzipped_mb):
                    fh.write(block)
                fh.write(b"</t></is></c></row>" + text[cut:])
    return out.getvalue()


def test_a_zip_bomb_dressed_as_xlsx_is_refused_before_it_is_unpacked(api, ctx, tmp_path):
    bomb = zip_bomb(tmp_path, 64)
    assert len(bomb) < 200_000  # 64 MB of text in under 200 kB
    body = assert_error(upload(api, "12378.xlsx", bomb), 400, "invalid_input", 2)
    assert body["field"] == "file" and "解压" in body["message"]
    assert lists.count(ctx) == 0


@pytest.mark.parametrize(
    "content", [b"", b"PK\x03\x04 not a zip", b"\x00" * 1000, b"<html>not a workbook</html>"]
)
def test_a_damaged_xlsx_is_a_400(api, ctx, content):
    body = assert_error(upload(api, "12378.xlsx", content), 400, "invalid_input", 2)
    assert body["field"] == "file"


def test_a_list_over_the_size_limit_is_a_400_and_imports_nothing(api, ctx, tmp_path, monkeypatch):
    from web.api import v1

    monkeypatch.setattr(v1, "UPLOAD_LIMIT", 64 * 1024)
    rows = [[*lists.ROWS[0][:1], *lists.ROWS[0][1:]] for _ in range(1)]
    big = lists.write_csv(tmp_path / "big.csv", rows).read_bytes() + b"," * (128 * 1024)
    body = assert_error(upload(api, "big.csv", big), 400, "invalid_input", 2)
    assert body["field"] == "file" and "过大" in body["message"]
    assert lists.count(ctx) == 0


@pytest.mark.parametrize(
    "name", ["../../../../etc/passwd.csv", "a\x00.csv", "转办\r\n.csv", "C:\\x\\转办.csv"]
)
def test_a_hostile_file_name_goes_nowhere_but_the_temporary_folder(api, ctx, tmp_path, name):
    gbk = lists.write_csv(tmp_path / "x.csv", lists.ROWS[:1]).read_bytes()
    response = upload(api, name, gbk)
    assert response.status_code in (200, 400), response.text
    assert "/" not in response.json().get("file", "")


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("multipart/form-data", b"--x\r\nbroken"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n"),
        ("application/json", b'{"file": "a.csv"}'),
        ("text/csv", "转办编号\nBJ1".encode("gbk")),
    ],
)
def test_an_upload_that_is_not_a_proper_form_is_a_400(api, ctx, content_type, content):
    headers = {"Authorization": f"Bearer {api.token('clerk')}", "Content-Type": content_type}
    response = api.client.post(URL, content=content, headers=headers)
    assert_error(response, 400, "invalid_input", 2)
    assert lists.count(ctx) == 0


# ---- The same through the command line (cli/transfers.py) -----------------------------------

cli_env, tousu = cli.cli_env, cli.tousu


@pytest.mark.parametrize("codec", ["rot13", "zlib", "utf-32"])
def test_the_command_line_refuses_a_codec_that_reads_no_text_with_exit_2(
    tousu: Tousu, ctx: Any, tmp_path: Path, codec: str
) -> None:
    path = lists.write_csv(tmp_path / "转办.csv", lists.ROWS[:1])
    result = tousu("transfers", "import", str(path), "--encoding", codec)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and lists.count(ctx) == 0
    if codec != "utf-32":  # utf-32 writes text well; only a file without its BOM reads badly
        out = tmp_path / "结果.csv"
        args = ("--from", "2026-11-01", "--to", "2026-11-30", "--encoding", codec)
        exported = tousu("transfers", "export", *args, str(out))
        assert exported.exit_code == 2, exported.output


def test_the_command_line_refuses_a_zip_bomb_with_exit_2(tousu: Tousu, ctx: Any, tmp_path: Path):
    path = tmp_path / "12378.xlsx"
    path.write_bytes(zip_bomb(tmp_path, 64))
    result = tousu("transfers", "import", str(path))
    assert result.exit_code == 2 and "解压" in result.output, result.output
    assert lists.count(ctx) == 0


def test_the_bulk_import_refuses_a_codec_that_reads_no_text_and_a_zip_bomb(
    tousu: Tousu, ctx: Any, tmp_path: Path
) -> None:
    mapping = "config/transfers_12378.toml"
    path = lists.write_csv(tmp_path / "转办.csv", lists.ROWS[:1])
    result = tousu("import", str(path), "--encoding", "rot13", "--mapping", mapping)
    assert result.exit_code == 2, result.output
    bomb = tmp_path / "b.xlsx"
    bomb.write_bytes(zip_bomb(tmp_path, 16))
    result = tousu("import", str(bomb), "--mapping", mapping)
    assert result.exit_code == 2 and lists.count(ctx) == 0, result.output


@pytest.mark.parametrize(
    "tail",
    [
        b'"' + b"A" * 200_000 + b'",x\r\n',  # one cell beyond the csv module's 128 kB limit
        b'"unterminated\r\n' + b"B" * 300_000,
    ],
)
def test_a_csv_with_a_monstrous_cell_is_a_400(api, ctx, tmp_path, tail):
    path = lists.write_csv(tmp_path / "转办.csv", lists.ROWS[:1])
    response = upload(api, "转办.csv", path.read_bytes() + tail)
    assert assert_error(response, 400, "invalid_input", 2)["field"] == "file"
