"""Files holding personal data are not world-readable, and `tousu doctor` reports the key,
file modes and secrets (issue 14, "Keys and files")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from services.context import Context, open_context
from tests.conftest import TEST_KEY, make_config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run(tmp_path: Path, url: str, *args: str, **env: str):  # type: ignore[no-untyped-def]
    base = {
        "TOUSU_DATABASE_URL": url,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_KEY": TEST_KEY,
        "TOUSU_KEY_FILE": "",
        "TOUSU_USER": "",
        "TOUSU_CONFIG": "",
        "TOUSU_APPRISE_FILE": str(tmp_path / "apprise.yaml"),
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, list(args), env={**base, **env})
    assert "Traceback" not in result.output, result.output
    return result


def test_the_database_and_an_export_are_created_0600_and_an_old_0644_database_tightened(
    tmp_path: Path,
) -> None:
    old_umask = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path}/data/tousu.db"
        assert _run(tmp_path, url, "db", "init").exit_code == 0
        db = tmp_path / "data" / "tousu.db"
        assert _mode(db) == 0o600
        os.chmod(db, 0o644)  # as every database was before
        ctx = open_context(make_config(tmp_path, url))
        ctx.close()
        assert _mode(db) == 0o600
        os.umask(0o022)
        _run(tmp_path, url, "users", "add", "root", "--name", "管理员", "--role", "admin")
        _run(
            tmp_path,
            url,
            "users",
            "add",
            "wang",
            "--name",
            "王主管",
            "--role",
            "supervisor",
            "--user",
            "root",
        )
        out = tmp_path / "exports" / "ledger.xlsx"
        r = _run(tmp_path, url, "ledger", "export", "--out", str(out), "--user", "wang")
        assert r.exit_code == 0, r.output
        assert _mode(out) == 0o600
    finally:
        os.umask(old_umask)


def test_a_configured_group_makes_files_0640(tmp_path: Path) -> None:
    import grp

    group = grp.getgrgid(os.getgid()).gr_name
    old_umask = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path}/data/tousu.db"
        r = _run(tmp_path, url, "db", "init", TOUSU__FILES__GROUP=group)
        assert r.exit_code == 0, r.output
        assert _mode(tmp_path / "data" / "tousu.db") == 0o640
    finally:
        os.umask(old_umask)


def test_doctor_reports_the_key_file_modes_and_secrets(ctx: Context, tmp_path: Path) -> None:
    url = ctx.config.database_url
    (tmp_path / "apprise.yaml").write_text(
        "version: 1\nurls:\n  - wecombot://${ROBOT_KEY}:\n      - tag: supervisors\n",
        encoding="utf-8",
    )
    key_file = tmp_path / "data" / "tousu.key"  # inside the data directory, 0644
    key_file.parent.mkdir(exist_ok=True)
    key_file.write_text(TEST_KEY + "\n")
    os.chmod(key_file, 0o644)
    loose = tmp_path / "data" / "reports" / "2026-10.xlsx"
    loose.parent.mkdir(parents=True)
    loose.write_bytes(b"x")
    os.chmod(loose, 0o644)
    r = _run(tmp_path, url, "doctor", TOUSU_KEY="", TOUSU_KEY_FILE=str(key_file))
    assert r.exit_code == 6, r.output
    text = r.output
    assert "0644" in text and "数据目录" in text and str(loose) in text
    assert "ROBOT_KEY" in text
    assert TEST_KEY not in text
    # Put right, it says so.
    os.chmod(loose, 0o600)
    good = tmp_path / "keys" / "tousu.key"
    good.parent.mkdir()
    good.write_text(TEST_KEY + "\n")
    os.chmod(good, 0o600)
    key_file.unlink()
    os.chmod(key_file.parent, 0o700)
    (tmp_path / "apprise.yaml").write_text("version: 1\nurls: []\n", encoding="utf-8")
    r = _run(tmp_path, url, "doctor", "--json", TOUSU_KEY="", TOUSU_KEY_FILE=str(good))
    assert r.exit_code == 0, r.output
    assert '"ok": true' in r.output


def test_doctor_finds_a_session_cookie_that_does_not_match_the_workspace_address(
    ctx: Context, tmp_path: Path
) -> None:
    url = ctx.config.database_url
    clean = {"TOUSU_KEY": TEST_KEY, "TOUSU_APPRISE_FILE": str(tmp_path / "none.yaml")}
    https = {**clean, "TOUSU__WEB__BASE_URL": "https://tousu.example.com"}
    r = _run(tmp_path, url, "doctor", **https, TOUSU__WEB__COOKIE_SECURE="false")
    assert r.exit_code == 6 and "cookie_secure = false" in r.output, r.output
    r = _run(tmp_path, url, "doctor", **https, TOUSU__WEB__COOKIE_SECURE="true")
    assert "[正常] 网页" in r.output and "仅经 HTTPS 发送" in r.output, r.output
    plain = {**clean, "TOUSU__WEB__BASE_URL": "http://10.1.2.3:8000"}
    r = _run(tmp_path, url, "doctor", **plain, TOUSU__WEB__COOKIE_SECURE="true")
    assert r.exit_code == 6 and "无法登录" in r.output, r.output
    # On the machine itself a browser accepts the Secure cookie over HTTP.
    local = {**clean, "TOUSU__WEB__BASE_URL": "http://127.0.0.1:8000"}
    r = _run(tmp_path, url, "doctor", **local, TOUSU__WEB__COOKIE_SECURE="true")
    assert "[问题] 网页" not in r.output, r.output
