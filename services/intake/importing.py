"""Bulk import of complaints from CSV or XLSX with a column mapping file (TOML).

Owns: reading the file as a stream (encoding detected, or forced), turning each row into a
`Registration` through the mapping, reporting every bad field of a row, deriving the
idempotence key (`external_ref`: the file's own id column, else a hash of the row), handing
batches to `services.intake.bulk.register_batch`, and writing the rejected fields. Every rule
about what a valid complaint is lives in `services.lifecycle.registration.problems`. Must not
import cli/ or flows/.

Mapping file (documented with examples in config/import_mapping.example.toml):
  [source]   name (prefix of external_ref), id_column (optional), sheet (XLSX),
             timezone (for times without an offset; default the configured zone),
             encoding (CSV; default detected), delimiter (CSV; default detected)
  [columns]  registration field = "header", or = { join = ["h1", "h2"], separator = " / " };
             `identity` = the column naming the complainant (an anonymised customer id)
  [formats]  time field = ["%m-%d-%Y", ...]  (strptime formats, tried in order)
  [values.<field>]  "value in the file" = "code"; "*" = the code for any other value
  [constants] field = value, whatever the file says
  [defaults] field = value, where the file's cell is empty or the column absent
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services import access, privacy
from services.context import Context
from services.intake import bulk
from services.intake.bulk import History, Item, Problem
from services.lifecycle import registration
from services.lifecycle.registration import CAPACITIES, Person, Registration
from states import validation as v
from states.errors import Forbidden, InvalidInput
from states.lifecycle import Role
from storage.timeutil import utcnow

PERSON_FIELDS = {"name", "kind", "id_number", "phone", "address", "credit_code", "legal_rep"}
AGENT_FIELDS = {"agent_name": "name", "agent_phone": "phone", "agent_id_number": "id_number"}
BOOL_FIELDS = {"media_involved", "vulnerable", "major_designated"}
HISTORY_FIELDS = ("accepted_at", "decided_at", "closed_at")
TIME_FIELDS = {"received_at", "regulator_forwarded_on", *HISTORY_FIELDS}
# Identifiers: text whatever the spreadsheet did; a number in their place was mangled.
IDENT_FIELDS = {
    "id_number",
    "phone",
    "credit_code",
    "agent_phone",
    "agent_id_number",
    "policy_no",
    "regulator_ref",
    "employee_no",
    "identity",
}
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
KNOWN_FIELDS = PERSON_FIELDS | REG_FIELDS | set(AGENT_FIELDS) | set(HISTORY_FIELDS) | {"identity"}
# What a person reads in the summary for each field.
FIELD_LABELS = {
    "": "整行",
    "external_ref": "记录编号",
    "identity": "投诉人标识",
    "name": "投诉人姓名/名称",
    "kind": "投诉人类型",
    "id_number": "证件号码",
    "phone": "联系电话",
    "address": "联系地址",
    "credit_code": "统一社会信用代码",
    "legal_rep": "法定代表人",
    "agent_name": "代理人姓名",
    "agent_phone": "代理人电话",
    "agent_id_number": "代理人证件号码",
    "capacity": "投诉人身份",
    "power_of_attorney": "授权委托书",
    "claim": "投诉请求",
    "facts": "事实与理由",
    "basis": "依据",
    "channel": "投诉渠道",
    "received_at": "收到时间",
    "institution": "被投诉机构",
    "branch": "机构",
    "employee_name": "涉及员工",
    "employee_no": "员工工号",
    "policy_no": "保单号",
    "amount": "涉及金额",
    "category": "投诉类别",
    "product": "产品",
    "regulator_ref": "监管转办编号",
    "regulator_forwarded_on": "监管转办日期",
    "group_size": "人数",
    "media_involved": "涉及舆情",
    "vulnerable": "特殊群体",
    "major_designated": "认定重大",
    "accepted_at": "受理时间",
    "decided_at": "处理决定告知时间",
    "closed_at": "办结时间",
}
TRUE = {"1", "true", "yes", "y", "是", "有", "√"}
FALSE = {"0", "false", "no", "n", "否", "无", "×", ""}
MANGLED = "数值格式已损坏 (请将该列设为文本后重新导出)"
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")
_DECIMAL_TAIL = re.compile(r"^\d+\.\d+$")
# Excel keeps 15 significant digits: a longer number in a cell is already damaged.
_EXCEL_DIGITS = 15
DEFAULT_MARK, CONSTANT_MARK = "(默认值)", "(常量)"
# Chinese single- and double-byte encodings detection may name: read them all as GB18030.
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}
_SAMPLE = 256 * 1024


@dataclass
class Column:
    """Where one registration field comes from: one header, or several joined."""

    headers: tuple[str, ...]
    separator: str = " "

    @property
    def label(self) -> str:
        return "+".join(self.headers)


@dataclass
class Mapping:
    source: str
    columns: dict[str, Column]
    id_column: str | None = None
    sheet: str | None = None
    timezone: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    formats: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


def _bad(message: str) -> InvalidInput:
    return InvalidInput("mapping", message)


def _column(fld: str, raw: Any) -> Column:
    if isinstance(raw, str) and raw:
        return Column((raw,))
    if isinstance(raw, list) and raw and all(isinstance(h, str) and h for h in raw):
        return Column(tuple(raw))
    if isinstance(raw, dict):
        headers, sep = raw.get("join"), raw.get("separator", " ")
        if (
            isinstance(headers, list)
            and headers
            and all(isinstance(h, str) and h for h in headers)
            and isinstance(sep, str)
            and not set(raw) - {"join", "separator"}
        ):
            return Column(tuple(headers), sep)
    raise _bad(f'[columns] {fld}: 应为列名, 或 {{ join = ["列1", "列2"], separator = " / " }}')


def load_mapping(path: Path) -> Mapping:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(f"无法读取映射文件 {path}: {exc}") from None
    tables = {"source", "columns", "formats", "values", "constants", "defaults"}
    for name in set(raw) - tables:
        raise _bad(f"映射文件含未知的表 [{name}] (可用: {', '.join(sorted(tables))})")
    for name in tables & set(raw):
        if not isinstance(raw[name], dict):
            raise _bad(f"映射文件的 [{name}] 应为表")
    src = raw.get("source", {})
    columns = {str(k): _column(str(k), val) for k, val in raw.get("columns", {}).items()}
    formats: dict[str, list[str]] = {}
    for fld, fmts in raw.get("formats", {}).items():
        listed = [fmts] if isinstance(fmts, str) else fmts
        if fld not in TIME_FIELDS or not (
            isinstance(listed, list) and listed and all(isinstance(f, str) for f in listed)
        ):
            raise _bad(
                f"[formats] {fld}: 只用于时间字段 ({', '.join(sorted(TIME_FIELDS))}), "
                '值为格式或格式列表, 如 ["%m-%d-%Y"]'
            )
        formats[str(fld)] = list(listed)
    values: dict[str, dict[str, str]] = {}
    for fld, table in raw.get("values", {}).items():
        if not isinstance(table, dict):
            raise _bad(f"[values.{fld}] 应为「文件中的值 = 代码」的表")
        values[str(fld)] = {str(a): str(b) for a, b in table.items()}
    constants = dict(raw.get("constants", {}))
    defaults = dict(raw.get("defaults", {}))
    unknown = (
        set(columns) | set(formats) | set(values) | set(constants) | set(defaults)
    ) - KNOWN_FIELDS
    if unknown:
        raise _bad(f"映射文件含未知字段: {', '.join(sorted(unknown))}")
    timezone = src.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad(f"[source] timezone: 未知时区「{timezone}」") from None
    encoding = src.get("encoding")
    if encoding is not None:
        encoding = check_encoding(str(encoding), "mapping")
    delimiter = src.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise _bad('[source] delimiter: 应为一个字符, 如 "," 或 "\\t"')
    return Mapping(
        source=str(src.get("name") or path.stem),
        columns=columns,
        id_column=src.get("id_column"),
        sheet=src.get("sheet"),
        timezone=str(timezone) if timezone is not None else None,
        encoding=encoding,
        delimiter=delimiter,
        formats=formats,
        values=values,
        constants=constants,
        defaults=defaults,
    )


# ---- Reading the file ------------------------------------------------------------------------


def check_encoding(name: str, fld: str = "encoding") -> str:
    """A codec that reads and writes text, by its canonical name: not one of Python's
    bytes-to-bytes or str-to-str transforms (base64, zlib, rot13, hex), which would fail deep
    inside the reader, nor one without the "replace" error handling the reader relies on
    (idna)."""
    try:
        enc = codecs.lookup(name).name
    except LookupError:
        raise InvalidInput(fld, f"未知编码「{name}」(如 utf-8、gb18030、utf-16)") from None
    usable = bool(getattr(codecs.lookup(enc), "_is_text_encoding", True))
    if usable:
        try:
            "编号,\ufffd".encode(enc, errors="replace")
        except (UnicodeError, LookupError):
            usable = False
    if not usable:
        raise InvalidInput(fld, f"「{name}」不是文本文件的编码 (如 utf-8、gb18030、utf-16)")
    return enc


def detect_encoding(path: Path) -> str:
    """The encoding of a text file: a byte-order mark first, then UTF-8 if the start decodes
    as UTF-8, else charset-normalizer's best guess (Chinese guesses read as GB18030)."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:  # a character cut by the end of the sample
            return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise InvalidInput("encoding", f"无法识别 {path.name} 的编码, 请用 --encoding 指定")
    name = codecs.lookup(best.encoding).name
    return "gb18030" if name in _GB_FAMILY else name


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class Source:
    """An opened input: its headers and the rows, each (line, {header: value})."""

    headers: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    encoding: str | None
    close: Callable[[], None]


