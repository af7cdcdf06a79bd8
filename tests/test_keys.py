"""The personal-data key (issue 14, "Keys and files"): never created silently, checked against
the database before anything is written, malformed or unreadable keys a clear exit 6, and a
rotation that runs in batches and resumes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from services import keys
from services.context import Context, open_context
from services.lifecycle import queries
from storage.models import Complaint, Party
from storage.schema import table_of
from tests.cli.conftest import REGISTER
from tests.conftest import TEST_KEY, make_config
from tests.factories import cst, registered

OTHER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
COMPLAINT = table_of(Complaint)
PARTY = table_of(Party)


def _run(ctx: Context, tmp_path: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    base = {
        "TOUSU_DATABASE_URL": ctx.config.database_url,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_KEY": TEST_KEY,
        "TOUSU_KEY_FILE": "",
        "TOUSU_USER": "",
        "TOUSU_CONFIG": "",
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, list(args), env={**base, **env})
    assert "Traceback" not in result.output, result.output
    return result


def _count(ctx: Context, table) -> int:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_a_missing_key_is_exit_6_and_no_key_is_created(ctx: Context, tmp_path: Path) -> None:
    number = registered(ctx, cst(2026, 6, 1, 9))
    missing = tmp_path / "keys" / "tousu.key"
    r = _run(
        ctx,
        tmp_path,
        "show",
        number,
        "--user",
        "liaison",
        TOUSU_KEY="",
        TOUSU_KEY_FILE=str(missing),
    )
    assert r.exit_code == 6 and "tousu db init" in r.output
    assert not missing.exists()


@pytest.mark.parametrize("recorded", [False, True])
def test_a_wrong_well_formed_key_is_refused_before_anything_is_written(
    ctx: Context, tmp_path: Path, recorded: bool
) -> None:
    registered(ctx, cst(2026, 6, 1, 9))
    if recorded:
        assert keys.ensure_check(ctx) is True
    before = _count(ctx, COMPLAINT), _count(ctx, PARTY)
    r = _run(ctx, tmp_path, *REGISTER, "--user", "clerk", TOUSU_KEY=OTHER_KEY)
    assert r.exit_code == 6 and "不匹配" in r.output
    assert (_count(ctx, COMPLAINT), _count(ctx, PARTY)) == before
    # The services refuse it too (flows do not go through the CLI).
    other = open_context(make_config(tmp_path, ctx.config.database_url, TOUSU_KEY=OTHER_KEY))
    try:
        with pytest.raises(keys.KeyUnusable):
            registered(other, cst(2026, 6, 2, 9))
    finally:
        other.close()
    assert (_count(ctx, COMPLAINT), _count(ctx, PARTY)) == before


def test_the_first_command_with_a_key_records_its_check_value(ctx: Context, tmp_path: Path) -> None:
    assert _run(ctx, tmp_path, "queue", "--user", "liaison").exit_code == 0
    st = keys.status(ctx)
    assert st["ok"] and [k["state"] for k in st["known"]] == ["current"]
    assert TEST_KEY not in str(st)
    r = _run(ctx, tmp_path, "queue", "--user", "liaison", TOUSU_KEY=OTHER_KEY)
    assert r.exit_code == 6  # an empty database, but its key is known now


def test_a_malformed_or_unreadable_key_is_a_clear_exit_6(ctx: Context, tmp_path: Path) -> None:
    r = _run(ctx, tmp_path, "queue", "--user", "liaison", TOUSU_KEY="not-a-key")
    assert r.exit_code == 6 and "格式错误" in r.output
    folder = tmp_path / "a-directory"
    folder.mkdir()
    r = _run(ctx, tmp_path, "queue", "--user", "liaison", TOUSU_KEY="", TOUSU_KEY_FILE=str(folder))
    assert r.exit_code == 6 and "无法读取" in r.output


def test_db_init_creates_the_key_0600_outside_the_data_dir_and_records_it_once(
    tmp_path: Path, ctx: Context
) -> None:
    fresh = f"sqlite:///{tmp_path}/data/fresh.db"
    key_file = tmp_path / "secrets" / "tousu.key"
    env = {"TOUSU_DATABASE_URL": fresh, "TOUSU_KEY": "", "TOUSU_KEY_FILE": str(key_file)}
    r = _run(ctx, tmp_path, "db", "init", **env)
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()
    assert _run(ctx, tmp_path, "db", "init", **env).exit_code == 0
    assert key_file.read_bytes() == first  # never replaced
    again = _run(ctx, tmp_path, "key", "new", **env)
    assert again.exit_code == 6 and "已存在" in again.output
    assert key_file.read_bytes() == first
    assert _run(ctx, tmp_path, "key", "status", **env).exit_code == 0
    # The default location is outside the data directory.
    from config import load_config

    default = load_config(environ={"TOUSU_ROOT": str(tmp_path)}, root=tmp_path)
    assert not default.key_file.is_relative_to(default.data_dir)


def test_rotation_runs_in_batches_resumes_after_an_interruption_and_keeps_matching(
    ctx: Context, tmp_path: Path
) -> None:
    key_file = tmp_path / "k" / "tousu.key"
    keys.write_key_file(key_file, [TEST_KEY.encode()])
    numbers = [registered(ctx, cst(2026, 6, 1 + i, 9)) for i in range(3)]
    config = make_config(
        tmp_path, ctx.config.database_url, TOUSU_KEY="", TOUSU_KEY_FILE=str(key_file)
    )
    rot = open_context(config)
    try:
        stopped = keys.rotate(rot, batch=1, max_batches=2)  # interrupted after two rows
        assert not stopped.done and stopped.rewritten == 2
        lines = key_file.read_text().split()
        assert len(lines) == 2 and lines[1] == TEST_KEY
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # Meanwhile the system works with the key file as it is (new key first, old after).
        rot.reset_vault()
        person = queries.decrypt_party(
            rot, queries.get_complaint(rot, numbers[2])["case"]["complainant_id"]
        )
        assert person["name"] == "赵六"
        done = keys.rotate(rot, batch=1)  # resumes
        assert done.done and done.rewritten >= 1
    finally:
        rot.close()
    new_only = open_context(make_config(tmp_path, ctx.config.database_url, TOUSU_KEY=lines[0]))
    try:
        for number in numbers:
            cid = queries.get_complaint(new_only, number)["case"]["complainant_id"]
            assert queries.decrypt_party(new_only, cid)["phone"] == "13800138000"
        # The match hashes survived the rotation: the same phone still finds the party.
        with new_only.engine.connect() as conn:
            found = conn.execute(
                select(func.count())
                .select_from(PARTY)
                .where(PARTY.c.phone_hash == new_only.vault.match_hash("phone", "13800138000"))
            ).scalar()
        assert found == 3
    finally:
        new_only.close()
    # The old key alone is no longer this database's key.
    r = _run(ctx, tmp_path, "queue", "--user", "liaison", TOUSU_KEY=TEST_KEY)
    assert r.exit_code == 6


def test_rotation_on_postgresql_re_encrypts_parties_and_user_mobiles(
    pg_ctx: Context, tmp_path: Path
) -> None:
    from services import users

    number = registered(pg_ctx, cst(2026, 6, 1, 9))
    users.set_contact(pg_ctx, "supervisor", mobile="13912345678")
    new = keys.new_key().decode()
    both = open_context(
        make_config(tmp_path, pg_ctx.config.database_url, TOUSU_KEY=f"{new},{TEST_KEY}")
    )
    try:
        assert keys.rotate(both, batch=1).done
    finally:
        both.close()
    only_new = open_context(make_config(tmp_path, pg_ctx.config.database_url, TOUSU_KEY=new))
    try:
        cid = queries.get_complaint(only_new, number)["case"]["complainant_id"]
        assert queries.decrypt_party(only_new, cid)["name"] == "赵六"
        shown = users.set_contact(only_new, "supervisor")
        assert shown["mobile"] == "139****5678"
    finally:
        only_new.close()


def test_rotation_reseals_evidence_files_before_retiring_the_old_key(
    ctx: Context, tmp_path: Path
) -> None:
    from services.casefile import evidence, evidence_store
    from storage.vault import Vault
    from tests.factories import accepted

    number = accepted(ctx, cst(2026, 6, 1, 9))
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    [row] = evidence.attach(ctx, number, [pdf], actor="liaison")
    new = keys.new_key().decode()
    both = open_context(
        make_config(tmp_path, ctx.config.database_url, TOUSU_KEY=f"{new},{TEST_KEY}")
    )
    try:
        done = keys.rotate(both, reseal=evidence.reseal_files)
        assert done.done and done.files == 1
    finally:
        both.close()
    sealed = evidence_store.path_of(ctx, row["sha256"]).read_bytes()
    assert Vault(new.encode()).unseal(sealed) == pdf.read_bytes()


def test_an_unchecked_database_records_the_key_that_reads_its_data_not_the_first_given(
    ctx: Context, tmp_path: Path
) -> None:
    registered(ctx, cst(2026, 6, 1, 9))
    new = keys.new_key().decode()
    r = _run(ctx, tmp_path, "queue", "--user", "liaison", TOUSU_KEY=f"{new},{TEST_KEY}")
    assert r.exit_code == 6  # the data's key is recorded; a new key first needs `key rotate`
    assert [k["fingerprint"] for k in keys.status(ctx)["known"]] == [
        keys.fingerprint(TEST_KEY.encode())[:8]
    ]
    assert _run(ctx, tmp_path, "queue", "--user", "liaison").exit_code == 0
