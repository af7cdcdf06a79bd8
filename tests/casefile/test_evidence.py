"""Evidence files: encrypted at rest with the project's key, by SHA-256 and size in the event
log; verify tells a changed, foreign-keyed or missing file; a rejected file changes nothing."""

from __future__ import annotations

import base64
import hashlib
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from services.casefile import evidence, evidence_store
from services.context import Context, open_context
from services.lifecycle.queries import get_complaint
from states.errors import Forbidden, InvalidInput
from storage.vault import Vault
from tests.conftest import make_config, seed_users
from tests.factories import accepted

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


@pytest.fixture
def small(tmp_path: Path, sqlite_template: Path) -> Iterator[Context]:
    db = tmp_path / "small.db"
    shutil.copy(sqlite_template, db)
    context = open_context(
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__EVIDENCE__MAX_BYTES="100")
    )
    seed_users(context)
    yield context
    context.close()


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _store_files(ctx: Context) -> list[Path]:
    root = evidence_store.root(ctx)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_attachment_goes_in_encrypted_and_comes_back_whole(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    source = _file(tmp_path, "发票.pdf", PDF)
    [done] = evidence.attach(
        ctx, number, [source], actor="liaison", kind="invoice", note="医院发票"
    )
    sha = hashlib.sha256(PDF).hexdigest()
    assert (done["sha256"], done["size"], done["media_type"]) == (sha, len(PDF), "application/pdf")
    stored = evidence_store.path_of(ctx, sha)
    assert stored.name == sha
    sealed = stored.read_bytes()
    assert PDF not in sealed and b"%PDF" not in sealed  # encrypted at rest
    assert Vault(ctx.config.key.encode()).unseal(sealed) == PDF  # ... with the project's key
    event = get_complaint(ctx, number)["events"][-1]
    assert event["action"] == "attach"
    assert (event["details"]["sha256"], event["details"]["size"]) == (sha, len(PDF))
    out = tmp_path / "out"
    out.mkdir()
    got = evidence.get(ctx, number, done["id"], actor="liaison", out_dir=out)
    assert Path(got["path"]).read_bytes() == PDF
    assert get_complaint(ctx, number)["events"][-1]["action"] == "view_evidence"
    assert [v["verdict"] for v in evidence.verify(ctx, number, actor="liaison")] == ["ok"]


def test_verify_detects_a_changed_a_foreign_and_a_missing_file(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    files = [_file(tmp_path, f"{i}.txt", f"通话记录 {i}\n".encode()) for i in range(3)]
    files.append(_file(tmp_path, "photo.jpg", JPEG))
    rows = evidence.attach(ctx, number, files, actor="liaison", kind="other")
    changed, foreign, missing, intact = (evidence_store.path_of(ctx, r["sha256"]) for r in rows)
    token = bytearray(changed.read_bytes())
    token[len(token) // 2] ^= 0x01
    changed.write_bytes(bytes(token))
    other_key = base64.urlsafe_b64encode(b"k" * 32)
    foreign.write_bytes(Vault(other_key).seal(b"another content"))
    missing.unlink()
    verdicts = [v["verdict"] for v in evidence.verify(ctx, number, actor="liaison")]
    assert verdicts == ["tampered", "tampered", "missing", "ok"]
    with pytest.raises(InvalidInput):
        evidence.get(ctx, number, rows[0]["id"], actor="liaison", out_dir=tmp_path)
    assert intact.exists()


def test_verify_detects_a_row_that_no_longer_says_what_the_history_recorded(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    [row] = evidence.attach(ctx, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
    with ctx.engine.begin() as conn:
        conn.execute(
            update(evidence.EVIDENCE).where(evidence.EVIDENCE.c.id == row["id"]).values(size=1)
        )
    assert [v["verdict"] for v in evidence.verify(ctx, number, actor="liaison")] == ["mismatch"]


def _nothing_changed(ctx: Context, number: str, version: int) -> None:
    assert get_complaint(ctx, number)["case"]["version"] == version
    assert evidence.list_for(ctx, number, actor="liaison") == []
    assert _store_files(ctx) == []


def test_a_file_over_the_size_limit_changes_nothing(
    small: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(small, now - timedelta(days=1))
    version = get_complaint(small, number)["case"]["version"]
    fine, big = _file(tmp_path, "ok.txt", b"short note"), _file(tmp_path, "big.jpg", JPEG)
    with pytest.raises(InvalidInput) as err:
        evidence.attach(small, number, [fine, big], actor="liaison")
    assert err.value.field == "file" and "big.jpg" in str(err.value)
    _nothing_changed(small, number, version)


def test_a_file_of_a_type_not_allowed_changes_nothing_even_when_renamed(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    version = get_complaint(ctx, number)["case"]["version"]
    exe = _file(tmp_path, "invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200)
    with pytest.raises(InvalidInput) as err:
        evidence.attach(ctx, number, [_file(tmp_path, "ok.pdf", PDF), exe], actor="liaison")
    assert err.value.field == "file" and "invoice.pdf" in str(err.value)
    _nothing_changed(ctx, number, version)
    with pytest.raises(InvalidInput) as err:
        evidence.attach(ctx, number, [tmp_path / "nope.pdf"], actor="liaison")
    assert err.value.field == "file"
    with pytest.raises(InvalidInput) as err:
        evidence.attach(ctx, number, [_file(tmp_path, "x.pdf", PDF)], actor="liaison", kind="x")
    assert err.value.field == "kind"
    with pytest.raises(Forbidden):
        evidence.attach(ctx, number, [_file(tmp_path, "y.pdf", PDF)], actor="admin")
    _nothing_changed(ctx, number, version)


def test_the_same_content_is_not_attached_twice_to_one_case(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    evidence.attach(ctx, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
    with pytest.raises(InvalidInput):
        evidence.attach(ctx, number, [_file(tmp_path, "copy.pdf", PDF)], actor="liaison")
    assert len(evidence.list_for(ctx, number, actor="liaison")) == 1


def test_retention_erases_a_cases_files_with_an_event_and_keeps_shared_content(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    from services.lifecycle.registration import Person

    old = accepted(ctx, now - timedelta(days=2))
    kept = accepted(
        ctx,
        now - timedelta(days=1),
        complainant=Person(name="钱七", phone="13900139000"),
        policy_no=None,
    )
    shared, own = _file(tmp_path, "a.pdf", PDF), _file(tmp_path, "b.jpg", JPEG)
    evidence.attach(ctx, old, [shared, own], actor="liaison")
    evidence.attach(ctx, kept, [shared], actor="liaison")
    cid = get_complaint(ctx, old)["case"]["id"]
    assert evidence.erase_cases(ctx, [cid], now=now) == 2
    assert evidence.erase_cases(ctx, [cid], now=now) == 0  # a rerun finds nothing
    assert not evidence_store.exists(ctx, hashlib.sha256(JPEG).hexdigest())
    assert evidence_store.exists(ctx, hashlib.sha256(PDF).hexdigest())
    assert [v["verdict"] for v in evidence.verify(ctx, old, actor="liaison")] == ["erased"] * 2
    assert [v["verdict"] for v in evidence.verify(ctx, kept, actor="liaison")] == ["ok"]
    last = get_complaint(ctx, old)["events"][-1]
    assert (last["action"], last["actor"]) == ("evidence_erased", "system")


def test_a_key_rotation_reseals_the_files_so_the_new_key_alone_reads_them(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet

    number = accepted(ctx, now - timedelta(days=1))
    [row] = evidence.attach(ctx, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
    new = Fernet.generate_key()
    multi = MultiFernet([Fernet(new), Fernet(ctx.config.key.encode())])
    assert evidence.reseal_files(ctx, multi.rotate) == 1
    sealed = evidence_store.path_of(ctx, row["sha256"]).read_bytes()
    assert Vault(new).unseal(sealed) == PDF
    with pytest.raises(InvalidToken):
        Fernet(ctx.config.key.encode()).decrypt(sealed)


@pytest.mark.postgres
def test_attach_and_verify_work_on_both_databases(
    any_ctx: Context, now: datetime, tmp_path: Path
) -> None:
    number = accepted(any_ctx, now - timedelta(days=1))
    evidence.attach(any_ctx, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
    assert [v["verdict"] for v in evidence.verify(any_ctx, number, actor="liaison")] == ["ok"]
