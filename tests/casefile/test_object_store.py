"""Evidence in an S3-compatible object store (`[evidence] dir = "s3://bucket/prefix"`), against a
real S3 server on loopback (moto's): the object is ciphertext named by the hash, stored once,
read back, checked by verify, deleted by retention; an unreachable store is exit 6 and writes
nothing; the access key comes from the environment or the secrets file, never the TOML."""

from __future__ import annotations

import hashlib
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import Result
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from cli.main import app
from config import ConfigError
from services import doctor
from services.automatic import retention
from services.casefile import evidence, evidence_store
from services.casefile.evidence_store import StoreUnavailable
from services.context import Context, open_context
from services.lifecycle import actions as a
from services.lifecycle.queries import get_complaint
from storage.vault import Vault
from tests.conftest import TEST_KEY, make_config, seed_users
from tests.factories import ANALYSIS, accepted, cst

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
KEY_ID, SECRET = "tousu-test-key-id", "tousu-test-secret-access-key"
PREFIX = "tousu/evidence"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    _raw(endpoint).create_bucket(Bucket=name)
    return name


def _raw(endpoint: str) -> Any:
    """A plain client, to look at the store behind tousu's back."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def _s3_env(endpoint: str, bucket: str, secrets: Path) -> dict[str, str]:
    secrets.write_text(
        f"# evidence store\nEVIDENCE_KEY_ID={KEY_ID}\nEVIDENCE_SECRET='{SECRET}'\n",
        encoding="utf-8",
    )
    return {
        "TOUSU__EVIDENCE__DIR": f"s3://{bucket}/{PREFIX}",
        "TOUSU__EVIDENCE__ENDPOINT_URL": endpoint,
        "TOUSU__EVIDENCE__REGION": "us-east-1",
        "TOUSU__EVIDENCE__ADDRESSING": "path",
        "TOUSU__EVIDENCE__ACCESS_KEY_ID": "${EVIDENCE_KEY_ID}",
        "TOUSU__EVIDENCE__SECRET_ACCESS_KEY": "${EVIDENCE_SECRET}",
        "TOUSU__EVIDENCE__TIMEOUT_SECONDS": "2",
        "TOUSU__EVIDENCE__MAX_ATTEMPTS": "1",
        "TOUSU__NOTIFICATIONS__SECRETS_FILE": str(secrets),
    }


def _open(tmp_path: Path, template: Path, env: dict[str, str], name: str = "s3") -> Context:
    db = tmp_path / f"{name}.db"
    shutil.copy(template, db)
    context = open_context(make_config(tmp_path, f"sqlite:///{db}", **env))
    seed_users(context)
    return context


@pytest.fixture
def s3_ctx(tmp_path: Path, sqlite_template: Path, endpoint: str, bucket: str) -> Iterator[Context]:
    context = _open(tmp_path, sqlite_template, _s3_env(endpoint, bucket, tmp_path / "secrets"))
    yield context
    context.close()


def _dead_endpoint() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _keys(endpoint: str, bucket: str) -> list[str]:
    listed = _raw(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def _object(endpoint: str, bucket: str, sha: str) -> bytes:
    body = _raw(endpoint).get_object(Bucket=bucket, Key=f"{PREFIX}/{sha[:2]}/{sha}")["Body"]
    return bytes(body.read())


def _replace(endpoint: str, bucket: str, sha: str, data: bytes) -> None:
    _raw(endpoint).put_object(Bucket=bucket, Key=f"{PREFIX}/{sha[:2]}/{sha}", Body=data)


def test_an_attachment_is_stored_as_ciphertext_named_by_its_hash_and_comes_back_whole(
    s3_ctx: Context, endpoint: str, bucket: str, now: datetime, tmp_path: Path
) -> None:
    number = accepted(s3_ctx, now - timedelta(days=1))
    [done] = evidence.attach(
        s3_ctx, number, [_file(tmp_path, "发票.pdf", PDF)], actor="liaison", kind="invoice"
    )
    sha = hashlib.sha256(PDF).hexdigest()
    assert done["sha256"] == sha
    assert _keys(endpoint, bucket) == [f"{PREFIX}/{sha[:2]}/{sha}"]
    sealed = _object(endpoint, bucket, sha)
    assert PDF not in sealed and b"%PDF" not in sealed  # encrypted before it left
    assert Vault(TEST_KEY.encode()).unseal(sealed) == PDF  # ... with the project's key
    assert not (s3_ctx.config.data_dir / "evidence").exists()  # nothing on the local disk
    out = tmp_path / "out"
    out.mkdir()
    got = evidence.get(s3_ctx, number, done["id"], actor="liaison", out_dir=out)
    assert Path(got["path"]).read_bytes() == PDF
    assert get_complaint(s3_ctx, number)["events"][-1]["action"] == "view_evidence"
    assert [v["verdict"] for v in evidence.verify(s3_ctx, number, actor="liaison")] == ["ok"]


def test_identical_content_is_written_once(
    s3_ctx: Context, endpoint: str, bucket: str, now: datetime, tmp_path: Path
) -> None:
    first = accepted(s3_ctx, now - timedelta(days=1))
    evidence.attach(s3_ctx, first, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
    sha = hashlib.sha256(PDF).hexdigest()
    before = _raw(endpoint).head_object(Bucket=bucket, Key=f"{PREFIX}/{sha[:2]}/{sha}")
    assert evidence_store.put(s3_ctx, sha, PDF) is False  # an intact copy is there
    after = _raw(endpoint).head_object(Bucket=bucket, Key=f"{PREFIX}/{sha[:2]}/{sha}")
    assert after["ETag"] == before["ETag"]  # not rewritten (Fernet would differ)
    assert len(_keys(endpoint, bucket)) == 1


def test_the_cli_attaches_and_gets_through_the_object_store(
    s3_ctx: Context, endpoint: str, bucket: str, now: datetime, tmp_path: Path
) -> None:
    number = accepted(s3_ctx, now - timedelta(days=1))
    env = _cli_env(s3_ctx, tmp_path, _s3_env(endpoint, bucket, tmp_path / "secrets"))
    source = _file(tmp_path, "照片.jpg", JPEG)
    done = _tousu(env, "attach", number, str(source), "--kind", "photo")
    assert done.exit_code == 0, done.output
    [row] = evidence.list_for(s3_ctx, number, actor="liaison")
    out = tmp_path / "out"
    out.mkdir()
    got = _tousu(env, "evidence", "get", number, str(row["id"]), "--out", str(out))
    assert got.exit_code == 0, got.output
    assert (out / "照片.jpg").read_bytes() == JPEG
    assert _tousu(env, "evidence", "verify", number).exit_code == 0


def test_verify_detects_an_object_changed_replaced_or_removed_in_the_store(
    s3_ctx: Context, endpoint: str, bucket: str, now: datetime, tmp_path: Path
) -> None:
    number = accepted(s3_ctx, now - timedelta(days=1))
    third = PDF.replace(b"Catalog", b"Catalogue")
    rows = evidence.attach(
        s3_ctx,
        number,
        [
            _file(tmp_path, "a.pdf", PDF),
            _file(tmp_path, "b.jpg", JPEG),
            _file(tmp_path, "c.pdf", third),
        ],
        actor="liaison",
    )
    changed, replaced, removed = (r["sha256"] for r in rows)
    token = _object(endpoint, bucket, changed)
    _replace(endpoint, bucket, changed, token[:-3] + (b"AAA" if token[-3:] != b"AAA" else b"BBB"))
    # sealed with the project's key, but other content than the event log recorded
    _replace(endpoint, bucket, replaced, Vault(TEST_KEY.encode()).seal(b"\xff\xd8\xffother"))
    _raw(endpoint).delete_object(Bucket=bucket, Key=f"{PREFIX}/{removed[:2]}/{removed}")
    verdicts = [v["verdict"] for v in evidence.verify(s3_ctx, number, actor="liaison")]
    assert verdicts == ["tampered", "mismatch", "missing"]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Exception, match="被改动"):
        evidence.get(s3_ctx, number, rows[0]["id"], actor="liaison", out_dir=out)
    assert list(out.iterdir()) == []


def test_retention_deletes_the_object_with_an_event(
    s3_ctx: Context, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    old = _closed(s3_ctx, cst(2015, 3, 2, 10), cst(2015, 3, 5, 10))
    evidence.attach(s3_ctx, old, [_file(tmp_path, "old.pdf", PDF)], actor="liaison")
    sha = hashlib.sha256(PDF).hexdigest()
    assert _keys(endpoint, bucket) == [f"{PREFIX}/{sha[:2]}/{sha}"]
    result = retention.erase_expired(s3_ctx, now=cst(2025, 3, 6, 0, 30))
    assert result.erased == [old] and result.evidence_files == 1
    assert _keys(endpoint, bucket) == []
    assert [v["verdict"] for v in evidence.verify(s3_ctx, old, actor="liaison")] == ["erased"]
    last = get_complaint(s3_ctx, old)["events"][-1]
    assert (last["action"], last["actor"]) == ("evidence_erased", "system")


def test_a_key_rotation_reseals_the_objects(
    s3_ctx: Context, endpoint: str, bucket: str, now: datetime, tmp_path: Path
) -> None:
    from cryptography.fernet import Fernet, MultiFernet

    number = accepted(s3_ctx, now - timedelta(days=1))
    [row] = evidence.attach(s3_ctx, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
    new = Fernet.generate_key()
    multi = MultiFernet([Fernet(new), Fernet(TEST_KEY.encode())])
    assert evidence.reseal_files(s3_ctx, multi.rotate) == 1
    assert Vault(new).unseal(_object(endpoint, bucket, row["sha256"])) == PDF


def test_an_unreachable_store_is_a_clear_error_and_records_nothing(
    s3_ctx: Context,
    endpoint: str,
    bucket: str,
    sqlite_template: Path,
    now: datetime,
    tmp_path: Path,
) -> None:
    # A case with a file attached while the store answered, then the store goes away.
    number = accepted(s3_ctx, now - timedelta(days=1))
    [row] = evidence.attach(s3_ctx, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
    old = _closed(s3_ctx, cst(2015, 3, 2, 10), cst(2015, 3, 5, 10))
    evidence.attach(s3_ctx, old, [_file(tmp_path, "old.jpg", JPEG)], actor="liaison")
    env = {**_s3_env(endpoint, bucket, tmp_path / "secrets")}
    env["TOUSU__EVIDENCE__ENDPOINT_URL"] = _dead_endpoint()
    dead = open_context(make_config(tmp_path, s3_ctx.config.database_url, **env))
    try:
        events = len(get_complaint(dead, number)["events"])
        with pytest.raises(StoreUnavailable, match="无法连接") as refused:
            evidence.attach(dead, number, [_file(tmp_path, "b.jpg", JPEG)], actor="liaison")
        assert refused.value.exit_code == 6 and "未作任何修改" in str(refused.value)
        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(StoreUnavailable):
            evidence.get(dead, number, row["id"], actor="liaison", out_dir=out)
        with pytest.raises(StoreUnavailable):
            evidence.verify(dead, number, actor="liaison")
        with pytest.raises(StoreUnavailable):
            retention.erase_expired(dead, now=cst(2025, 3, 6, 0, 30))
        assert len(get_complaint(dead, number)["events"]) == events
        assert [r["id"] for r in evidence.list_for(dead, number, actor="liaison")] == [row["id"]]
        assert list(out.iterdir()) == []
        # retention stopped before it erased the old case's personal data or its evidence
        assert get_complaint(dead, old)["events"][-1]["action"] == "attach"
        assert [r["erased_at"] for r in evidence.list_for(dead, old, actor="liaison")] == [None]
    finally:
        dead.close()
    # The CLI: exit 6, "无法运行", one line in Chinese.
    cli = _tousu(
        _cli_env(s3_ctx, tmp_path, env), "attach", number, str(_file(tmp_path, "c.pdf", PDF + b"x"))
    )
    assert cli.exit_code == 6
    assert "无法运行" in cli.output and "无法连接" in cli.output
    assert len(evidence.list_for(s3_ctx, number, actor="liaison")) == 1


def test_a_missing_bucket_is_named(
    tmp_path: Path, sqlite_template: Path, endpoint: str, now: datetime
) -> None:
    env = _s3_env(endpoint, "no-such-bucket", tmp_path / "secrets")
    context = _open(tmp_path, sqlite_template, env)
    try:
        number = accepted(context, now - timedelta(days=1))
        with pytest.raises(StoreUnavailable, match="存储桶 no-such-bucket 不存在"):
            evidence.attach(context, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
        assert evidence.list_for(context, number, actor="liaison") == []
        # Nor is every file "missing" when the bucket is (a HEAD's 404 says neither).
        sha = hashlib.sha256(PDF).hexdigest()
        with pytest.raises(StoreUnavailable, match="不存在"):
            evidence_store.exists(context, sha)
        with pytest.raises(StoreUnavailable, match="不存在"):
            evidence_store.read_plain(context, sha)
    finally:
        context.close()


def test_the_access_key_comes_from_the_environment_and_never_from_the_toml(
    tmp_path: Path,
    sqlite_template: Path,
    endpoint: str,
    bucket: str,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _s3_env(endpoint, bucket, tmp_path / "secrets")
    env["TOUSU__NOTIFICATIONS__SECRETS_FILE"] = str(tmp_path / "absent")
    monkeypatch.setenv("EVIDENCE_KEY_ID", KEY_ID)
    monkeypatch.setenv("EVIDENCE_SECRET", SECRET)
    context = _open(tmp_path, sqlite_template, env)
    try:
        number = accepted(context, now - timedelta(days=1))
        evidence.attach(context, number, [_file(tmp_path, "a.pdf", PDF)], actor="liaison")
        assert len(_keys(endpoint, bucket)) == 1
    finally:
        context.close()
    monkeypatch.delenv("EVIDENCE_SECRET")
    context = _open(tmp_path, sqlite_template, env, name="unset")
    try:
        with pytest.raises(ConfigError, match="EVIDENCE_SECRET 未设置"):
            evidence_store.check(context)
    finally:
        context.close()
    literal = {**env, "TOUSU__EVIDENCE__SECRET_ACCESS_KEY": SECRET}
    context = _open(tmp_path, sqlite_template, literal, name="literal")
    try:
        with pytest.raises(ConfigError, match="不写入配置文件") as refused:
            evidence_store.check(context)
        assert SECRET not in str(refused.value)
    finally:
        context.close()


def test_doctor_checks_the_object_store(
    s3_ctx: Context, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    [found] = [f for f in doctor.check(s3_ctx).findings if f.area == "evidence"]
    assert found.ok and bucket in found.message
    env = {**_s3_env(endpoint, bucket, tmp_path / "secrets")}
    env["TOUSU__EVIDENCE__ENDPOINT_URL"] = _dead_endpoint()
    dead = open_context(make_config(tmp_path, s3_ctx.config.database_url, **env))
    try:
        [found] = [f for f in doctor.check(dead).findings if f.area == "evidence"]
    finally:
        dead.close()
    assert not found.ok and "无法连接" in found.message


# ---- helpers -----------------------------------------------------------------------------------


def _cli_env(ctx: Context, tmp_path: Path, s3: dict[str, str]) -> dict[str, str]:
    return {
        "TOUSU_DATABASE_URL": ctx.config.database_url,
        "TOUSU_KEY": TEST_KEY,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_USER": "",
        "TOUSU_CONFIG": "",
        "COLUMNS": "200",
        **s3,
    }


def _tousu(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(app, [*args, "--user", "liaison"], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def _closed(ctx: Context, received: datetime, closed: datetime) -> str:
    """A case finished on `closed` (the retention tests' path through the lifecycle)."""
    number = accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    a.negotiate(ctx, number, actor="liaison", findings="核实属实", at=received + timedelta(days=1))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="住院属实",
        basis="合同第五条",
        reasons="属实",
        remedies=["review", "mediation"],
        at=received + timedelta(days=2),
    )
    a.notify(
        ctx,
        number,
        actor="liaison",
        channel="sms",
        proof="回执",
        at=received + timedelta(days=2, hours=1),
    )
    a.close(ctx, number, actor="liaison", **ANALYSIS, root_cause="时效", at=closed)
    return number