def open_source(
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Source:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _open_text(path, encoding, delimiter)
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, sheet)
    raise InvalidInput("file", f"只支持 CSV(.csv/.txt/.tsv)或 XLSX 文件: {path.name}")


def _open_text(path: Path, encoding: str | None, delimiter: str | None) -> Source:
    enc = check_encoding(encoding) if encoding else detect_encoding(path)
    if enc in ("utf-8", "utf_8"):
        enc = "utf-8-sig"
    # A byte that does not decode becomes U+FFFD and rejects its row; it never stops the file.
    fh: IO[str] = path.open(newline="", encoding=enc, errors="replace")
    first = fh.readline()
    sep = delimiter or _delimiter(first)
    header = next(csv.reader([first], delimiter=sep), [])
    headers = [h.strip().lstrip("\ufeff") for h in header]
    if any("\ufffd" in h for h in headers):
        fh.close()
        raise InvalidInput(
            "encoding", f"按 {enc} 读出的表头含无法解码的字符, 请用 --encoding 指定文件的编码"
        )

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        reader = csv.reader(fh, delimiter=sep)
        for values in reader:
            line = reader.line_num + 1
            if any(val.strip() for val in values):
                yield line, dict(zip(headers, values, strict=False))

    return Source(headers, rows(), enc, fh.close)


