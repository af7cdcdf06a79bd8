"""The complainant's e-mail kept for messages is personal data like the party's phone: the key
rotation re-encrypts it and retention erases it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from services import keys
from services.automatic import retention
from services.casefile import messages
from services.context import Context, open_context
from services.lifecycle import actions as a
from storage import records
from tests.conftest import TEST_KEY, make_config
from tests.factories import ANALYSIS, accepted, cst

ADDRESS = "zhao.liu@example.org"


def _stored(ctx: Context, number: str) -> str | None:
    with ctx.engine.connect() as conn:
        case = records.load_case(conn, number)
        return conn.execute(
            select(messages.EMAIL.c.email_enc).where(
                messages.EMAIL.c.party_id == case["complainant_id"]
            )
        ).scalar()


def test_the_email_is_stored_encrypted_and_the_rotation_re_encrypts_it(
    ctx: Context, tmp_path: Path
) -> None:
    number = accepted(ctx, cst(2026, 6, 1, 9))
    messages.record_email(ctx, number, ADDRESS, actor="liaison")
    before = _stored(ctx, number)
    assert before and ADDRESS not in before
    assert ctx.vault.decrypt(before) == ADDRESS
    key_file = tmp_path / "k" / "tousu.key"
    keys.write_key_file(key_file, [TEST_KEY.encode()])
    config = make_config(
        tmp_path, ctx.config.database_url, TOUSU_KEY="", TOUSU_KEY_FILE=str(key_file)
    )
    rot = open_context(config)
    try:
        assert keys.rotate(rot).done
    finally:
        rot.close()
    new_key = key_file.read_text().split()[0]
    new_only = open_context(make_config(tmp_path, ctx.config.database_url, TOUSU_KEY=new_key))
    try:
        after = _stored(new_only, number)
        assert after != before
        assert new_only.vault.decrypt(after) == ADDRESS
    finally:
        new_only.close()


def test_retention_erases_the_email_with_the_party(ctx: Context) -> None:
    received = cst(2015, 3, 2, 10)
    number = accepted(ctx, received)
    messages.record_email(ctx, number, ADDRESS, actor="liaison")
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
    a.close(ctx, number, actor="liaison", **ANALYSIS, root_cause="时效", at=cst(2015, 3, 5, 10))
    assert _stored(ctx, number) is not None
    result = retention.erase_expired(ctx, now=cst(2025, 3, 6, 0, 30))
    assert result.erased == [number]
    assert _stored(ctx, number) is None
