"""The regulator's transfers (12378 转办): the transfer list in, the handling results back out.

In: the list (CSV or XLSX) is a bulk import (services/intake/importing.py) with the mapping
file `[transfers] mapping` (default config/transfers_12378.toml; a relative path counts
from config/): the same validation, rejects file,
repeat detection and idempotence (external_ref "12378:<转办编号>") as `tousu import`.

Out: the complaints the regulator forwarded (channel "regulator") received in a period, one
row each, under the list's own headers (the mapping's columns, in its order) followed by the
handling results (`[transfers.results]`: our number, state, accepted, decided, closed, and
the result's text), as XLSX or CSV. Personal data is masked as in every export
(services/privacy.py): the regulator matches rows by its own reference.

Who: importing is registering (the registration roles); so is exporting the results.
Must not import cli/ or flows/.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services import privacy
from services.context import Context
from services.intake import importing
from services.lifecycle.queries import decrypt_party
from states import lifecycle as lc
from states.errors import Forbidden, InvalidInput
from storage import records
from storage.db import read_only
from storage.timeutil import from_db, local, to_db

DEFAULT_MAPPING = "transfers_12378.toml"  # beside config/tousu.toml
# What the results columns can carry → their default header.
RESULTS = {
    "number": "本机构投诉编号",
    "state": "办理状态",
    "accepted_at": "受理日期",
    "decided_at": "答复日期",
    "closed_at": "办结日期",
    "result": "处理结果",
}
# The event whose field states a complaint's result, latest first wins (states/lifecycle.py).
RESULT_TEXT = {
    "close": "outcome",
    "settle": "agreement",
    "end_mediation": "result",
    "conclude_review": "conclusion",
    "decide": "reasons",
    "decline": "explanation",
    "withdraw": "reason",
    "merge": "into",
}
FORMATS = (".xlsx", ".csv")


def settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("transfers")
    from config import PACKAGE_DIR

    mapping = Path(str(raw.get("mapping", DEFAULT_MAPPING)))
    if not mapping.is_absolute():  # relative to the configuration's directory
        mapping = PACKAGE_DIR / mapping
    results = raw.get("results", RESULTS)
    if not isinstance(results, dict) or set(results) - set(RESULTS):
        raise InvalidInput(
            "transfers.results", f"[transfers.results] 的键只能是: {', '.join(RESULTS)}"
        )
    return {"mapping": mapping, "results": {str(k): str(v) for k, v in results.items()}}


def mapping(ctx: Context) -> importing.Mapping:
    return importing.load_mapping(settings(ctx)["mapping"])


def import_list(
    ctx: Context,
    path: Path,
    *,
    actor: str,
    rejects: Path | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> importing.ImportResult:
    """Register every transfer of the list (bulk import with the 12378 mapping). A codec that
    reads no text, and a workbook that would unpack far beyond its size, are refused first."""
    if encoding is not None:
        encoding = importing.check_encoding(encoding)
    return importing.run(
        ctx,
        path,
        mapping(ctx),
        actor=actor,
        rejects=rejects,
        encoding=encoding,
        dry_run=dry_run,
        now=now,
    )


def summary(res: importing.ImportResult) -> dict[str, Any]:
    """An import's counts as the CLI's --json and the API give them."""
    return {
        "total": res.total,
        "imported": res.imported,
        "existing": res.existing,
        "rejected": res.rejected,
        "merged": res.merged,
        "linked": res.linked,
        "escalated": res.escalated,
        "finished": res.finished,
        "overdue": res.overdue,
        "dry_run": res.dry_run,
        "encoding": res.encoding,
        "by_reason": [
            {"field": f, "reason": r, "count": n} for (f, r), n in res.by_reason.most_common()
        ],
    }


# ---- Results back -------------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]


def _authorize(ctx: Context, actor: str) -> None:
    with ctx.engine.connect() as conn:
        role = lc.Role(records.load_user(conn, actor)["role"])
    if role not in lc.REGISTER_ROLES:
        allowed = "、".join(r.label for r in sorted(lc.REGISTER_ROLES) if r is not lc.Role.system)
        raise Forbidden(f"角色「{role.label}」无权导出监管转办办理结果, 可执行角色: {allowed}")


def _day(value: Any, ctx: Context) -> str:
    return "" if value is None else f"{local(from_db(value), ctx.tz):%Y-%m-%d}"


def _list_value(ctx: Context, fld: str, case: dict[str, Any], party: dict[str, Any]) -> Any:
    tax = ctx.config.taxonomy
    if fld in ("name", "id_number", "phone", "address", "legal_rep", "credit_code"):
        masked = privacy.mask_party(party) if party else {}
        return masked.get(fld) or ""
    if fld == "received_at":
        return f"{local(from_db(case['received_at']), ctx.tz):%Y-%m-%d %H:%M}"
    if fld == "regulator_forwarded_on":
        return _day(case.get("regulator_forwarded_on"), ctx)
    if fld in ("claim", "facts", "basis"):
        return privacy.mask_text(case.get(fld)) or ""
    labels = {"category": tax.categories, "product": tax.products, "branch": tax.branches}
    if fld in labels:
        code = case.get(fld)
        return labels[fld].get(code, code) if code else ""
    if fld == "channel":
        return tax.channels.get(case["channel"], case["channel"])
    value = case.get(fld)
    return "" if value is None else value


def results_table(ctx: Context, start: date, end: date, *, actor: str) -> Table:
    """The forwarded complaints received from `start` to `end` (local days, inclusive)."""
    _authorize(ctx, actor)
    if end < start:
        raise InvalidInput("to", "结束日期早于起始日期")
    conf = settings(ctx)
    m = importing.load_mapping(conf["mapping"])
    # The list's own headers, in the mapping's order; a joined field fills its first header.
    first: dict[str, str] = {}
    headers: list[str] = []
    for fld, col in m.columns.items():
        for h in col.headers:
            if h not in headers:
                headers.append(h)
        first.setdefault(col.headers[0], fld)
    results = conf["results"]
    low = datetime.combine(start, time.min, ctx.tz)
    high = datetime.combine(end + timedelta(days=1), time.min, ctx.tz)
    c, e = records.COMPLAINT.c, records.EVENT.c
    with read_only(ctx.engine) as conn:
        cases = [
            dict(r)
            for r in conn.execute(
                select(records.COMPLAINT)
                .where(
                    c.channel == "regulator",
                    c.received_at >= to_db(low),
                    c.received_at < to_db(high),
                )
                .order_by(c.received_at, c.id)
            ).mappings()
        ]
        texts: dict[int, str] = {}
        if cases:
            for ev in conn.execute(
                select(e.complaint_id, e.action, e.details)
                .where(
                    e.complaint_id.in_([k["id"] for k in cases]),
                    e.action.in_(list(RESULT_TEXT)),
                )
                .order_by(e.complaint_id, e.seq)
            ).mappings():
                value = (ev["details"] or {}).get(RESULT_TEXT[ev["action"]])
                if value:
                    texts[ev["complaint_id"]] = str(value)
    rows: list[list[Any]] = []
    for case in cases:
        party = decrypt_party(ctx, case["complainant_id"]) if case["complainant_id"] else {}
        row = [_list_value(ctx, first[h], case, party) if h in first else "" for h in headers]
        for key in results:
            if key == "number":
                row.append(case["number"])
            elif key == "state":
                row.append(lc.State(case["state"]).label)
            elif key == "result":
                row.append(privacy.mask_text(texts.get(case["id"])) or "")
            else:
                row.append(_day(case.get(key), ctx))
        rows.append(row)
    return Table(headers + list(results.values()), rows)


def export(
    ctx: Context,
    start: date,
    end: date,
    path: Path,
    *,
    actor: str,
    encoding: str = "utf-8-sig",
) -> int:
    """Write the results to `path` (.xlsx, or .csv in `encoding`); returns the row count."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput("file", f"只能导出为 XLSX 或 CSV 文件 (.xlsx/.csv): {path.name}")
    if suffix == ".csv":
        encoding = importing.check_encoding(encoding)
    table = results_table(ctx, start, end, actor=actor)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with path.open("w", newline="", encoding=encoding, errors="replace") as fh:
            out = csv.writer(fh)
            out.writerow(table.headers)
            out.writerows(table.rows)
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "转办办理结果"
        ws.append(table.headers)
        for row in table.rows:
            ws.append(row)
        for cells in ws.iter_cols(min_row=2):  # identifiers stay text for the regulator
            for cell in cells:
                cell.number_format = "@"
        wb.save(path)
    return len(table.rows)