# An XLSX file is a zip archive that openpyxl unpacks as it reads (all the cell texts into
# memory at once), so a few hundred kilobytes can unpack to gigabytes. A transfer list is a
# few thousand rows: a workbook that would unpack beyond these is refused before reading.
XLSX_UNPACKED_LIMIT = 256 * 1024 * 1024  # bytes, all parts together
XLSX_RATIO_LIMIT = 100  # unpacked ÷ packed size of one part above 1 MB


def check_workbook(path: Path) -> None:
    """InvalidInput when the workbook's parts would unpack beyond the limits above (a zip
    bomb). A file that is no zip archive at all is left to the reader, which says so."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    total = sum(p.file_size for p in parts)
    if total > XLSX_UNPACKED_LIMIT:
        raise InvalidInput(
            "file",
            f"{path.name} 解压后达 {total // 2**20} MB (最多 {XLSX_UNPACKED_LIMIT // 2**20} MB): "
            "不予解压; 请拆分清单或另存为 CSV",
        )
    for part in parts:
        if part.file_size > 2**20 and part.file_size > XLSX_RATIO_LIMIT * max(
            part.compress_size, 1
        ):
            raise InvalidInput(
                "file",
                f"{path.name} 的 {part.filename} 解压后是压缩时的 "
                f"{part.file_size // max(part.compress_size, 1)} 倍, 不像正常的工作簿 "
                "(疑似压缩炸弹): 不予解压",
            )


def _open_xlsx(path: Path, sheet: str | None) -> Source:
    from openpyxl import load_workbook

    check_workbook(path)

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or mislabelled file: openpyxl raises many kinds
        raise InvalidInput("file", f"无法读取 XLSX 文件 {path.name}: {exc}") from None
    if sheet and sheet not in wb.sheetnames:
        wb.close()
        raise InvalidInput("sheet", f"工作簿中没有工作表「{sheet}」: {', '.join(wb.sheetnames)}")
    ws = wb[sheet] if sheet else wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    headers = [str(h).strip() if h is not None else "" for h in next(it, ())]

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for line, values in enumerate(it, start=2):
            if any(val not in (None, "") for val in values):
                yield line, dict(zip(headers, values, strict=False))

    return Source(headers, rows(), None, wb.close)


def read_rows(
    path: Path, sheet: str | None = None, encoding: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number as the user sees it, {header: value}) for each non-empty data row."""
    src = open_source(path, sheet=sheet, encoding=encoding)
    try:
        yield from src.rows
    finally:
        src.close()


