"""Every page of the workspace fits the screen at 1280 px and on a 390 px phone: nothing wider
than the window but the tables and the diagram, which scroll inside their own box. Debian's
Chromium driven by Playwright (the system browser's path, no download); skips with a message
where Chromium is not installed (`scripts/system-packages`, run by `make test`). Screenshots
go to data/artefacts/pages/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services import identity
from services.context import Context
from services.lifecycle.registration import Person
from tests.factories import accepted, registered
from tests.web.browser import chromium, served

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "data" / "artefacts" / "pages"
PASSWORD = "Widths-Tousu-2026!"


@pytest.fixture
def server(ctx: Context) -> Iterator[str]:
    identity.reset_password(ctx, "supervisor", PASSWORD, actor="admin", must_change=False)
    with served(ctx) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


def test_every_page_fits_a_1280_px_screen_and_a_phone(ctx, server, browser, now):
    person = Person(name="宽度", phone="13600001111", address="北京市东城区某街道某小区某号楼")
    number = accepted(ctx, now - timedelta(days=40), complainant=person)
    registered(ctx, now - timedelta(hours=2), complainant=Person(name="新", phone="13600002222"))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "queue": "/?scope=all",
        "case": f"/cases/{number}",
        "dashboard": "/dashboard",
        "register": "/register",
        "reports": "/reports",
        "lifecycle": "/lifecycle",
    }
    for width in (1280, 390):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{server}/")
        for name, path in pages.items():
            page.goto(server + path)
            assert page.locator("main h1").count() == 1, (name, page.content()[:300])
            page.screenshot(path=str(ARTEFACTS / f"{width}-{name}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width + 1, f"{path} is {wide} px wide on a {width} px screen"
        context.close()
