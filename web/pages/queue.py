"""`/`: my work queue (`tousu queue` in a browser): nearest deadline first, red overdue, yellow
due today, the filters as query parameters; supervisors and committee members choose the
team, branch or all scope as the CLI lets them (services/lifecycle/queries.py `queue`).

`focus` (with `level`) lists the complaints behind one number of the dashboard
(services/reporting/dashboard.py), so that every number there links here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from pydantic import Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from services.lifecycle.queries import SCOPES, SUPERVISING
from services.lifecycle.queries import queue as load_queue
from states import lifecycle as lc
from states.errors import InvalidInput
from web.pages.common import (
    URGENCY_LABELS,
    audited,
    ctx_of,
    fmt_due,
    kept,
    macro,
    page_user,
    render,
    require,
    state_label,
    urgency,
)

router = APIRouter()
User = Annotated[dict[str, Any], Depends(page_user)]


def _blank(value: str | None) -> str | None:
    return value if value not in (None, "") else None


@dataclass(frozen=True)
class QueueQuery:
    """The page's query parameters, declared once: `of` reads and checks them."""

    scope: str = "mine"
    team: str | None = None
    branch: str | None = None
    handler: str | None = None
    state: list[str] | None = None
    priority: str | None = None
    category: str | None = None
    focus: str | None = None
    level: Annotated[int | None, Field(ge=0, le=99)] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 50

    @classmethod
    async def of(cls, request: Request) -> QueueQuery:
        """The request's parameters in one validation (FastAPI's field-by-field reading was
        a fifth of the page); a bad value is a 400 page naming it, like a bad form field.
        Async although it awaits nothing: FastAPI sends a plain function dependency to a
        worker thread, a round trip that cost more than reading the parameters."""
        params = request.query_params
        if not params:
            return _DEFAULT_QUERY
        given: dict[str, Any] = {
            name: params.getlist(name) if name == "state" else params[name]
            for name in _QUERY_FIELDS
            if name in params
        }
        try:
            return _QUERY_ADAPTER.validate_python(given)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first.get("loc") else "query"
            raise InvalidInput(name, f"参数 {name} {_problem(first)}") from None

    def own_queue_of(self, username: str) -> bool:
        return (
            self.scope == "mine"
            and _blank(self.focus) is None
            and self.level is None
            and _blank(self.handler) in (None, username)
        )


def _problem(error: Any) -> str:
    bounds = error.get("ctx") or {}
    if error["type"] == "greater_than_equal":
        return f"不得小于 {bounds['ge']}"
    if error["type"] == "less_than_equal":
        return f"不得大于 {bounds['le']}"
    if error["type"] == "int_parsing":
        return "须为整数"
    return f"无效 ({error['msg']})"


_QUERY_ADAPTER = TypeAdapter(QueueQuery)
_QUERY_FIELDS = tuple(f.name for f in fields(QueueQuery))
_DEFAULT_QUERY = QueueQuery()


@router.get("/", response_class=HTMLResponse)
async def queue_page(
    request: Request, user: User, q: Annotated[QueueQuery, Depends(QueueQuery.of)]
) -> HTMLResponse:
    if q.own_queue_of(user["username"]):
        # A user's own queue: indexed reads that nobody is refused, answered on the event
        # loop (no trip to a worker thread). Other scopes may be refused (the refusal is
        # written) and a dashboard number's list may count a million rows: a worker thread.
        return _queue_page(request, user, q)
    return await run_in_threadpool(_queue_page, request, user, q)