# ---- One row -> a registration ---------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def ident_text(value: Any) -> str | None:
    """An identifier as text; a number that cannot be one (a float, scientific notation,
    more digits than a spreadsheet keeps) raises InvalidInput with the reason MANGLED."""
    if value is None or isinstance(value, bool):
        return _text(value)
    if isinstance(value, float):
        raise InvalidInput("", MANGLED)
    if isinstance(value, int):
        if len(str(abs(value))) > _EXCEL_DIGITS:
            raise InvalidInput("", MANGLED)
        return str(value)
    out = str(value).strip()
    if _SCIENTIFIC.match(out) or _DECIMAL_TAIL.match(out):
        raise InvalidInput("", MANGLED)
    return out or None


def _shown(value: Any) -> str:
    """A cell as read, for the rejects file."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse_time(value: Any, tz: ZoneInfo, name: str, formats: list[str] | None) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)):
        raise InvalidInput(name, f"「{_shown(value)}」不是日期(请将该列设为日期或文本)")
    else:
        text = str(value).strip()
        if formats:
            for fmt in formats:
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise InvalidInput(
                    name, f"「{text}」不符合映射文件给出的格式: {' 或 '.join(formats)}"
                )
        else:
            text = text.replace("/", "-")
            moment = (
                datetime.combine(v.iso_date(text, name), datetime.min.time())
                if len(text) <= 10
                else v.iso_datetime(text.replace(" ", "T", 1), name)
            )
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


@dataclass
class Converted:
    registration: Registration | None
    problems: list[Problem]
    identity: str | None = None
    history: History | None = None
    name_given: bool = True


class Converter:
    """Turns rows into registrations with every bad field reported (not only the first)."""

    def __init__(self, ctx: Context, mapping: Mapping, *, now: datetime) -> None:
        self.ctx = ctx
        self.m = mapping
        self.now = now
        self.tz = ZoneInfo(mapping.timezone) if mapping.timezone else ctx.tz
        tax = ctx.config.taxonomy
        self.choices: dict[str, dict[str, str]] = {
            "channel": tax.channels,
            "branch": tax.branches,
            "category": tax.categories,
            "product": tax.products,
            "capacity": CAPACITIES,
            "kind": {"person": "个人", "organisation": "单位"},
        }

    def where(self, fld: str, origin: dict[str, str]) -> str:
        if fld in origin:
            return origin[fld]
        col = self.m.columns.get(fld)
        return col.label if col else ""

    def _map_value(self, fld: str, text: str) -> str:
        table = self.m.values.get(fld)
        if not table:
            return text
        if text in table:
            return table[text]
        options = self.choices.get(fld)
        if "*" in table and not (options and (text in options or text in options.values())):
            return table["*"]
        return text

    def convert(self, line: int, row: dict[str, Any]) -> Converted:
        problems: list[Problem] = []
        got: dict[str, Any] = {}
        shown: dict[str, str] = {}
        origin: dict[str, str] = {}

        def bad(fld: str, reason: str) -> None:
            problems.append(Problem(line, self.where(fld, origin), fld, shown.get(fld, ""), reason))

        for fld, col in self.m.columns.items():
            cells = [row.get(h) for h in col.headers]
            shown[fld] = (
                " | ".join(_shown(c) for c in cells) if len(cells) > 1 else _shown(cells[0])
            )
            if any(isinstance(c, str) and "\ufffd" in c for c in cells):
                bad(fld, "含无法解码的字符(文件编码不符, 可用 --encoding 指定)")
                continue
            if len(cells) == 1:
                value: Any = cells[0]
                if fld in IDENT_FIELDS:
                    try:
                        value = ident_text(value)
                    except InvalidInput as exc:
                        bad(fld, exc.reason)
                        continue
                elif fld not in TIME_FIELDS:
                    value = _text(value)
                elif isinstance(value, str) and not value.strip():
                    value = None
            else:
                parts = [_text(c) for c in cells]
                value = col.separator.join(p for p in parts if p) or None
            if isinstance(value, str):
                value = self._map_value(fld, value)
            if value not in (None, ""):
                got[fld] = value
        for fld, value in self.m.defaults.items():
            if fld not in got and fld not in {p.field for p in problems}:
                got[fld], origin[fld], shown[fld] = value, DEFAULT_MARK, str(value)
        for fld, value in self.m.constants.items():
            got[fld], origin[fld], shown[fld] = value, CONSTANT_MARK, str(value)
        failed = {p.field for p in problems}

        def take_time(name: str) -> datetime | None:
            if name not in got:
                return None
            try:
                return _parse_time(got.pop(name), self.tz, name, self.m.formats.get(name))
            except InvalidInput as exc:
                bad(name, exc.reason)
                return None

        times = {name: take_time(name) for name in TIME_FIELDS}
        if times["received_at"] is None and "received_at" not in {p.field for p in problems}:
            bad("received_at", "缺少收到时间(历史数据须注明收到时间)")
        flags: dict[str, bool] = {}
        for name in BOOL_FIELDS & got.keys():
            text = str(got.pop(name)).strip().lower()
            if text in TRUE:
                flags[name] = True
            elif text in FALSE:
                flags[name] = False
            else:
                bad(name, f"「{text}」不是是/否(可用: 是/否、1/0、yes/no)")
        group_size = 1
        if "group_size" in got:
            raw_size = str(got.pop("group_size"))
            try:
                group_size = int(float(raw_size))
                if not 1 <= group_size <= 1_000_000:
                    raise ValueError
            except (ValueError, OverflowError):
                bad("group_size", f"「{raw_size}」不是有效人数(1 至 1000000)")
                group_size = 1
        person = {f: _text(got.pop(f)) for f in list(got) if f in PERSON_FIELDS}
        agent = {AGENT_FIELDS[f]: _text(got.pop(f)) for f in list(got) if f in AGENT_FIELDS}
        identity = _text(got.pop("identity", None))
        claim, facts, channel = (str(got.pop(k, "") or "") for k in ("claim", "facts", "channel"))
        rest: dict[str, Any] = {k: (str(val) if k != "amount" else val) for k, val in got.items()}
        rest.update(flags)
        reg = Registration(
            complainant=Person(
                name=person.get("name") or "",
                kind=person.get("kind") or "person",
                id_number=person.get("id_number"),
                phone=person.get("phone"),
                address=person.get("address"),
                credit_code=person.get("credit_code"),
                legal_rep=person.get("legal_rep"),
            ),
            agent=(
                Person(
                    name=agent.get("name") or "",
                    phone=agent.get("phone"),
                    id_number=agent.get("id_number"),
                )
                if any(agent.values())
                else None
            ),
            claim=claim,
            facts=facts,
            channel=channel,
            received_at=times["received_at"] or self.now,
            regulator_forwarded_on=times["regulator_forwarded_on"],
            group_size=group_size,
            **rest,
        )
        failed = {p.field for p in problems}
        for err in registration.problems(self.ctx, reg, self.now):
            if err.field not in failed:
                failed.add(err.field)
                bad(err.field, err.reason)
        history = self._history(reg, times, bad, failed)
        name_given = origin.get("name") is None and "name" in self.m.columns
        return Converted(
            None if problems else reg, problems, identity, history, name_given=name_given
        )

    def _history(
        self,
        reg: Registration,
        times: dict[str, datetime | None],
        bad: Callable[[str, str], None],
        failed: set[str],
    ) -> History | None:
        steps = [(name, times[name]) for name in HISTORY_FIELDS if times[name] is not None]
        if not steps:
            return None
        earlier: tuple[str, datetime] | None = None
        received = reg.received_at
        for name, at in steps:
            assert at is not None
            if received is not None and at < received:
                bad(name, "早于收到时间")
            elif at > self.now:
                bad(name, "晚于当前时间")
            elif earlier is not None and at < earlier[1]:
                bad(name, f"早于{HISTORY_LABELS[earlier[0]]}")
            earlier = (name, at)
        return History(
            accepted_at=times["accepted_at"],
            decided_at=times["decided_at"],
            closed_at=times["closed_at"],
        )


HISTORY_LABELS = {
    "accepted_at": "受理时间",
    "decided_at": "处理决定告知时间",
    "closed_at": "办结时间",
}


def external_ref(m: Mapping, row: dict[str, Any]) -> str:
    """Idempotence key: `source:id` from the file's id column, else a hash of the row."""
    if m.id_column:
        try:
            ident = ident_text(row.get(m.id_column))
        except InvalidInput:
            raise InvalidInput(m.id_column, MANGLED) from None
        if not ident:
            raise InvalidInput(m.id_column, "缺少记录编号, 无法保证重复导入不重复登记")
        return f"{m.source}:{ident}"[:80]
    canon = "\x1f".join(
        f"{k}={'|'.join(_text(row.get(h)) or '' for h in c.headers)}"
        for k, c in sorted(m.columns.items())
    )
    return f"{m.source}:#{hashlib.sha256(canon.encode()).hexdigest()[:32]}"[:80]


