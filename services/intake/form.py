"""A mapping of registration values (states/intake_fields.py) → a `Registration`.

The workspace's registration form, the API and `tousu register` hand what they were given,
keyed by the declared field names, to `registration_of`; every rule about a valid complaint
is then checked by `services.lifecycle.registration.problems` (called by `register`). This
only shapes values: text stays text, a flag given as text ("on", "是", "true") becomes a bool,
a time given as ISO text becomes an aware datetime (local time in `tz` without an offset).
No database, no configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from services.lifecycle.registration import Person, Registration
from states import validation as v
from states.errors import InvalidInput
from states.fields import Kind
from states.intake_fields import BY_NAME, TIME_FIELDS

TRUE = frozenset({"1", "true", "yes", "y", "on", "是"})
FALSE = frozenset({"0", "false", "no", "n", "off", "否", ""})


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise InvalidInput(name, f"「{value}」不是是/否 (可用: 是/否、true/false、1/0)")


def _time(value: Any, name: str, tz: tzinfo) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        moment = v.iso_datetime(str(value), name)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _many(value: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [str(i) for i in items if i is not None and str(i).strip()]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def values_of(given: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """Every declared field's value shaped by its kind; a missing one takes its default.
    An unknown name is refused (InvalidInput naming it)."""
    for name in given:
        if name not in BY_NAME:
            raise InvalidInput(name, f"未知的登记字段「{name}」")
    out: dict[str, Any] = {}
    for name, f in BY_NAME.items():
        raw = given.get(name)
        if isinstance(raw, str) and not raw.strip() and f.kind is not Kind.text:
            raw = None
        if raw is None and f.default is not None:
            raw = f.default
        if name in TIME_FIELDS:
            out[name] = _time(raw, name, tz)
        elif f.kind is Kind.flag:
            out[name] = _flag(raw, name)
        elif f.kind is Kind.many:
            out[name] = _many(raw)
        elif f.kind is Kind.integer:
            out[name] = raw  # registration checks the range (validation.integer)
        else:
            out[name] = _text(raw)
    return out


def registration_of(given: Mapping[str, Any], *, tz: tzinfo) -> Registration:
    """The registration the declared values describe (not yet validated)."""
    val = values_of(given, tz)
    extra: dict[str, Any] = {}
    if val["on_behalf_of"]:
        extra["on_behalf_of"] = val["on_behalf_of"]
    if val["heir"]:
        extra["heirs"] = val["heir"]
    agent = None
    if val["agent_name"] or val["agent_phone"] or val["agent_id_number"]:
        agent = Person(
            name=val["agent_name"] or "",
            phone=val["agent_phone"],
            id_number=val["agent_id_number"],
        )
    return Registration(
        complainant=Person(
            name=val["name"] or "",
            kind=val["kind"],
            id_number=val["id_number"],
            phone=val["phone"],
            address=val["address"],
            credit_code=val["credit_code"],
            legal_rep=val["legal_rep"],
        ),
        claim=val["claim"] or "",
        facts=val["facts"] or "",
        channel=val["channel"] or "",
        received_at=val["received_at"],
        capacity=val["capacity"],
        agent=agent,
        power_of_attorney=val["power_of_attorney"],
        basis=val["basis"],
        institution=val["institution"],
        branch=val["branch"],
        employee_name=val["employee_name"],
        employee_no=val["employee_no"],
        policy_no=val["policy_no"],
        amount=val["amount"],
        category=val["category"],
        product=val["product"],
        regulator_ref=val["regulator_ref"],
        regulator_forwarded_on=val["regulator_forwarded_on"],
        group_size=val["group_size"],
        media_involved=val["media_involved"],
        vulnerable=val["vulnerable"],
        major_designated=val["major_designated"],
        external_ref=val["external_ref"],
        extra=extra,
    )


def choices_of(name: str, taxonomy: Any) -> dict[str, str]:
    """A choice field's options: its fixed table, or the configured taxonomy list it names
    (`ctx.config.taxonomy`)."""
    f = BY_NAME[name]
    if isinstance(f.choices, str):
        return dict(getattr(taxonomy, f.choices))
    return dict(f.choices or {})
