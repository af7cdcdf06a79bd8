"""Letters (告知书): a real DOCX rendered from the template and read back with python-docx, a PDF
through LibreOffice where it is installed, kept as evidence and logged like a reveal."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document

from services.casefile import evidence, letters
from services.context import Context
from services.lifecycle.queries import get_complaint
from states.errors import Forbidden, InvalidInput
from tests.factories import accepted, cst, notified

RECEIVED = cst(2026, 6, 1, 9, 0)


def _text(path: Path) -> str:
    return "\n".join(p.text for p in Document(str(path)).paragraphs)


def test_a_decision_notice_is_rendered_with_the_facts_remedies_and_real_name(
    ctx: Context, tmp_path: Path
) -> None:
    number = notified(ctx, RECEIVED, by_branch=True)
    done = letters.render(ctx, number, "decision", actor="liaison", out_dir=tmp_path, pdf=False)
    [docx] = [Path(f) for f in done["files"]]
    text = _text(docx)
    assert "投诉处理决定告知书" in text and f"编号: {number}" in text
    assert "赵六:" in text and "北京市朝阳区" in text  # the one place unmasked data belongs
    assert "一、核实的情况: 住院属实" in text and "二、处理依据: 保险合同第五条" in text
    assert "三、处理决定及理由: 属于保险责任" in text
    assert "1. 核查: 对分支机构作出的处理决定有异议的, 可自收到本告知书之日起 30 日内" in text
    assert "4. 诉讼:" in text
    assert "某某保险股份有限公司" in text and "(盖章)" in text
    assert "{{" not in text and "{%" not in text
    events = get_complaint(ctx, number)["events"]
    logged = events[-1]
    assert (logged["action"], logged["actor"]) == ("render_letter", "liaison")
    assert logged["details"]["sha256"]["docx"] == done["docx_sha256"]
    assert events[-2]["action"] == "attach" and events[-2]["details"]["kind"] == "letter"
    assert [v["verdict"] for v in evidence.verify(ctx, number, actor="liaison")] == ["ok"]
    assert done["pdf_skipped"]


def test_a_pdf_is_produced_through_libreoffice_where_it_is_installed(
    ctx: Context, tmp_path: Path
) -> None:
    if letters.office_binary(ctx) is None:
        pytest.skip("LibreOffice (soffice) is not installed: run scripts/system-packages as root")
    number = accepted(ctx, RECEIVED)
    done = letters.render(ctx, number, "acceptance", actor="clerk", out_dir=tmp_path)
    pdf = tmp_path / f"{number}-投诉受理告知书.pdf"
    assert done["pdf_skipped"] is None and str(pdf) in done["files"]
    assert pdf.read_bytes().startswith(b"%PDF")
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        import subprocess

        out = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True).stdout
        assert "投诉受理告知书" in out and "赵六" in out
    kinds = [(e["kind"], e["filename"][-4:]) for e in evidence.list_for(ctx, number, actor="clerk")]
    assert kinds == [("letter", "docx"), ("letter", ".pdf")]


def test_without_libreoffice_the_docx_is_kept_and_the_reason_given(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    number = accepted(ctx, RECEIVED)
    done = letters.render(ctx, number, "acceptance", actor="liaison", out_dir=tmp_path)
    assert done["pdf_sha256"] is None and "LibreOffice" in done["pdf_skipped"]
    assert "您于 2026年6月1日 向我司提出的投诉" in _text(Path(done["files"][0]))


def test_an_extension_notice_names_the_new_deadline_and_reason(
    ctx: Context, tmp_path: Path
) -> None:
    from services.lifecycle import actions as a

    number = accepted(ctx, RECEIVED)
    a.extend(ctx, number, actor="liaison", to=30, reason="需调取医院病历",
             at=RECEIVED + timedelta(days=3))  # fmt: skip
    done = letters.render(ctx, number, "extension", actor="liaison", out_dir=tmp_path, pdf=False)
    text = _text(Path(done["files"][0]))
    assert "因 需调取医院病历" in text and "延长至收到投诉之日起 30 日" in text
    assert "2026年7月1日 前作出处理决定" in text


def test_a_letter_before_its_action_or_by_a_role_without_pii_access_is_refused(
    ctx: Context, tmp_path: Path
) -> None:
    number = accepted(ctx, RECEIVED)
    before = get_complaint(ctx, number)["case"]["version"]
    with pytest.raises(InvalidInput) as err:
        letters.render(ctx, number, "decision", actor="liaison", pdf=False)
    assert err.value.field == "kind"
    with pytest.raises(InvalidInput):
        letters.render(ctx, number, "memo", actor="liaison", pdf=False)
    with pytest.raises(Forbidden):
        letters.render(ctx, number, "acceptance", actor="investigator", pdf=False)
    assert get_complaint(ctx, number)["case"]["version"] == before
    assert evidence.list_for(ctx, number, actor="liaison") == []