def identity_key(ctx: Context, m: Mapping, conv: Converted) -> str | None:
    """The complainant key for repeat matching when the mapping decides it: the identity
    column (scoped to the source), or no key at all when the only identifier would be a name
    the mapping supplied (a default name must not make every anonymised row one person)."""
    reg = conv.registration
    assert reg is not None
    if conv.identity:
        return ctx.vault.match_hash("identity", f"{m.source}:{conv.identity}") or ""
    p = reg.complainant
    if not conv.name_given and not (p.id_number or p.phone or p.credit_code):
        return ""
    return None


# ---- The run ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    total: int = 0
    imported: int = 0
    existing: int = 0
    rejected: int = 0
    merged: int = 0
    linked: int = 0
    escalated: int = 0
    finished: int = 0  # imported as history already handled
    overdue: int = 0  # imported open and past a deadline (told in one summary alert)
    seconds: float = 0.0
    rejects_file: Path | None = None
    by_reason: Counter[tuple[str, str]] = field(default_factory=Counter)
    encoding: str | None = None
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        """0 when every row was imported or already present, 2 when some were rejected."""
        return 2 if self.rejected else 0


def reason_kind(reason: str) -> str:
    """A reason without the value it quotes, for counting by reason."""
    return re.sub(r"「[^」]*」", "「…」", reason)


