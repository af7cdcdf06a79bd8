"""What the pages reuse instead of reading again on every request, and that it changes when it
must: the user datalist (web/pages/users.py), the blank action forms, the queue's rows and the
timeline's items (drawn once per distinct row: a changed case shows changed), masked events and
parties (services/lifecycle/queries.py), the dashboard counted at start-up
(services/reporting/dashboard.py), SQLite's page cache per connection (`[database]
sqlite_cache_mib`) and one-statement raw reads without a transaction (storage/db.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select, table

from config import ConfigError
from services import users
from services.context import Context, open_context
from services.lifecycle import actions as a
from services.reporting import dashboard
from states import lifecycle as lc
from storage.db import raw_reads, read_only
from storage.migrate import upgrade
from tests.conftest import make_config
from tests.factories import accepted
from tests.web.test_pages import as_user, client, csrf, post_form, someone, web_ctx
from web.app import templates
from web.pages import users as page_users
from web.pages.case import _blank_form, _blank_inputs

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


@pytest.mark.clock
def test_the_people_a_form_may_name_come_apart_from_the_page(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    assert client.get("/users/options", follow_redirects=False).status_code == 303  # login first
    users.add_user(web_ctx, "newcomer", name="新来的<调查员>", role="investigator", team="消保一组")
    page = as_user(client, "liaison").get(f"/cases/{number}").text
    assert '<datalist id="users" data-src="/users/options"></datalist>' in page
    assert 'list="users"' in page and "/static/tousu.js" in page
    options = client.get("/users/options")
    assert options.status_code == 200
    assert options.headers["cache-control"] == f"private, max-age={int(page_users.REUSE_SECONDS)}"
    assert '<option value="liaison">' in options.text
    assert "新来的&lt;调查员&gt;" in options.text and "<调查员>" not in options.text


def test_a_blank_form_is_drawn_once_and_is_the_same_for_every_case(ctx: Context):
    drawn = _blank_inputs(ctx, "update_facts")
    assert 'name="reason"' in drawn and 'id="update_facts-reason"' in drawn
    assert _blank_inputs(ctx, "update_facts") is drawn
    assert _blank_inputs(ctx, "assign") is not drawn


def test_an_untouched_form_filled_in_is_the_form_the_template_draws(ctx: Context):
    parts = _blank_form(ctx, "update_facts")
    assert _blank_form(ctx, "update_facts") is parts  # drawn once
    number, token, version = "TS2026<1>", 'tok"en&', 7  # escaped like any value
    filled = parts[0] + escape(number) + parts[1] + escape(token) + parts[2] + escape(version)
    filled += parts[3]
    act = lc.ACTIONS_BY_TRIGGER["update_facts"]
    macro = templates.env.get_template("pages/_action_form.html").module.action_form
    drawn = macro(
        {
            "trigger": "update_facts",
            "label": act.label,
            "help": act.help,
            "html": _blank_inputs(ctx, "update_facts"),
            "error": "",
            "open": False,
            "at": None,
        },
        number,
        token,
        version,
    )
    assert str(filled) == str(drawn)
    assert 'value="tok&#34;en&amp;"' in filled and "/cases/TS2026&lt;1&gt;/actions/" in filled


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


def test_the_dashboard_knows_when_its_figures_are_counted_already(tmp_path: Path):
    db = tmp_path / "counted.db"
    upgrade(f"sqlite:///{db}")
    ctx = open_context(
        make_config(
            tmp_path,
            f"sqlite:///{db}",
            TOUSU__DASHBOARD__FRESH_BELOW_MS="0",  # every count is reused, however quick
            TOUSU__DASHBOARD__CACHE_SECONDS="15",
        )
    )
    try:
        assert not dashboard.counted(ctx, now=NOON)
        dashboard.figures(ctx, now=NOON)
        assert dashboard.counted(ctx, now=NOON + timedelta(seconds=14))
        assert not dashboard.counted(ctx, now=NOON + timedelta(seconds=15))  # stale: recount
        assert not dashboard.counted(ctx, now=NOON, branch="beijing")  # another branch's
    finally:
        ctx.close()


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


# The fixtures the page tests below share with tests/web/test_pages.py.
__all__ = ["client", "web_ctx"]


def _row_of(page: str, number: str) -> str:
    start = page.index(f'data-number="{number}"')
    return page[start : page.index("</tr>", start)]


@pytest.mark.clock
def test_a_queue_row_drawn_before_shows_the_cases_change(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    as_user(client, "liaison")
    before = _row_of(client.get("/").text, number)
    assert "已受理" in before
    assert _row_of(client.get("/").text, number) == before  # drawn once, shown again
    a.investigate(web_ctx, number, actor="liaison")
    after = _row_of(client.get("/").text, number)
    assert "调查中" in after and "已受理" not in after
    assert after != before


@pytest.mark.clock
def test_a_masked_timeline_and_a_revealed_one_are_kept_apart(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    page = as_user(client, "liaison").get(f"/cases/{number}").text
    reason = "客户来电 13912345678 更正金额"
    done = post_form(client, web_ctx, number, "update_facts", page, reason=reason, amount="1200")
    assert done.status_code == 303, done.text
    masked = client.get(f"/cases/{number}").text
    assert "客户来电" in masked and "13912345678" not in masked
    revealed = client.post(f"/cases/{number}/reveal", data={"csrf_token": csrf(masked)}).text
    assert "客户来电 13912345678 更正金额" in revealed
    again = client.get(f"/cases/{number}").text
    assert "13912345678" not in again  # the revealed item is not the masked one
    from web.pages.case import _event_item

    # Nothing of the revealed view was kept: the same reveal draws its items again.
    before = _event_item.cache_info().currsize
    client.post(f"/cases/{number}/reveal", data={"csrf_token": csrf(again)})
    assert _event_item.cache_info().currsize == before
    assert again.count('data-action="update_facts"') == 1


@pytest.mark.clock
def test_bad_queue_parameters_are_a_400_page_naming_them_in_chinese(client, web_ctx, now):
    as_user(client, "liaison")
    low = client.get("/?limit=0")
    assert low.status_code == 400 and "limit" in low.text and "不得小于 1" in low.text
    high = client.get("/?limit=5000")
    assert high.status_code == 400 and "不得大于 1000" in high.text
    as_user(client, "supervisor")
    word = client.get("/?level=abc")
    assert word.status_code == 400 and "level" in word.text and "须为整数" in word.text
    assert client.get("/?limit=5&scope=all").status_code == 200


def test_a_one_statement_read_opens_no_transaction_and_a_snapshot_read_does(ctx: Context):
    statement = select(func.count()).select_from(table("complaint"))
    with raw_reads(ctx.engine, snapshot=False) as reads:
        assert reads.first(statement) is not None
        assert not reads._cursor.connection.in_transaction
    with raw_reads(ctx.engine) as reads:
        reads.first(statement)
        assert reads._cursor.connection.in_transaction
