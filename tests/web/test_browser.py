"""The workspace in a real browser: Debian's Chromium driven by Playwright (launched with the
system browser's path; no browser download). A clerk logs in and registers a complaint
through the form; a liaison takes it through acceptance, investigation, decision, notice and
closure with the case page's forms; it leaves the liaison's queue, and the supervisor's
dashboard counts it while open and no longer after closure. Screenshots of each step are
saved under data/artefacts/browser/ (kept after the run for a person to look at).

The server is uvicorn on a loopback port, in this process, on the test's database, so it
sees the suite's travelled clock. Skips with a message where Chromium is not installed
(`scripts/system-packages`, run by `make test`, installs it as root).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services import identity
from services.context import Context
from services.lifecycle.queries import get_complaint
from tests.web.browser import chromium, served

pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "data" / "artefacts" / "browser"
PASSWORD = "Browser-Tousu-2026!"


@pytest.fixture
def server(ctx: Context) -> Iterator[str]:
    for name in ("clerk", "liaison", "supervisor"):
        identity.reset_password(ctx, name, PASSWORD, actor="admin", must_change=False)
    with served(ctx) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def _login(browser: Any, base: str, username: str, *, width: int = 1280) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()
    return page


def _act(page: Any, base: str, number: str, trigger: str, values: dict[str, str]) -> None:
    """Open the action's form on the case page, fill its declared fields, submit."""
    page.goto(f"{base}/cases/{number}")
    page.click(f"#action-{trigger} > summary")
    form = page.locator(f'form[action="/cases/{number}/actions/{trigger}"]')
    for name, value in values.items():
        field = form.locator(f'[name="{name}"]').first
        if field.get_attribute("type") == "checkbox":
            form.locator(f'[name="{name}"][value="{value}"]').check()
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".form-error, .field-error").count() == 0, page.content()


def _figure(page: Any, base: str, key: str) -> int:
    page.goto(f"{base}/dashboard")
    return int(page.locator(f'[data-figure="{key}"]').first.inner_text().split()[0])


def test_a_complaint_registered_and_closed_in_the_browser_leaves_the_queue_and_the_counts(
    ctx: Context, server: str, browser: Any
) -> None:
    base = server
    # Counted afresh for every page however slow this machine is (a count slower than
    # `[dashboard] fresh_below_ms` would be reused for cache_seconds; tests/web/test_pages.py).
    ctx.config.extra["dashboard"] = {"fresh_below_ms": 60_000}
    supervisor = _login(browser, base, "supervisor")
    open_before = _figure(supervisor, base, "open")
    _shot(supervisor, "01-dashboard-before")

    clerk = _login(browser, base, "clerk")
    clerk.goto(f"{base}/register")
    clerk.fill("#reg-name", "赵六")
    clerk.fill("#reg-phone", "13800138000")
    clerk.fill("#reg-address", "北京市西城区金融大街 1 号")
    clerk.fill("#reg-claim", "要求按合同赔付住院医疗费用 8,600 元")
    clerk.fill("#reg-facts", "2026 年 10 月住院后申请理赔, 30 日未获答复")
    clerk.select_option("#reg-channel", "hotline")
    _shot(clerk, "02-register-form")
    clerk.click("form.register button[type=submit]")
    clerk.wait_for_load_state()
    assert "/cases/TS" in clerk.url, clerk.content()
    number = clerk.url.split("?", 1)[0].rsplit("/", 1)[-1]
    _shot(clerk, "03-registered")
    assert get_complaint(ctx, number)["case"]["state"] == "registered"
    assert _figure(supervisor, base, "open") == open_before + 1

    taxonomy = ctx.config.taxonomy
    liaison = _login(browser, base, "liaison")
    # The people a form may name are not in the page: they arrive when such a field is
    # focused (web/pages/users.py, web/static/tousu.js).
    liaison.goto(f"{base}/cases/{number}")
    assert liaison.locator("#users option").count() == 0
    liaison.click("#action-accept > summary")
    liaison.focus("#accept-owner")
    liaison.wait_for_function("document.querySelector('#users option[value=\"liaison\"]')")
    _act(
        liaison,
        base,
        number,
        "accept",
        {
            "category": next(iter(taxonomy.categories)),
            "product": next(iter(taxonomy.products)),
            "owner": "liaison",
        },
    )
    liaison.goto(f"{base}/")
    assert liaison.locator(f'tr[data-number="{number}"]').count() == 1
    _shot(liaison, "04-queue-with-the-case")
    _act(liaison, base, number, "investigate", {"note": "调取理赔档案"})
    _act(
        liaison,
        base,
        number,
        "decide",
        {
            "facts": "理赔材料齐全, 超过约定时限未作核定",
            "basis": "保险合同第十二条",
            "reasons": "应在三十日内作出核定",
            "remedies": "review",
        },
    )
    _act(liaison, base, number, "notify", {"channel": "letter", "proof": "EMS1234567890"})
    _act(
        liaison,
        base,
        number,
        "close",
        {
            "background": "住院理赔超时",
            "content": "理赔时效",
            "process": "调查核实并作出决定",
            "rules": "合同第十二条",
            "outcome": "已赔付",
            "root_cause": "理赔岗人手不足",
        },
    )
    _shot(liaison, "05-closed-case")
    assert get_complaint(ctx, number)["case"]["state"] == "closed"
    liaison.goto(f"{base}/")
    assert liaison.locator(f'tr[data-number="{number}"]').count() == 0
    _shot(liaison, "06-queue-after-closure")

    assert _figure(supervisor, base, "open") == open_before
    _shot(supervisor, "07-dashboard-after")

    phone = _login(browser, base, "supervisor", width=390)
    phone.goto(f"{base}/cases/{number}")
    _shot(phone, "08-case-on-a-phone")
    # Nothing wider than the phone's screen but the tables, which scroll inside their box.
    overflow = phone.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 390 + 1, f"page is {overflow} px wide on a 390 px screen"
