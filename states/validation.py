"""Field validation shared by registration, the CLI and bulk import (pure functions).

Each validator returns the normalised value or raises InvalidInput naming the field.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from states.errors import InvalidInput
from states.fields import Field, Kind

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# ---- Limits, declared once: what a text field may hold and the ranges of numbers ---------------
# The longest text each registration field takes (characters). Where the field has a column of
# its own the limit equals the column's length (storage/models.py), so SQLite and PostgreSQL
# refuse the same inputs, here, before anything is written.
TEXT_LIMITS: dict[str, int] = {
    "name": 100,
    "address": 200,
    "legal_rep": 100,
    "on_behalf_of": 100,
    "heir": 100,
    "agent_name": 100,
    "power_of_attorney": 200,
    "institution": 200,
    "employee_name": 100,
    "employee_no": 40,
    "claim": 2000,
    "facts": 10000,
    "basis": 2000,
    "policy_no": 64,
    "regulator_ref": 64,
    "external_ref": 80,
}
MULTILINE = frozenset({"address", "claim", "facts", "basis"})
GROUP_SIZE = (1, 1_000_000)  # complainants in one (group) complaint
AMOUNT_MAX = 1e12  # yuan; anything larger is a typing error, not a claim
YEARS = (1900, 2999)  # dates and times outside these years are typing errors
INT_MAX = 2**31 - 1  # the largest integer column on PostgreSQL

# Format and control characters no person types: C0/C1 controls (tab and line breaks are
# allowed in multi-line text), bidi embeddings, overrides and isolates, and lone surrogates
# (invalid UTF-8 on the command line arrives as those).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_LINE_BREAKS = frozenset("\n\r\t")


def bad_character(value: str, *, multiline: bool = True) -> str | None:
    """A description of the first character no one should type into `value`, or None."""
    for ch in value:
        code = ord(ch)
        if multiline and ch in _LINE_BREAKS:
            continue
        if 0xD800 <= code <= 0xDFFF:
            return "无效的字符编码 (不是有效的 UTF-8)"
        if ch in _BIDI:
            return f"文字方向控制字符 U+{code:04X}"
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"控制字符 U+{code:04X}"
        if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
            return f"非字符 U+{code:04X}"
    return None


def text(
    value: Any,
    field: str,
    *,
    limit: int | None = None,
    required: bool = False,
    multiline: bool | None = None,
) -> str | None:
    """Free text: refused with control or bidi characters, or beyond its limit; blank is
    missing (refused when required). Returns it stripped, or None when blank."""
    given = "" if value is None else value if isinstance(value, str) else str(value)
    bad = bad_character(given, multiline=field in MULTILINE if multiline is None else multiline)
    if bad:
        raise InvalidInput(field, f"含有不允许的字符: {bad}")
    stripped = given.strip()
    if not stripped:
        if required:
            raise InvalidInput(field, "不能为空或只有空白")
        return None
    most = limit if limit is not None else TEXT_LIMITS.get(field)
    if most is not None and len(stripped) > most:
        raise InvalidInput(field, f"过长: 最多 {most} 个字符, 实际 {len(stripped)} 个")
    return stripped


def integer(value: Any, field: str, low: int = 0, high: int = INT_MAX, label: str = "") -> int:
    """A whole number within [low, high]; `label` names it in the message."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(field, f"「{value}」不是整数") from None
    if isinstance(value, float) and number != value:
        raise InvalidInput(field, f"「{value}」不是整数")
    if not low <= number <= high:
        raise InvalidInput(field, f"{label}{number} 超出范围: 应在 {low} 至 {high} 之间")
    return number


def _digits(value: str) -> str:
    """Full-width and other Unicode digits and letters as ASCII (NFKC), then validated."""
    return "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch
        for ch in unicodedata.normalize("NFKC", value)
    )


def phone(value: str, field: str = "phone") -> str:
    """A Chinese mobile (11 digits, 1[3-9]) or landline (area code 0xx(x)-number)."""
    raw = re.sub(r"[\s()（）]", "", _digits(value or ""))
    if raw.startswith("+86"):
        raw = raw[3:]
    if _MOBILE.match(raw):
        return raw
    # A landline's area code never starts 00 (that is an international prefix) and its
    # local number never starts with 0.
    if _LANDLINE.match(raw) and not raw.startswith("00"):
        local = raw.split("-")[1] if "-" in raw else raw[3 if raw[1] in "12" else 4 :]
        if not local.startswith("0"):
            return raw
    raise InvalidInput(field, f"「{value}」不是有效的手机号(11 位, 1 开头)或固定电话(区号-号码)")


