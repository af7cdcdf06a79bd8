"""What the pages reuse instead of reading again on every request, and that it changes when it
must: the user datalist (web/pages/users.py), the blank action forms (web/pages/case.py), the
dashboard counted at start-up (services/reporting/dashboard.py), SQLite's page cache per connection
(`[database] sqlite_cache_mib`, storage/db.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import ConfigError
from services import users
from services.context import Context, open_context
from services.reporting import dashboard
from storage.db import read_only
from tests.conftest import make_config
from web.pages import users as page_users
from web.pages.case import _blank_inputs

NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def test_the_user_datalist_is_reused_for_a_minute_then_read_again(ctx: Context, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(page_users.time, "monotonic", lambda: clock[0])
    first = page_users.user_datalist(ctx)
    assert 'value="liaison"' in first
    users.add_user(ctx, "newcomer", name="新来的<调查员>", role="investigator", team="消保一组")
    clock[0] += page_users.REUSE_SECONDS - 1
    assert page_users.user_datalist(ctx) == first  # a suggestion list: reused for the minute
    clock[0] += 2
    again = page_users.user_datalist(ctx)
    assert 'value="newcomer"' in again
    assert "新来的&lt;调查员&gt;" in again and "<调查员>" not in again  # escaped as in a template


def test_a_blank_form_is_drawn_once_and_is_the_same_for_every_case(ctx: Context):
    drawn = _blank_inputs(ctx, "update_facts")
    assert 'name="reason"' in drawn and 'id="update_facts-reason"' in drawn
    assert _blank_inputs(ctx, "update_facts") is drawn
    assert _blank_inputs(ctx, "assign") is not drawn


def test_the_dashboard_is_counted_at_start_up_unless_configured_off(ctx: Context, tmp_path: Path):
    dashboard.warm(ctx, now=NOON)
    counted = dashboard._CACHE[id(ctx)]
    assert counted[("figures", None)][0] == NOON

    db = tmp_path / "off.db"
    off = open_context(
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__DASHBOARD__WARM_AT_START="false")
    )
    try:
        dashboard.warm(off, now=NOON)
        assert id(off) not in dashboard._CACHE
    finally:
        off.close()


def test_sqlite_keeps_the_configured_page_cache(tmp_path: Path):
    db = tmp_path / "cache.db"
    ctx = open_context(
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__DATABASE__SQLITE_CACHE_MIB="8")
    )
    try:
        with read_only(ctx.engine) as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -8 * 1024
    finally:
        ctx.close()
    with pytest.raises((ConfigError, ValueError)):
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__DATABASE__SQLITE_CACHE_MIB="0")