def _queue_page(request: Request, user: dict[str, Any], q: QueueQuery) -> HTMLResponse:
    from services.casefile.quiet import quiet_days
    from services.reporting import dashboard
    from web.deps import now as request_now

    ctx = ctx_of(request)
    scope, team, handler, level, limit = q.scope, q.team, q.handler, q.level, q.limit
    priority, category = q.priority, q.category
    states = [s for s in q.state or [] if s] or None
    focus, branch = _blank(q.focus), _blank(q.branch)
    if level is not None and focus is None:
        focus = "level"
    if focus is not None:
        require(ctx, user, dashboard.DASHBOARD_ROLES, "查看看板明细")
        found = dashboard.cases(
            ctx, focus=focus, level=level, branch=branch, now=request_now(), limit=limit
        )
        title = f"升级级别 {level}" if focus == "level" else dashboard.FOCUSES.get(focus, focus)
    else:
        with audited(ctx, user, f"queue --scope {scope}"):
            found = load_queue(
                ctx,
                actor=user,
                scope=scope,
                team=_blank(team),
                branch=branch,
                handler=_blank(handler),
                states=states,
                priority=_blank(priority),
                category=_blank(category),
                limit=limit,
            )
        title = SCOPES.get(scope, scope)
    at = request_now()
    quiet = quiet_days(ctx, found["items"], now=at)
    rows = []
    for item in found["items"]:
        row = {
            **item,
            "urgency": urgency(item["nearest_due"], at, ctx.tz),
            "days_without_contact": quiet.get(item["id"]),
        }
        row["html"] = _drawn_row(row, ctx)
        rows.append(row)
    filters = {
        "team": team or "",
        "branch": branch or "",
        "handler": handler or "",
        "state": states or [],
        "priority": priority or "",
        "category": category or "",
        "focus": focus or "",
        "level": "" if level is None else level,
        "limit": limit,
    }
    return render(
        request,
        "queue.html",
        {
            "rows": rows,
            # One string for the table's body: each row is escaped already (`_row_html`), and
            # letting the template output fifty Markup objects copied each of them again.
            "rows_html": Markup("\n".join(r["html"] for r in rows)),
            "title": title,
            "scope": scope,
            "filters": filters,
            "filter_form": _filter_form(ctx, filters, user["role"] in SUPERVISING, scope),
            "rules": ctx.config.deadlines,
            "overdue": sum(r["urgency"] == "overdue" for r in rows),
            "today": sum(r["urgency"] == "today" for r in rows),
        },
        user=user,
    )


ROWS_KEPT = 4096
FORMS_KEPT = 256


def _filter_form(ctx: Any, filters: dict[str, Any], supervising: bool, scope: str) -> Markup:
    """The filter form (web/templates/pages/_queue_filters.html), drawn once per distinct set
    of filters: its option lists (every branch, category, state) were a fifth of the page."""
    key = (supervising, scope, *(tuple(v) if isinstance(v, list) else v for v in filters.values()))

    def draw() -> Markup:
        return Markup(
            macro("pages/_queue_filters.html", "draw")(
                filters,
                supervising,
                scope,
                SCOPES,
                ctx.config.taxonomy,
                [(s.value, s.label) for s in lc.OPEN],
                lc.PRIORITIES,
            )
        )

    return kept(ctx, "queue_filter_forms", key, draw, limit=FORMS_KEPT)


def _drawn_row(row: dict[str, Any], ctx: Any) -> Markup:
    """`_row_html`, drawn once per distinct row: the key is every value the row shows, so a
    changed case, a deadline passing or a new day draws it again. At most ROWS_KEPT rows are
    kept per process."""
    key = (
        row["number"],
        row["state"],
        row["priority"],
        row["category"],
        row["branch"],
        row["owner"],
        row["nearest_deadline"],
        row["nearest_due"],
        row["urgency"],
        row["days_without_contact"],
        tuple(row["message_failures"]),
    )
    return kept(ctx, "queue_rows", key, lambda: _row_html(row, ctx), limit=ROWS_KEPT)


def _row_html(row: dict[str, Any], ctx: Any) -> Markup:
    """One row of the queue's table, drawn here rather than cell by cell in the template:
    fifty rows of nine cells were most of the page's cost. Every value goes through
    markupsafe's `escape`, as the template's autoescape would put it."""
    tax, rules = ctx.config.taxonomy, ctx.config.deadlines
    rule = rules.get(row["nearest_deadline"] or "")
    hint = escape(URGENCY_LABELS[row["urgency"]])
    if row["days_without_contact"] is not None:
        hint += escape(f" {row['days_without_contact']} 天未联系")
    for failed in row["message_failures"]:
        hint += Markup(' <span class="message-failed">') + escape(failed) + Markup("</span>")
    number = escape(row["number"])
    cells = (
        state_label(row["state"]),
        lc.PRIORITIES.get(row["priority"], row["priority"]),
        tax.categories.get(row["category"], row["category"]) if row["category"] else "-",
        tax.branches.get(row["branch"], row["branch"]) if row["branch"] else "-",
        row["owner"] or "-",
        rule.label if rule else "-",
        fmt_due(row["nearest_due"], ctx.tz),
    )
    return Markup(
        f'<tr class="{escape(row["urgency"])}" data-number="{number}">'
        f'<td><a href="/cases/{number}">{number}</a></td>'
        + "".join(f"<td>{escape(c)}</td>" for c in cells)
        + f"<td>{hint}</td></tr>"
    )