def resident_id(value: str, field: str = "id_number") -> str:
    """An 18-digit resident ID number with a valid birth date and GB 11643 check digit."""
    raw = _digits(value or "").strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", raw):
        raise InvalidInput(field, "居民身份证号码应为 18 位(末位可为 X)")
    try:
        born = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise InvalidInput(field, "身份证号码中的出生日期无效") from None
    if born > date.today() or born.year < 1900:
        raise InvalidInput(field, "身份证号码中的出生日期无效")
    total = sum(int(d) * w for d, w in zip(raw[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != raw[17]:
        raise InvalidInput(field, "身份证号码校验位不正确")
    return raw


def credit_code(value: str, field: str = "credit_code") -> str:
    """An 18-character unified social credit code (GB 32100) with its check character."""
    raw = _digits(value or "").strip().upper()
    if len(raw) != 18 or any(c not in _USCC_CHARS for c in raw):
        raise InvalidInput(field, "统一社会信用代码应为 18 位(数字或大写字母, 不含 I/O/Z/S/V)")
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(raw[:17], _USCC_WEIGHTS, strict=True))
    expected = _USCC_CHARS[(31 - total % 31) % 31]
    if raw[17] != expected:
        raise InvalidInput(field, "统一社会信用代码校验位不正确")
    return raw


def _in_years(when: date, value: str, field: str) -> None:
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise InvalidInput(field, f"「{value}」超出范围: 年份应在 {YEARS[0]} 至 {YEARS[1]} 之间")


def iso_date(value: str, field: str) -> date:
    try:
        found = date.fromisoformat(value.strip())
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(field, f"「{value}」不是有效日期(格式 YYYY-MM-DD)") from None
    _in_years(found, value, field)
    return found


def iso_datetime(value: str, field: str) -> datetime:
    try:
        found = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(
            field, f"「{value}」不是有效时间(格式 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM)"
        ) from None
    _in_years(found, value, field)
    return found


def choice(value: str | None, options: Mapping[str, str], field: str) -> str:
    """A code from a taxonomy table; the Chinese label is accepted too."""
    if value is not None and value in options:
        return value
    for code, label in options.items():
        if value == label:
            return code
    listed = ", ".join(f"{k}({v})" for k, v in options.items())
    raise InvalidInput(field, f"「{value}」不在可选范围内: {listed}")


def amount(value: str | float | None, field: str = "amount") -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(_digits(str(value)).replace(",", "").strip())
    except ValueError:
        raise InvalidInput(field, f"「{value}」不是有效金额") from None
    if not math.isfinite(number):
        raise InvalidInput(field, f"「{value}」不是有效金额(须为有限的数字)")
    if number < 0:
        raise InvalidInput(field, "金额不能为负数")
    if number > AMOUNT_MAX:
        raise InvalidInput(field, f"金额过大: 最多 {AMOUNT_MAX:,.0f} 元")
    return number


def fields_of(declared: tuple[Field, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """An action's field values checked against their declarations (states/fields.py): text
    without control characters and within its limit (blank is missing), a fixed choice one of
    its codes or labels, an integer within its range. Returns the normalised values."""
    out = dict(given)
    for f in declared:
        value = out.get(f.name)
        if value is None:
            continue
        if f.kind is Kind.integer:
            out[f.name] = integer(value, f.name, f.low, f.high)
        elif f.kind is Kind.many and isinstance(value, (list, tuple)):
            items = [text(x, f.name, limit=f.limit) if isinstance(x, str) else x for x in value]
            if isinstance(f.choices, Mapping):
                items = [choice(x, f.choices, f.name) for x in items if x is not None]
            out[f.name] = [x for x in items if x is not None]
        elif isinstance(value, str):
            found = text(value, f.name, limit=f.limit, multiline=f.kind is Kind.text)
            if found is not None and f.kind is Kind.choice and isinstance(f.choices, Mapping):
                found = choice(found, f.choices, f.name)
            out[f.name] = found
    return out