def rejects_path(path: Path, where: Path | None) -> Path:
    """Beside the input (or `where`: a file, or a directory to put it in); never an existing
    file: a second import of a file of the same name gets `.rejects-2.csv` and so on."""
    if where is None:
        base = path.parent / f"{path.stem}.rejects.csv"
    elif where.is_dir():
        base = where / f"{path.stem}.rejects.csv"
    else:
        base = where
    folder = base.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InvalidInput("rejects", f"无法在 {folder} 写入被拒行文件, 请用 --rejects 指定位置")
    return base


# How each personal field is masked in a rejects file (services/privacy.py); any other cell
# has phone and ID numbers typed into it masked.
_MASKS: dict[str, Callable[[str | None], str | None]] = {
    "name": privacy.mask_name,
    "agent_name": privacy.mask_name,
    "legal_rep": privacy.mask_name,
    "phone": privacy.mask_phone,
    "agent_phone": privacy.mask_phone,
    "id_number": privacy.mask_id,
    "agent_id_number": privacy.mask_id,
    "address": privacy.mask_address,
}


def personal_headers(mapping: Mapping) -> dict[str, str]:
    """Source header → the personal field it feeds (for masking rejects)."""
    return {h: fld for fld, col in mapping.columns.items() if fld in _MASKS for h in col.headers}


