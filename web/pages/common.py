"""What every page shares: who is logged in (web/auth.py), CSRF on forms, rendering with the
application's templates (and pieces drawn once and kept, `kept`), refusals audited, and the
Chinese formatting of times and deadlines (the work queue's colours: red overdue, yellow due
today, as `tousu queue` prints them).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.context import Context
from states import lifecycle as lc
from states.errors import Forbidden
from storage.timeutil import local

T = TypeVar("T")

DEADLINE_STATUS = {"running": "计时中", "paused": "暂停", "met": "已完成", "stopped": "已停止"}


async def page_user(request: Request) -> dict[str, Any]:
    """The logged-in user (web/auth.py; without a session it redirects to /login). Async:
    a page's first database read costs no trip to a worker thread."""
    from web import auth

    return await auth.page_user_async(request)


async def check_csrf(request: Request) -> None:
    """Every state-changing form carries the session's CSRF token (web/auth.py)."""
    from web import auth

    checked = auth.check_csrf(request)
    if inspect.isawaitable(checked):
        await checked


def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


@contextmanager
def audited(ctx: Context, user: dict[str, Any], command: str) -> Iterator[None]:
    """A refusal of the user's identity or role inside the block is recorded
    (services/access.py), then shown as the 403 page (web/app.py)."""
    from services.access import record_refusal

    try:
        yield
    except Forbidden as exc:
        record_refusal(
            ctx,
            username=str(user["username"]),
            role=str(user["role"]),
            command=f"web {command}",
            reason=getattr(exc, "reason", None) or str(exc),
        )
        raise


def require(ctx: Context, user: dict[str, Any], roles: frozenset[lc.Role], what: str) -> None:
    """Deny by default: the user's role must be one of `roles` (the refusal is recorded)."""
    with audited(ctx, user, what):
        role = lc.Role(user["role"])
        if role not in roles:
            allowed = "、".join(r.label for r in sorted(roles))
            raise Forbidden(f"角色「{role.label}」无权{what}, 可执行角色: {allowed}")


# ---- Formatting (Jinja filters) ---------------------------------------------------------------


def urgency(due: datetime | None, now: datetime, tz: Any) -> str:
    """'overdue' (red), 'today' (yellow) or '' for a running deadline's due time."""
    if due is None:
        return ""
    if due < now:
        return "overdue"
    today = local(now, tz).date()
    if due <= datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz):
        return "today"
    return ""


URGENCY_LABELS = {"overdue": "已超时", "today": "今日到期", "": ""}


def fmt_time(value: datetime | None, tz: Any, seconds: bool = False) -> str:
    if value is None:
        return "-"
    return (
        f"{local(value, tz):%Y-%m-%d %H:%M:%S}" if seconds else f"{local(value, tz):%Y-%m-%d %H:%M}"
    )


def fmt_due(value: datetime | None, tz: Any) -> str:
    """A deadline ending at local midnight reads as 24:00 of the day it ends."""
    if value is None:
        return "-"
    here = local(value, tz)
    if (here.hour, here.minute, here.second) == (0, 0, 0):
        return f"{here - timedelta(days=1):%Y-%m-%d} 24:00"
    return f"{here:%Y-%m-%d %H:%M}"


def state_label(code: str | None) -> str:
    return lc.State(code).label if code else "—"


def role_label(code: str | None) -> str:
    return lc.Role(code).label if code else "—"


def _install(env: Any) -> None:
    if env.globals.get("_tousu_pages"):
        return
    from services.lifecycle.audit import event_label

    env.globals.update(
        _tousu_pages=True,
        state_label=state_label,
        role_label=role_label,
        event_label=event_label,
        priorities=lc.PRIORITIES,
        urgency_labels=URGENCY_LABELS,
        deadline_status=DEADLINE_STATUS,
        fmt_time=fmt_time,
        fmt_due=fmt_due,
    )


def macro(template: str, name: str) -> Callable[..., Any]:
    """A macro of one of web/templates, to draw a piece of a page from Python (`kept`)."""
    from web.app import templates

    found: Callable[..., Any] = getattr(templates.env.get_template(template).module, name)
    return found


def kept(ctx: Context, kind: str, key: Hashable, draw: Callable[[], T], *, limit: int) -> T:
    """`draw()` for `key`, drawn once per process and kept in `ctx.memo[kind]`: the key must
    hold every value the piece shows, so that a change draws it again and nothing is stale.
    At most `limit` pieces of a kind are kept; past that they are drawn afresh."""
    drawn: dict[Hashable, T] = ctx.memo.setdefault(kind, {})
    if key in drawn:
        return drawn[key]
    if len(drawn) >= limit:
        drawn.clear()
    piece = drawn[key] = draw()
    return piece


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page of web/templates with the user, the zone and the instant of the request."""
    from web.app import templates
    from web.deps import now

    _install(templates.env)
    ctx = ctx_of(request)
    body = {
        "user": user,
        "tz": ctx.tz,
        "now": now(),
        "supervising": bool(user and user["role"] in ("supervisor", "committee")),
        **context,
    }
    response: HTMLResponse = templates.TemplateResponse(request, name, body, status_code=status)
    # Pages hold cases and, revealed, personal data: never kept in a browser's or proxy's
    # cache (the Back button after logout on a shared computer shows nothing).
    response.headers["Cache-Control"] = "no-store"
    return response
