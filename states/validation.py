"""Field validation shared by registration, the CLI and bulk import (pure functions).

Each validator returns the normalised value or raises InvalidInput naming the field.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from states.errors import InvalidInput

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def phone(value: str, field: str = "phone") -> str:
    """A Chinese mobile (11 digits, 1[3-9]) or landline (area code 0xx(x)-number)."""
    raw = re.sub(r"[\s()（）]", "", value or "")
    if raw.startswith("+86"):
        raw = raw[3:]
    if _MOBILE.match(raw) or _LANDLINE.match(raw):
        return raw
    raise InvalidInput(field, f"「{value}」不是有效的手机号(11 位, 1 开头)或固定电话(区号-号码)")


def resident_id(value: str, field: str = "id_number") -> str:
    """An 18-digit resident ID number with a valid birth date and GB 11643 check digit."""
    raw = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", raw):
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
    raw = (value or "").strip().upper()
    if len(raw) != 18 or any(c not in _USCC_CHARS for c in raw):
        raise InvalidInput(field, "统一社会信用代码应为 18 位(数字或大写字母, 不含 I/O/Z/S/V)")
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(raw[:17], _USCC_WEIGHTS, strict=True))
    expected = _USCC_CHARS[(31 - total % 31) % 31]
    if raw[17] != expected:
        raise InvalidInput(field, "统一社会信用代码校验位不正确")
    return raw


def iso_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(field, f"「{value}」不是有效日期(格式 YYYY-MM-DD)") from None


def iso_datetime(value: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(
            field, f"「{value}」不是有效时间(格式 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM)"
        ) from None


def choice(value: str | None, options: dict[str, str], field: str) -> str:
    """A code from a taxonomy table; the Chinese label is accepted too."""
    if value in options:
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
        number = float(str(value).replace(",", ""))
    except ValueError:
        raise InvalidInput(field, f"「{value}」不是有效金额") from None
    if number < 0:
        raise InvalidInput(field, "金额不能为负数")
    return number
