"""Bulk import of complaints from CSV or XLSX with a column mapping file (TOML).

Owns: reading the file as a stream, turning each row into a `Registration` through the
mapping, deriving the idempotence key (`external_ref`: the file's own id column, else a hash
of the row), handing batches to `services.intake.bulk.register_batch`, and writing the report of
rejected rows with reasons. Every rule about what a valid complaint is lives in
`services.lifecycle.registration.validate`. Must not import cli/ or flows/.

Mapping file (see config/import_mapping.example.toml):
  [source]   name (prefix of external_ref), id_column (optional), sheet (XLSX),
             timezone (for times without an offset; default the configured zone)
  [columns]  registration field = "header in the file"
  [values.<field>]  "value in the file" = "code"  (e.g. "12378转办" = "regulator")
  [defaults] field = value, for columns the file does not have
"""

from __future__ import annotations

import csv
import hashlib
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.context import Context
from services.intake import bulk
from services.intake.bulk import Rejected
from services.lifecycle.registration import Person, Registration
from services.reporting import reports
from states import validation as v
from states.errors import InvalidInput

PERSON_FIELDS = {"name", "kind", "id_number", "phone", "address", "credit_code", "legal_rep"}
AGENT_FIELDS = {"agent_name": "name", "agent_phone": "phone", "agent_id_number": "id_number"}
BOOL_FIELDS = {"media_involved", "vulnerable", "major_designated"}
TIME_FIELDS = {"received_at", "regulator_forwarded_on"}
REG_FIELDS = {
    "claim",
    "facts",
    "channel",
    "received_at",
    "capacity",
    "power_of_attorney",
    "basis",
    "institution",
    "branch",
    "employee_name",
    "employee_no",
    "policy_no",
    "amount",
    "category",
    "product",
    "regulator_ref",
    "regulator_forwarded_on",
    "group_size",
    *BOOL_FIELDS,
}
TRUE = {"1", "true", "yes", "y", "是", "有", "√"}


@dataclass
class Mapping:
    source: str
    columns: dict[str, str]
    id_column: str | None = None
    sheet: str | None = None
    timezone: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


def load_mapping(path: Path) -> Mapping:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput("mapping", f"无法读取映射文件 {path}: {exc}") from None
    src = raw.get("source", {})
    columns = {str(k): str(val) for k, val in raw.get("columns", {}).items()}
    known = PERSON_FIELDS | REG_FIELDS | set(AGENT_FIELDS)
    unknown = (set(columns) | set(raw.get("defaults", {}))) - known
    if unknown:
        raise InvalidInput("mapping", f"映射文件含未知字段: {', '.join(sorted(unknown))}")
    return Mapping(
        source=str(src.get("name") or path.stem),
        columns=columns,
        id_column=src.get("id_column"),
        sheet=src.get("sheet"),
        timezone=src.get("timezone"),
        values={
            k: {str(a): str(b) for a, b in m.items()} for k, m in raw.get("values", {}).items()
        },
        defaults=dict(raw.get("defaults", {})),
    )