class RejectsWriter:
    """The rejects file, opened on the first reject with exclusive creation (no other import's
    file is ever overwritten) and written as batches finish: one line per bad field.

    Personal data in it is masked (names, phones, ID numbers, addresses, and phones or IDs in
    any other cell) unless `reveal` (`tousu import --reveal-rejects`, for roles that may
    reveal, logged)."""

    def __init__(
        self,
        base: Path,
        headers: list[str],
        *,
        personal: dict[str, str] | None = None,
        reveal: bool = False,
    ) -> None:
        self.base = base
        self.headers = headers
        self.personal = personal or {}
        self.reveal = reveal
        self.path: Path | None = None
        self._fh: IO[str] | None = None
        self._out: Any = None

    def _masked(self, field: str | None, value: str) -> str:
        if self.reveal or not value:
            return value
        mask = _MASKS.get(field or "")
        return (mask(value) if mask else privacy.mask_text(value)) or ""

    def _open(self) -> None:
        stem, n = self.base.name.removesuffix(".csv"), 1
        while True:
            candidate = self.base if n == 1 else self.base.with_name(f"{stem}-{n}.csv")
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                n += 1
                continue
            break
        self.path = candidate
        self._fh = open(fd, "w", newline="", encoding="utf-8-sig")  # noqa: SIM115
        self._out = csv.writer(self._fh)
        self._out.writerow(["行号", "列", "字段", "读到的值", "原因", *self.headers])

    def write(self, problems: list[Problem], rows: dict[int, dict[str, Any]]) -> None:
        if not problems:
            return
        if self._out is None:
            self._open()
        for p in sorted(problems, key=lambda p: p.line):
            row = rows.get(p.line, {})
            self._out.writerow(
                [p.line, p.column, p.field, self._masked(p.field, p.value), p.reason]
                + [self._masked(self.personal.get(h), _shown(row.get(h))) for h in self.headers]
            )

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def run(
    ctx: Context,
    path: Path,
    mapping: Mapping,
    *,
    actor: str,
    batch_size: int = 2000,
    escalate: bool = True,
    rejects: Path | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
    reveal_rejects: bool = False,
) -> ImportResult:
    """`_import_file` (below), with a file the reader cannot read as CSV text named as such."""
    import csv

    try:
        return _import_file(
            ctx,
            path,
            mapping,
            actor=actor,
            batch_size=batch_size,
            escalate=escalate,
            rejects=rejects,
            encoding=encoding,
            dry_run=dry_run,
            progress=progress,
            now=now,
            reveal_rejects=reveal_rejects,
        )
    except csv.Error as exc:  # a cell beyond the csv module's field limit (128 kB), a NUL
        raise InvalidInput(
            "file",
            f"{path.name} 不是可读的 CSV 文件 ({exc}); 出错之前的行已照常导入, "
            "修正文件后重新导入不会重复登记",
        ) from None
    except UnicodeError as exc:  # e.g. utf-32 named for a file without its byte-order mark
        raise InvalidInput(
            "encoding",
            f"按编码 {encoding or '(自动识别)'} 无法读取 {path.name}: "
            f"{getattr(exc, 'reason', None) or exc}",
        ) from None


def _import_file(
    ctx: Context,
    path: Path,
    mapping: Mapping,
    *,
    actor: str,
    batch_size: int,
    escalate: bool,
    rejects: Path | None,
    encoding: str | None,
    dry_run: bool,
    progress: Callable[[int], None] | None,
    now: datetime | None,
    reveal_rejects: bool,
) -> ImportResult:
    """Import every row; returns counts and where the rejected fields were written. No row
    stops the file: a bad or failing row becomes a reject with its reason. The rejects file
    masks personal data unless `reveal_rejects` (a role that may reveal; logged)."""
    user = bulk.check_actor(ctx, actor)
    now = now or utcnow()
    started = time.perf_counter()
    result = ImportResult(dry_run=dry_run)
    src = open_source(
        path,
        sheet=mapping.sheet,
        encoding=encoding or mapping.encoding,
        delimiter=mapping.delimiter,
    )
    result.encoding = src.encoding
    try:
        missing = [
            h for c in mapping.columns.values() for h in c.headers if h not in src.headers
        ] + (
            [mapping.id_column]
            if mapping.id_column and mapping.id_column not in src.headers
            else []
        )
        if missing:
            raise InvalidInput(
                "mapping",
                f"文件 {path.name} 没有映射文件中的列: {', '.join(dict.fromkeys(missing))}",
            )
        if reveal_rejects and not access.may_reveal(user["role"]):
            raise Forbidden(
                f"角色「{Role(user['role']).label}」无权查看完整个人信息, 不能使用 --reveal-rejects"
            )
        writer = RejectsWriter(
            rejects_path(path, rejects),
            src.headers,
            personal=personal_headers(mapping),
            reveal=reveal_rejects,
        )
        try:
            _run(
                ctx,
                src,
                mapping,
                user,
                now,
                batch_size,
                escalate,
                dry_run,
                writer,
                progress,
                result,
            )
        finally:
            writer.close()
    finally:
        src.close()
    result.rejects_file = writer.path
    if reveal_rejects and writer.path is not None:
        access.record_pii_access(
            ctx,
            username=user["username"],
            role=user["role"],
            what="import rejects",
            detail=f"被拒行文件未遮蔽个人信息: {writer.path} (导入 {path.name})",
        )
    result.seconds = time.perf_counter() - started
    return result


