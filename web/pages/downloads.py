"""`/reports`: period reports (Excel workbook and HTML page, services/reporting/files.py as
`tousu report` makes them) and the ledger export (services/reporting/ledger_export.py as
`tousu ledger export`), downloaded; `/lifecycle`: the lifecycle diagram and table
(states/diagram.py, drawn by web/pages/diagram.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.reporting.files import REPORT_ROLES
from states import lifecycle as lc
from states.errors import InvalidInput
from web.pages.common import audited, ctx_of, page_user, render, require

router = APIRouter()
User = Annotated[dict[str, Any], Depends(page_user)]
Text = Annotated[str | None, Query()]
# Downloads are aggregate figures or a masked ledger: the roles that may produce reports.
PEOPLE = frozenset(REPORT_ROLES - {lc.Role.system})
MEDIA = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html; charset=utf-8",
}


def _file(path: Path) -> Response:
    """The file as a download (its name in UTF-8, RFC 6266/5987)."""
    return Response(
        path.read_bytes(),
        media_type=MEDIA.get(path.suffix, "application/octet-stream"),
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(path.name)}",
            "Cache-Control": "no-store",
        },
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, user: User) -> HTMLResponse:
    from services.reporting import periods
    from web.deps import now as request_now

    ctx = ctx_of(request)
    require(ctx, user, PEOPLE, "下载统计报告和台账")
    today = request_now().astimezone(ctx.tz).date()
    last = periods.last_full_month(today)
    quarter = periods.last_full_quarter(today)
    return render(
        request,
        "reports.html",
        {"last_month": last.label, "last_quarter": quarter.label},
        user=user,
    )


@router.get("/reports/download")
def report_download(
    request: Request,
    user: User,
    period: Text = None,
    quarter: Text = None,
    fmt: str = "xlsx",
) -> Response:
    """One period's report (`period` YYYY-MM or `quarter` YYYYQn) as .xlsx or .html; the
    supervisors are not notified (it is a download, not the monthly run)."""
    from services.reporting import periods
    from services.reporting.files import produce

    ctx = ctx_of(request)
    require(ctx, user, PEOPLE, "下载统计报告")
    if fmt not in ("xlsx", "html"):
        raise InvalidInput("fmt", "格式取值: xlsx, html")
    if bool(period) == bool(quarter):
        raise InvalidInput("period", "请选择一个月份 (YYYY-MM) 或一个季度 (YYYYQn)")
    chosen = periods.parse_month(period) if period else periods.parse_quarter(str(quarter))
    with tempfile.TemporaryDirectory(prefix="tousu-report-") as folder:
        with audited(ctx, user, "report"):
            done = produce(ctx, chosen, actor=user["username"], notify=False, out_dir=Path(folder))
        return _file(done.excel if fmt == "xlsx" else done.html)


@router.get("/ledger/export")
def ledger_download(request: Request, user: User, status: Text = None) -> Response:
    """The repeat and backlog ledger (台账) as .xlsx, complainants masked."""
    from services.reporting import ledger_export

    ctx = ctx_of(request)
    require(ctx, user, PEOPLE, "导出台账")
    with tempfile.TemporaryDirectory(prefix="tousu-ledger-") as folder:
        path = ledger_export.export(ctx, Path(folder) / "台账.xlsx", status=status or None)
        return _file(path)


@router.get("/lifecycle", response_class=HTMLResponse)
def lifecycle_page(request: Request, user: User) -> HTMLResponse:
    """The lifecycle as docs/lifecycle.md shows it (states/diagram.py), the diagram drawn."""
    from markdown_it import MarkdownIt

    from states.diagram import render as diagram_markdown
    from web.pages.diagram import svg

    text = diagram_markdown()
    # The Mermaid source is drawn as SVG here; the rest (states, actions, fields) as HTML.
    start = text.index("```mermaid")
    end = text.index("```", start + 3) + 3
    rest = text[:start] + text[end:]
    rest = rest.split("\n", 1)[1]  # the title: the page has its own
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(rest)
    return render(request, "lifecycle.html", {"diagram": svg(), "body": body}, user=user)
