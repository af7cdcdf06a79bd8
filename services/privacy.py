"""Masking of personal data for display (2022 Order No. 9: tiered access, log access).

Who may see personal data unmasked is `states.lifecycle.PII_ROLES`; every unmasked view is
written to the event log by `services.lifecycle.queries.complaint_view` through
`services.lifecycle.audit`.
Pure functions: no database, no cipher.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Fields of a decrypted party that are personal information and how each is masked.
MASKED_FIELDS = ("name", "id_number", "phone", "address", "legal_rep")


def mask_phone(value: str | None) -> str | None:
    """138****0000 for a mobile; a landline keeps its area code and last four digits."""
    if not value:
        return value
    digits = value
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def mask_id(value: str | None) -> str | None:
    """Resident ID or credit code with its middle hidden: 110105********002X."""
    if not value:
        return value
    if len(value) <= 10:
        return value[:2] + "*" * (len(value) - 2)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(value: str | None) -> str | None:
    """赵六 → 赵*; 欧阳娜娜 → 欧***."""
    if not value:
        return value
    return value[0] + "*" * max(len(value) - 1, 1)


def mask_address(value: str | None) -> str | None:
    """The first six characters (province, city) and the rest hidden."""
    if not value:
        return value
    return value[:6] + "****" if len(value) > 6 else value[:2] + "****"


def mask_party(party: dict[str, Any]) -> dict[str, Any]:
    """A decrypted party with every personal field masked. An organisation's own name and
    credit code are not personal information; its legal representative's name is."""
    out = dict(party)
    if party.get("kind") != "organisation":
        out["name"] = mask_name(party.get("name"))
        out["address"] = mask_address(party.get("address"))
    out["id_number"] = (
        party.get("id_number")
        if party.get("kind") == "organisation"
        else mask_id(party.get("id_number"))
    )
    out["phone"] = mask_phone(party.get("phone"))
    out["legal_rep"] = mask_name(party.get("legal_rep"))
    return out


# Phone and ID numbers as people type them into free text: with or without +86, with hyphens
# or spaces between digit groups (138-0013-8000, 110105 19491231 002X), full-width digits.
# Never preceded or followed by a letter or digit, so case numbers (TS2026030200000123) and
# policy numbers (P2026000123) stay.
_SEP = r"[-\s]?"
_EDGE_L, _EDGE_R = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_ID18 = re.compile(_EDGE_L + r"\d(?:" + _SEP + r"\d){16}" + _SEP + r"[0-9Xx]" + _EDGE_R)
_ID15 = re.compile(_EDGE_L + r"\d(?:" + _SEP + r"\d){14}" + _EDGE_R)
_MOBILE = re.compile(
    _EDGE_L + r"(?:\+?86" + _SEP + r")?1" + _SEP + r"[3-9](?:" + _SEP + r"\d){9}" + _EDGE_R
)
_LANDLINE = re.compile(_EDGE_L + r"0\d{2,3}[-\s](?:\d" + _SEP + r"){6,7}\d" + _EDGE_R)


def _plain_digits(text: str) -> str:
    """Full-width and other Unicode decimal digits as ASCII (everything else unchanged)."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text
    )


def _digits_of(found: re.Match[str]) -> str:
    return re.sub(r"[-\s]", "", found.group())


def mask_text(text: str | None) -> str | None:
    """Free text (claim, facts, notes, alert text) with every phone and ID number masked,
    however it is spaced or hyphenated."""
    if not text:
        return text
    out = _plain_digits(text)
    out = _ID18.sub(lambda m: mask_id(_digits_of(m)) or "", out)
    out = _ID15.sub(lambda m: mask_id(_digits_of(m)) or "", out)
    out = _MOBILE.sub(lambda m: mask_phone(_digits_of(m)[-11:]) or "", out)
    return _LANDLINE.sub(lambda m: mask_phone(_digits_of(m)) or "", out)


def mask_details(value: Any) -> Any:
    """An event's details (or any JSON value) with `mask_text` applied to every string."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask_details(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_details(v) for k, v in value.items()}
    return value