def read_rows(path: Path, sheet: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number as the user sees it, {header: value}) for each non-empty data row."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                if any((val or "").strip() for val in row.values()):
                    yield line, row
    elif suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb[sheet] if sheet else wb.worksheets[0]
            rows = ws.iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
            for line, values in enumerate(rows, start=2):
                if any(val not in (None, "") for val in values):
                    yield line, dict(zip(header, values, strict=False))
        finally:
            wb.close()
    else:
        raise InvalidInput("file", f"只支持 CSV 或 XLSX 文件: {path.name}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def _time(value: Any, tz: ZoneInfo, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip().replace("/", "-")
        moment = (
            datetime.combine(v.iso_date(text, name), datetime.min.time())
            if len(text) == 10
            else v.iso_datetime(text.replace(" ", "T", 1), name)
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def to_registration(m: Mapping, row: dict[str, Any], tz: ZoneInfo) -> Registration:
    """One file row → a Registration (types only; validate() judges the content)."""
    got: dict[str, Any] = dict(m.defaults)
    for fld, header in m.columns.items():
        if header not in row:
            continue
        value = _text(row[header]) if fld not in TIME_FIELDS else row[header]
        if isinstance(value, str) and fld in m.values:
            value = m.values[fld].get(value, value)
        if value not in (None, ""):
            got[fld] = value
    given = {f: _text(got.pop(f)) for f in list(got) if f in PERSON_FIELDS}
    # A row without a name still becomes a Registration, which validate() rejects by field
    # (Person(**given) raised TypeError there and stopped the whole import).
    person = Person(
        name=given.get("name") or "",
        kind=given.get("kind") or "person",
        id_number=given.get("id_number"),
        phone=given.get("phone"),
        address=given.get("address"),
        credit_code=given.get("credit_code"),
        legal_rep=given.get("legal_rep"),
    )
    agent = {AGENT_FIELDS[f]: _text(got.pop(f)) for f in list(got) if f in AGENT_FIELDS}
    agent_name = agent.get("name")
    for name in TIME_FIELDS & got.keys():
        got[name] = _time(got[name], tz, name)
    for name in BOOL_FIELDS & got.keys():
        got[name] = str(got[name]).strip().lower() in TRUE
    if "group_size" in got:
        try:
            got["group_size"] = int(float(str(got["group_size"])))
        except ValueError:
            raise InvalidInput("group_size", f"「{got['group_size']}」不是有效人数") from None
    if "received_at" not in got:
        raise InvalidInput("received_at", "缺少收到时间(历史数据须注明收到时间)")
    reg = Registration(
        complainant=person,
        agent=(
            Person(name=agent_name, phone=agent.get("phone"), id_number=agent.get("id_number"))
            if agent_name
            else None
        ),
        claim=got.pop("claim", "") or "",
        facts=got.pop("facts", "") or "",
        channel=got.pop("channel", "") or "",
        **got,
    )
    return reg


def external_ref(m: Mapping, row: dict[str, Any]) -> str:
    """Idempotence key: `source:id` from the file's id column, else a hash of the row."""
    if m.id_column:
        ident = _text(row.get(m.id_column))
        if not ident:
            raise InvalidInput(m.id_column, "缺少记录编号, 无法保证重复导入不重复登记")
        return f"{m.source}:{ident}"[:80]
    canon = "\x1f".join(f"{k}={_text(row.get(h)) or ''}" for k, h in sorted(m.columns.items()))
    return f"{m.source}:#{hashlib.sha256(canon.encode()).hexdigest()[:32]}"[:80]


@dataclass
class ImportResult:
    total: int = 0
    imported: int = 0
    existing: int = 0
    rejected: int = 0
    merged: int = 0
    linked: int = 0
    escalated: int = 0
    seconds: float = 0.0
    rejects_file: Path | None = None


def run(
    ctx: Context,
    path: Path,
    mapping: Mapping,
    *,
    actor: str,
    batch_size: int = 2000,
    escalate: bool = True,
    rejects_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import every row; returns counts and where the rejected rows were written."""
    user = bulk.check_actor(ctx, actor)
    tz = ZoneInfo(mapping.timezone) if mapping.timezone else ctx.tz
    started = time.perf_counter()
    result = ImportResult()
    rejects: list[tuple[Rejected, dict[str, Any]]] = []
    batch: list[tuple[int, Registration]] = []
    raw_by_line: dict[int, dict[str, Any]] = {}

    def flush() -> None:
        done = bulk.register_batch(ctx, batch, user=user, escalate=escalate)
        result.imported += len(done.imported)
        result.existing += done.existing
        result.merged += done.merged
        result.linked += done.linked
        result.escalated += done.escalated
        rejects.extend((r, raw_by_line[r.line]) for r in done.rejected)
        if progress:
            progress(len(batch))
        batch.clear()
        raw_by_line.clear()

    for line, row in read_rows(path, mapping.sheet):
        result.total += 1
        try:
            reg = to_registration(mapping, row, tz)
            reg.external_ref = external_ref(mapping, row)
        except InvalidInput as exc:
            rejects.append((Rejected(line, exc.field, exc.reason), row))
            if progress:
                progress(1)
            continue
        batch.append((line, reg))
        raw_by_line[line] = row
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    result.rejected = len(rejects)
    result.seconds = time.perf_counter() - started
    if rejects:
        folder = rejects_dir or reports.output_dir(ctx) / "imports"
        result.rejects_file = write_rejects(folder / f"{path.stem}.rejects.csv", rejects)
    return result


def write_rejects(path: Path, rejects: list[tuple[Rejected, dict[str, Any]]]) -> Path:
    """CSV (UTF-8 with BOM, opens in Excel): line, field, reason, then the row as given."""
    headers: list[str] = []
    for _, row in rejects:
        headers += [h for h in row if h not in headers]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        out = csv.writer(fh)
        out.writerow(["行号", "字段", "原因", *headers])
        for r, row in sorted(rejects, key=lambda x: x[0].line):
            out.writerow([r.line, r.field, r.reason, *(_text(row.get(h)) or "" for h in headers)])
    return path