def _run(
    ctx: Context,
    src: Source,
    mapping: Mapping,
    user: Any,
    now: datetime,
    batch_size: int,
    escalate: bool,
    dry_run: bool,
    writer: RejectsWriter,
    progress: Callable[[int], None] | None,
    result: ImportResult,
) -> None:
    conv = Converter(ctx, mapping, now=now)
    seen: dict[int, int] = {}  # hash of external_ref -> first line (a run-wide, small key)
    batch: list[Item] = []
    raw: dict[int, dict[str, Any]] = {}
    problems: list[Problem] = []
    overdue = bulk.OverdueList(limit=bulk.settings(ctx)["overdue_list_limit"])

    def reject(found: list[Problem]) -> None:
        problems.extend(found)
        result.rejected += 1
        for p in found:
            result.by_reason[(p.field, reason_kind(p.reason))] += 1

    def flush() -> None:
        if batch:
            if dry_run:  # what would be stored; nothing is written
                stored = bulk.count_stored(ctx, [i.registration.external_ref for i in batch])
                result.existing += stored
                result.imported += len(batch) - stored
            else:
                done = bulk.register_batch(
                    ctx,
                    batch,
                    user=user,
                    escalate=escalate,
                    now=now,
                    overdue=overdue,
                    validate=False,  # Converter.convert ran registration.problems
                )
                result.imported += len(done.imported)
                result.existing += done.existing
                result.merged += done.merged
                result.linked += done.linked
                result.escalated += done.escalated
                result.finished += done.finished
                for p in done.rejected:
                    reject([p])
        writer.write(problems, raw)
        if progress:
            progress(len(raw))
        batch.clear()
        raw.clear()
        problems.clear()

    for line, row in src.rows:
        result.total += 1
        raw[line] = row
        try:
            c = conv.convert(line, row)
            ref = None
            try:
                ref = external_ref(mapping, row)
            except InvalidInput as exc:
                c.problems.append(
                    Problem(
                        line,
                        mapping.id_column or "",
                        "external_ref",
                        _shown(row.get(mapping.id_column or "")),
                        exc.reason,
                    )
                )
            if c.problems or c.registration is None:
                reject(c.problems)
            else:
                key = hash(ref)
                first = seen.get(key)
                if first is not None and mapping.id_column:
                    reject(
                        [
                            Problem(
                                line,
                                mapping.id_column,
                                "external_ref",
                                _shown(row.get(mapping.id_column)),
                                f"文件内编号重复(与第 {first} 行相同)",
                            )
                        ]
                    )
                elif first is not None:
                    result.existing += 1  # the very same row again
                else:
                    seen[key] = line
                    c.registration.external_ref = ref
                    batch.append(
                        Item(
                            line,
                            c.registration,
                            key=identity_key(ctx, mapping, c),
                            history=c.history,
                        )
                    )
        except Exception as exc:  # one row's unexpected failure is that row's reject
            reject([Problem(line, "", "", "", f"意外错误: {type(exc).__name__}: {exc}")])
        if len(raw) >= batch_size:
            flush()
    flush()
    if not dry_run and overdue.count:
        result.overdue = overdue.count
        bulk.tell_overdue(ctx, overdue, source=mapping.source, now=now)
