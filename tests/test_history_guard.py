"""The history cannot be emptied or outrun (issue 14, "History and the outbox"): TRUNCATE on
PostgreSQL, deleting a complaint with events on SQLite, and action times in order."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from services.context import Context, open_context
from services.lifecycle import actions as a
from services.lifecycle import queries
from states.errors import InvalidInput
from tests.conftest import make_config
from tests.factories import accepted, cst, registered


def test_truncating_the_event_log_is_refused_on_postgresql(pg_ctx: Context) -> None:
    number = registered(pg_ctx, cst(2026, 6, 1, 9))
    for statement in ("TRUNCATE complaint CASCADE", "TRUNCATE event CASCADE"):
        with pytest.raises(Exception, match="append-only"), pg_ctx.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(queries.get_complaint(pg_ctx, number)["events"]) == 1


def test_a_complaint_with_events_cannot_be_deleted_on_sqlite_even_with_foreign_keys_off(
    ctx: Context,
) -> None:
    number = registered(ctx, cst(2026, 6, 1, 9))
    path = ctx.config.database_url.split("///", 1)[1]
    ctx.engine.dispose()
    plain = sqlite3.connect(path)  # the sqlite3 shell's way: PRAGMA foreign_keys is off
    try:
        assert plain.execute("PRAGMA foreign_keys").fetchone() == (0,)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            plain.execute("DELETE FROM complaint")
        plain.rollback()
        assert plain.execute("SELECT count(*) FROM complaint").fetchone() == (1,)
    finally:
        plain.close()
    assert len(queries.get_complaint(ctx, number)["events"]) == 1


@pytest.mark.clock
def test_an_action_a_minute_in_the_future_is_refused_by_default(
    ctx: Context, now: datetime
) -> None:
    number = accepted(ctx, cst(2026, 6, 1, 9))
    with pytest.raises(InvalidInput, match="晚于当前时间") as err:
        a.investigate(ctx, number, actor="liaison", at=now + timedelta(minutes=1))
    assert err.value.field == "at"


@pytest.mark.clock
def test_within_a_configured_skew_the_next_action_without_at_is_never_recorded_before_it(
    ctx: Context, now: datetime, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    skewed = open_context(
        make_config(tmp_path, ctx.config.database_url, TOUSU__CLOCK__SKEW_SECONDS="120")
    )
    try:
        number = accepted(skewed, cst(2026, 6, 1, 9))
        ahead = now + timedelta(seconds=90)
        a.investigate(skewed, number, actor="liaison", at=ahead)
        with pytest.raises(InvalidInput, match="晚于当前时间"):
            a.new_facts(skewed, number, actor="liaison", summary="x", at=now + timedelta(minutes=3))
        a.negotiate(skewed, number, actor="liaison", findings="核实属实")
        events = queries.get_complaint(skewed, number)["events"]
        times = [e["at"] for e in events]
        assert times == sorted(times)
        assert events[-1]["action"] == "negotiate" and events[-1]["at"] >= ahead
    finally:
        skewed.close()
