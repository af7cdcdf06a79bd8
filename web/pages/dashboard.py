"""`/dashboard`: the supervisor's dashboard (services/reporting/dashboard.py). Every number
links to the work queue filtered to the complaints it counts; the charts are SVG drawn on the
server by the reports' chart code (services/reporting/charts.py); the figures refresh
themselves by polling `/dashboard/figures` (web/static/tousu.js), a fragment of the page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from services.reporting import charts, dashboard
from states import lifecycle as lc
from web.pages.common import ctx_of, page_user, render, require

router = APIRouter()
User = Annotated[dict[str, Any], Depends(page_user)]
Branch = Annotated[str | None, Query()]
LIST_LIMIT = 1000  # how many complaints a number's link lists


def link(branch: str | None = None, **query: Any) -> str:
    """The work queue's address listing the complaints behind one number."""
    params = {**query, **({"branch": branch} if branch else {}), "limit": LIST_LIMIT}
    return "/?" + urlencode(params)


def _context(request: Request, user: dict[str, Any], branch: str | None) -> dict[str, Any]:
    from web.deps import now as request_now

    ctx = ctx_of(request)
    require(ctx, user, dashboard.DASHBOARD_ROLES, "查看主管看板")
    branch = branch or None
    if branch is not None:
        from states.validation import choice

        branch = choice(branch, ctx.config.taxonomy.branches, "branch")
    got = dashboard.figures(ctx, now=request_now(), branch=branch)
    levels = {lv.level: lv.label for lv in ctx.config.escalation}
    states = [
        (s.value, s.label, got["by_state"][s.value], link(branch, scope="all", state=s.value))
        for s in lc.OPEN
    ]
    level_rows = [
        (n, levels.get(n, "未升级" if n == 0 else f"级别 {n}"), count, link(branch, level=n))
        for n, count in got["levels"].items()
    ]
    cards = [
        (key, label, got[key], link(branch, focus=key)) for key, label in dashboard.FOCUSES.items()
    ]
    by_state = tuple((label, count) for _, label, count, _ in states if count)
    by_level = tuple((label, count) for _, label, count, _ in level_rows)
    return {
        "figures": got,
        "open_link": link(branch, scope="all"),
        "states": states,
        "level_rows": level_rows,
        "cards": cards,
        "charts": _charts(by_state, by_level, tuple(got["trend"])),
        "branch": branch or "",
        "branches": ctx.config.taxonomy.branches,
        "refresh": dashboard.settings(ctx)["refresh_seconds"],
        "as_of": got["as_of"],
    }


@lru_cache(maxsize=64)
def _charts(
    by_state: tuple[tuple[str, int], ...],
    by_level: tuple[tuple[str, int], ...],
    trend: tuple[tuple[str, int, int], ...],
) -> list[Any]:
    """The three SVG charts of these figures: drawn once while the figures stay the same
    (every supervisor's page polls the same figures)."""
    return [
        charts.hbars(list(by_state), fmt=lambda v: f"{v:,.0f}", title="在办投诉 · 按状态"),
        charts.hbars(list(by_level), fmt=lambda v: f"{v:,.0f}", title="在办投诉 · 按升级级别"),
        charts.trend(list(trend), title="近 12 个月投诉量 (按收到时间)"),
    ]


async def _drawn(request: Request, user: dict[str, Any], branch: str | None, name: str) -> Any:
    """The page (or its fragment) on the event loop when its figures are counted already and
    the user may see them: nothing to read, nothing to write. Otherwise in a worker thread:
    counting a million complaints, or recording a refusal, must not stall everyone else."""
    from web.deps import now as request_now

    def draw() -> HTMLResponse:
        return render(request, name, _context(request, user, branch), user=user)

    allowed = lc.Role(user["role"]) in dashboard.DASHBOARD_ROLES
    ctx = ctx_of(request)
    if allowed and dashboard.counted(ctx, now=request_now(), branch=branch or None):
        return draw()
    return await run_in_threadpool(draw)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, user: User, branch: Branch = None) -> HTMLResponse:
    page: HTMLResponse = await _drawn(request, user, branch, "dashboard.html")
    return page


@router.get("/dashboard/figures", response_class=HTMLResponse)
async def dashboard_figures(request: Request, user: User, branch: Branch = None) -> HTMLResponse:
    """The figures alone, for the page to refresh itself."""
    page: HTMLResponse = await _drawn(request, user, branch, "pages/_figures.html")
    return page
