"""`tousu contact`, `tousu attach`, `tousu evidence`, `tousu rectify` as a handler runs them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.casefile import evidence_store
from services.context import Context
from services.lifecycle.registration import Person
from tests.cli.conftest import Tousu, as_json
from tests.factories import accepted

pytestmark = pytest.mark.clock
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def test_a_contact_shows_in_the_timeline_and_the_json(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    done = tousu(
        "contact", number, "--channel", "phone", "--summary", "告知已受理并约定补交材料",
        "--recording", "REC-001", user="liaison",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "已登记联系" in done.stdout
    shown = tousu("show", number, user="liaison").stdout
    assert "联系投诉人" in shown and "告知已受理" in shown
    body = as_json(tousu("show", number, "--json", user="liaison"))
    contact = body["events"][-1]
    assert contact["action"] == "contact"
    assert contact["details"]["recording"] == "REC-001"
    assert contact["at"].endswith("+08:00")
    flagged = as_json(
        tousu(
            "contact", number, "--channel", "visit", "--summary", "来访", "--json", user="liaison"
        )
    )
    assert flagged["contact"]["unrecorded"] is True


def test_a_bad_contact_is_exit_2_naming_the_field(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    bad = tousu("contact", number, "--channel", "fax", "--summary", "x", user="liaison")
    assert bad.exit_code == 2
    assert "channel" in bad.output or "联系方式" in bad.output
    assert "联系投诉人" not in tousu("show", number, user="liaison").stdout


def test_the_queue_shows_days_without_contact_on_open_cases(
    tousu: Tousu, ctx: Context, now: datetime
) -> None:
    silent = accepted(
        ctx, now - timedelta(days=6), complainant=Person(name="钱七", phone="13900139000")
    )
    fresh = accepted(
        ctx, now - timedelta(days=6), complainant=Person(name="孙八", phone="13700137000")
    )
    tousu("contact", fresh, "--channel", "sms", "--summary", "进展告知", user="liaison")
    body = as_json(tousu("queue", "--json", user="liaison"))
    days = {i["number"]: i["days_without_contact"] for i in body["items"]}
    expected = (
        now.astimezone(ctx.tz).date() - (now - timedelta(days=6)).astimezone(ctx.tz).date()
    ).days
    assert days == {silent: expected, fresh: None}
    assert f"{expected} 天未联系" in tousu("queue", user="liaison").stdout


def test_attach_list_get_and_verify_with_a_tampered_file(
    tousu: Tousu, ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    source = tmp_path / "发票.pdf"
    source.write_bytes(PDF)
    done = as_json(
        tousu("attach", number, str(source), "--kind", "invoice", "--json", user="liaison")
    )
    [row] = done["evidence"]
    listed = as_json(tousu("evidence", "list", number, "--json", user="liaison"))
    assert [e["sha256"] for e in listed["evidence"]] == [row["sha256"]]
    out = tmp_path / "out"
    out.mkdir()
    got = tousu("evidence", "get", number, str(row["id"]), "--out", str(out), user="liaison")
    assert got.exit_code == 0, got.output
    assert (out / "发票.pdf").read_bytes() == PDF
    assert tousu("evidence", "verify", number, user="liaison").exit_code == 0
    stored = evidence_store.path_of(ctx, row["sha256"])
    stored.write_bytes(stored.read_bytes()[:-3] + b"AAA")
    checked = tousu("evidence", "verify", number, user="liaison")
    assert checked.exit_code == 6
    assert "被改动" in checked.stdout


def test_an_attachment_of_a_type_not_allowed_is_exit_2_and_changes_nothing(
    tousu: Tousu, ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    exe = tmp_path / "a.pdf"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    bad = tousu("attach", number, str(exe), user="liaison")
    assert bad.exit_code == 2 and "file" in bad.output
    assert as_json(tousu("evidence", "list", number, "--json", user="liaison"))["evidence"] == []


def test_rectify_add_update_list_and_rate(tousu: Tousu, ctx: Context, now: datetime) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    today = now.astimezone(ctx.tz).date()
    added = as_json(
        tousu("rectify", "add", number, "--what", "理赔时效纳入考核", "--department", "理赔部",
              "--due", today.isoformat(), "--json", user="liaison")
    )  # fmt: skip
    item = added["item"]
    assert (item["department"], item["due_on"]) == ("claims", today.isoformat())
    refused = tousu("rectify", "update", str(item["id"]), "--status", "done", user="liaison")
    assert refused.exit_code == 2 and "evidence" in refused.output
    ok = tousu("rectify", "update", str(item["id"]), "--status", "done", "--evidence", "已发文",
               user="liaison")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    listed = as_json(tousu("rectify", "list", number, "--json", user="supervisor"))
    assert [i["status"] for i in listed["items"]] == ["done"]
    rate = as_json(
        tousu("rectify", "rate", "--period", f"{today:%Y-%m}", "--json", user="supervisor")
    )
    assert rate["total"]["due"] == 1 and rate["total"]["rate"] == 1.0
    assert rate["target_rate"] == 0.95
    shown = tousu("rectify", "rate", "--period", f"{today:%Y-%m}", user="supervisor").stdout
    assert "整改完成率" in shown and "理赔部" in shown


def test_tousu_letter_renders_keeps_and_records_the_posting(
    tousu: Tousu, ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    out = tmp_path / "letters"
    out.mkdir()
    done = as_json(
        tousu("letter", number, "acceptance", "--no-pdf", "--posted", "--out", str(out),
              "--json", user="liaison")
    )  # fmt: skip
    letter = done["letter"]
    assert [Path(f).name for f in letter["files"]] == [f"{number}-投诉受理告知书.docx"]
    events = as_json(tousu("show", number, "--json", user="liaison"))["events"]
    assert [e["action"] for e in events[-3:]] == ["attach", "render_letter", "contact"]
    posted = events[-1]
    assert posted["details"]["channel"] == "letter"
    assert posted["details"]["letter_sha256"] == letter["docx_sha256"]
    bad = tousu("letter", number, "decision", "--no-pdf", "--out", str(out), user="liaison")
    assert bad.exit_code == 2 and "处理决定" in bad.output
