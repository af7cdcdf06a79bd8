"""Masking of personal data for display (2022 Order No. 9: tiered access, log access).

Who may see personal data unmasked is `states.lifecycle.PII_ROLES`; every unmasked view is
written to the event log by `services.lifecycle.queries.complaint_view` through
`services.lifecycle.audit`.
Pure functions: no database, no cipher.
"""

from __future__ import annotations

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
