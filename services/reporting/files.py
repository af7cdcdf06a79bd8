"""Produce a period's report files and tell the supervisors (the use case behind `tousu
report` and the monthly/quarterly flows).

Builds the metrics (services.reporting.reports), writes the workbook and the HTML page into the
configured `[reports] dir`, and writes one `report_ready` outbox row for `role:supervisor` in
its own transaction (notifications/ delivers it). Must not import cli/ or flows/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.context import Context
from services.reporting import paper, reports
from services.reporting.periods import Period
from services.reporting.render import write_html
from services.reporting.workbook import write_excel
from states import lifecycle as lc
from states.errors import Forbidden
from storage import records
from storage.timeutil import utcnow

# Who may produce period reports: aggregate figures, no personal data (deny by default).
REPORT_ROLES = frozenset(
    {lc.Role.supervisor, lc.Role.committee, lc.Role.coordinator, lc.Role.admin, lc.Role.system}
)


def authorize(ctx: Context, actor: str, roles: frozenset[lc.Role], what: str) -> None:
    with ctx.engine.connect() as conn:
        role = lc.Role(records.load_user(conn, actor)["role"])
    if role not in roles:
        allowed = "、".join(r.label for r in sorted(roles))
        raise Forbidden(f"角色「{role.label}」无权{what}, 可执行角色: {allowed}")


@dataclass(frozen=True)
class Produced:
    period: str
    excel: Path
    html: Path
    volume: int
    notified: bool


def produce(
    ctx: Context,
    period: Period,
    *,
    actor: str = "system",
    as_of: datetime | None = None,
    notify: bool = True,
    out_dir: Path | None = None,
) -> Produced:
    authorize(ctx, actor, REPORT_ROLES, "生成统计报告")
    as_of = as_of or utcnow()
    rep = reports.build(ctx, period, as_of=as_of)
    folder = out_dir or reports.output_dir(ctx)
    stem = "tousu-report-" + period.label.replace("~", "_")
    style = paper.style_of(ctx, generated=utcnow())
    excel = write_excel(rep, folder / f"{stem}.xlsx", style)
    html = write_html(rep, folder / f"{stem}.html", style)
    volume = int(rep.summary["volume"] or 0)
    sent = False
    if notify:
        with ctx.engine.begin() as conn:
            sent = records.enqueue_alert(
                conn,
                dedupe_key=f"report_ready:{period.label}:{as_of:%Y%m%dT%H%M%S}",
                kind="report_ready",
                audience="role:supervisor",
                complaint_id=None,
                event_id=None,
                urgent=False,
                now=utcnow(),
                payload={
                    "title": f"投诉统计报告 {period.title} 已生成",
                    "period": period.label,
                    "excel": str(excel),
                    "html": str(html),
                    "volume": volume,
                    # The key figures the report-ready alert shows (notifications/templates.py).
                    "figures": {k: v for k, v in rep.summary.items() if v is not None},
                },
            )
    return Produced(period=period.label, excel=excel, html=html, volume=volume, notified=sent)
