"""Registration (登记, Art. 13): validate every field, write the parties encrypted, start the
clocks. Used by the CLI, bulk import and the demo alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from services.context import Context
from services.lifecycle import events
from services.lifecycle.actions import clock_skew
from services.lifecycle.events import RepeatOutcome
from states import intake_fields
from states import lifecycle as lc
from states import validation as v
from states.deadlines import apply_clock
from states.errors import Forbidden, InvalidInput
from states.priority import assess
from storage import models, records
from storage.models import Party
from storage.rows import ActorRow, NewComplaintRow
from storage.schema import table_of
from storage.timeutil import to_db, utcnow

PARTY = table_of(Party)
INSTITUTION = table_of(models.Institution)
# Prepared once: building `.values(...)` per call costs more than the insert itself.
_INS_PARTY = insert(PARTY)
_INS_CASE = insert(records.COMPLAINT)
_SET_NUMBER = (
    update(records.COMPLAINT)
    .where(records.COMPLAINT.c.id == bindparam("_id"))
    .values(number=bindparam("number"))
)

# What the registration event records of the complaint (no personal data: that is in `party`).
PUBLIC_FIELDS = (
    "channel",
    "branch",
    "category",
    "product",
    "policy_no",
    "amount",
    "regulator_ref",
    "group_size",
    "media_involved",
    "vulnerable",
)

# The complainant's capacities (Art. 14), declared with the registration fields.
CAPACITIES = intake_fields.CAPACITIES


@dataclass
class Person:
    """A complainant or agent. Organisations give `credit_code` and `legal_rep`."""

    name: str
    kind: str = "person"
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    credit_code: str | None = None
    legal_rep: str | None = None


@dataclass
class Registration:
    complainant: Person
    claim: str
    facts: str
    channel: str
    received_at: datetime | None = None
    capacity: str = "consumer"
    agent: Person | None = None
    power_of_attorney: str | None = None
    basis: str | None = None
    institution: str | None = None
    branch: str = "head_office"
    employee_name: str | None = None
    employee_no: str | None = None
    policy_no: str | None = None
    amount: float | None = None
    category: str | None = None
    product: str | None = None
    regulator_ref: str | None = None
    regulator_forwarded_on: datetime | None = None
    group_size: int = 1
    media_involved: bool = False
    vulnerable: bool = False
    major_designated: bool = False
    external_ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def validate(ctx: Context, reg: Registration, now: datetime) -> Registration:
    """Normalise in place; the first bad field raises InvalidInput naming it."""
    found = problems(ctx, reg, now)
    if found:
        raise found[0]
    return reg


def problems(ctx: Context, reg: Registration, now: datetime) -> list[InvalidInput]:
    """Normalise in place and return every bad field (at most one per check), in field order:
    bulk import reports a row whole; `validate` raises the first."""
    found = []
    for check in _CHECKS:
        try:
            check(ctx, reg, now)
        except InvalidInput as exc:
            found.append(exc)
    return found


# Where each free-text field of a registration lives: (field name, holder, attribute).
_TEXTS = (
    ("name", "complainant", "name"),
    ("id_number", "complainant", "id_number"),
    ("phone", "complainant", "phone"),
    ("address", "complainant", "address"),
    ("credit_code", "complainant", "credit_code"),
    ("legal_rep", "complainant", "legal_rep"),
    ("agent_name", "agent", "name"),
    ("agent_phone", "agent", "phone"),
    ("agent_id_number", "agent", "id_number"),
    *((name, "", name) for name in ("claim", "facts", "basis", "power_of_attorney")),
    *((name, "", name) for name in ("institution", "employee_name", "employee_no")),
    *((name, "", name) for name in ("policy_no", "regulator_ref", "external_ref")),
)


def _check_texts(ctx: Context, reg: Registration, now: datetime) -> None:
    """Every text field through `validation.text`: no control or bidi characters, within its
    declared limit (validation.TEXT_LIMITS; identifiers 64), blank as missing."""
    for name, holder, attr in _TEXTS:
        obj = getattr(reg, holder) if holder else reg
        if obj is not None:
            value = v.text(getattr(obj, attr), name, limit=v.TEXT_LIMITS.get(name, 64))
            setattr(obj, attr, "" if value is None and attr == "name" else value)
    if "on_behalf_of" in reg.extra:
        reg.extra["on_behalf_of"] = v.text(reg.extra["on_behalf_of"], "on_behalf_of")
    if "heirs" in reg.extra:
        reg.extra["heirs"] = [v.text(h, "heir", required=True) for h in reg.extra["heirs"]]


def _check_name(ctx: Context, reg: Registration, now: datetime) -> None:
    c = reg.complainant
    if not (c.name or "").strip():
        raise InvalidInput("name", "投诉人姓名/名称不能为空")
    if c.kind not in ("person", "organisation"):
        raise InvalidInput("kind", "投诉人类型取值: person(个人), organisation(单位)")


def _check_identity(ctx: Context, reg: Registration, now: datetime) -> None:
    c = reg.complainant
    if c.kind == "organisation":
        if not c.credit_code:
            raise InvalidInput("credit_code", "单位投诉须填写统一社会信用代码(第十三条)")
        c.credit_code = v.credit_code(c.credit_code)
    elif c.id_number:
        c.id_number = v.resident_id(c.id_number)


def _check_organisation(ctx: Context, reg: Registration, now: datetime) -> None:
    c = reg.complainant
    if c.kind == "organisation":
        if not c.legal_rep:
            raise InvalidInput("legal_rep", "单位投诉须填写法定代表人(第十三条)")
        if not c.address:
            raise InvalidInput("address", "单位投诉须填写住所地址(第十三条)")


def _check_contact(ctx: Context, reg: Registration, now: datetime) -> None:
    c = reg.complainant
    if not c.phone and not c.address:
        raise InvalidInput("phone", "须留联系方式(电话或地址)")
    if c.phone:
        c.phone = v.phone(c.phone)


def _check_agent(ctx: Context, reg: Registration, now: datetime) -> None:
    reg.capacity = v.choice(reg.capacity, CAPACITIES, "capacity")
    if reg.agent is not None:
        if not reg.agent.name:
            raise InvalidInput("agent_name", "代理人姓名不能为空")
        if reg.agent.phone:
            reg.agent.phone = v.phone(reg.agent.phone, "agent_phone")
        if reg.agent.id_number:
            reg.agent.id_number = v.resident_id(reg.agent.id_number, "agent_id_number")
        if reg.capacity == "agent" and not reg.power_of_attorney:
            raise InvalidInput("power_of_attorney", "受托代理人须提供授权委托书(第十四条)")


def _check_claim(ctx: Context, reg: Registration, now: datetime) -> None:
    if not (reg.claim or "").strip():
        raise InvalidInput("claim", "投诉请求和主要事实不能为空(第十三条)")


def _check_facts(ctx: Context, reg: Registration, now: datetime) -> None:
    if not (reg.facts or "").strip():
        raise InvalidInput("facts", "投诉请求和主要事实不能为空(第十三条)")


def _check_channel(ctx: Context, reg: Registration, now: datetime) -> None:
    reg.channel = v.choice(reg.channel, ctx.config.taxonomy.channels, "channel")
    if reg.channel == "regulator" and not reg.regulator_ref:
        raise InvalidInput("regulator_ref", "监管转办投诉须填写转办编号")


def _check_branch(ctx: Context, reg: Registration, now: datetime) -> None:
    reg.branch = v.choice(reg.branch, ctx.config.taxonomy.branches, "branch")


def _check_category(ctx: Context, reg: Registration, now: datetime) -> None:
    if reg.category:
        reg.category = v.choice(reg.category, ctx.config.taxonomy.categories, "category")


def _check_product(ctx: Context, reg: Registration, now: datetime) -> None:
    if reg.product:
        reg.product = v.choice(reg.product, ctx.config.taxonomy.products, "product")


def _check_amount(ctx: Context, reg: Registration, now: datetime) -> None:
    reg.amount = v.amount(reg.amount)


def _check_group_size(ctx: Context, reg: Registration, now: datetime) -> None:
    reg.group_size = v.integer(reg.group_size, "group_size", *v.GROUP_SIZE, label="投诉人数")


def _check_received(ctx: Context, reg: Registration, now: datetime) -> None:
    received = reg.received_at or now
    if received.tzinfo is None:
        raise InvalidInput("received_at", "时间须带时区")
    if received > now + clock_skew(ctx):
        raise InvalidInput("received_at", "收到时间晚于当前时间")
    if reg.regulator_forwarded_on and reg.regulator_forwarded_on > received:
        raise InvalidInput("regulator_forwarded_on", "监管转办日期不能晚于本机构收到日期")
    reg.received_at = received


_CHECKS = (
    _check_texts,
    _check_name,
    _check_identity,
    _check_organisation,
    _check_contact,
    _check_agent,
    _check_claim,
    _check_facts,
    _check_channel,
    _check_branch,
    _check_category,
    _check_product,
    _check_amount,
    _check_group_size,
    _check_received,
)


def party_row(ctx: Context, p: Person, now: datetime) -> dict[str, Any]:
    """The `party` row: personal data encrypted, a keyed hash beside each identifier."""
    vault = ctx.vault
    identifier = p.credit_code if p.kind == "organisation" else p.id_number
    return {
        "kind": p.kind,
        "name_enc": vault.encrypt(p.name),
        "name_hash": vault.match_hash("name", p.name),
        "id_type": "credit_code" if p.kind == "organisation" else "resident_id",
        "id_number_enc": vault.encrypt(identifier),
        "id_number_hash": vault.match_hash("id", identifier),
        "phone_enc": vault.encrypt(p.phone),
        "phone_hash": vault.match_hash("phone", p.phone),
        "address_enc": vault.encrypt(p.address),
        "credit_code": p.credit_code,
        "legal_rep_enc": vault.encrypt(p.legal_rep),
        "created_at": to_db(now),
    }


def complainant_key(ctx: Context, p: Person) -> str:
    """The identity used for repeat matching: ID number or credit code, else phone, else name."""
    if p.kind == "organisation" and p.credit_code:
        return ctx.vault.match_hash("id", p.credit_code) or ""
    for kind, value in (("id", p.id_number), ("phone", p.phone), ("name", p.name)):
        if value:
            return ctx.vault.match_hash(kind, value) or ""
    return ""


def find_institution(conn: Connection, name: str | None, branch: str) -> int | None:
    if not name:
        return None
    code = f"{branch}:{name}"
    found = conn.execute(select(INSTITUTION.c.id).where(INSTITUTION.c.code == code)).scalar()
    if found is not None:
        return int(found)
    level = "head_office" if branch == "head_office" else "branch"
    return records.inserted_id(
        conn.execute(insert(INSTITUTION).values(code=code, name=name, branch=branch, level=level))
    )


def check_registrar(user: ActorRow) -> None:
    if lc.Role(user["role"]) not in lc.REGISTER_ROLES:
        raise Forbidden(f"角色「{lc.Role(user['role']).label}」无权登记投诉")


def case_row(
    ctx: Context,
    reg: Registration,
    *,
    user: ActorRow,
    now: datetime,
    complainant_id: int,
    agent_id: int | None,
    institution_id: int | None,
) -> NewComplaintRow:
    """The `complaint` row of a validated registration (without id and number)."""
    received = reg.received_at or now
    details: dict[str, Any] = {"extra": reg.extra} if reg.extra else {}
    if reg.major_designated:
        details["major_designated"] = True
    # Assessed at registration from the facts given (docs/rules.md §4), re-assessed when one
    # changes (services/lifecycle/priority.py).
    level, reasons = assess(
        {
            "amount": reg.amount,
            "group_size": reg.group_size,
            "regulator_forwarded": reg.channel == "regulator",
            "media_involved": reg.media_involved,
            "vulnerable": reg.vulnerable,
            "major_designated": reg.major_designated,
        },
        ctx.config.priority,
    )
    return {
        "state": lc.State.registered.value,
        "version": 1,
        "event_count": 1,
        "priority": level,
        "priority_reasons": reasons,
        "category": reg.category,
        "product": reg.product,
        "channel": reg.channel,
        "branch": reg.branch,
        "registered_by": user["username"],
        "received_at": to_db(received),
        "registered_at": to_db(now),
        "last_event_at": to_db(received),
        "complainant_id": complainant_id,
        "complainant_capacity": reg.capacity,
        "complainant_hash": complainant_key(ctx, reg.complainant),
        "agent_id": agent_id,
        "power_of_attorney": reg.power_of_attorney,
        "institution_id": institution_id,
        "employee_name": reg.employee_name,
        "employee_no": reg.employee_no,
        "claim": reg.claim,
        "facts": reg.facts,
        "basis": reg.basis,
        "policy_no": reg.policy_no,
        "amount": reg.amount,
        "regulator_forwarded": reg.channel == "regulator",
        "regulator_ref": reg.regulator_ref,
        "regulator_forwarded_on": to_db(reg.regulator_forwarded_on),
        "group_size": reg.group_size,
        "media_involved": reg.media_involved,
        "vulnerable": reg.vulnerable,
        "external_ref": reg.external_ref,
        "details": details,
    }


def number_for(ctx: Context, received: datetime, cid: int) -> str:
    """TS + local day of receipt + the row id."""
    return f"TS{received.astimezone(ctx.tz):%Y%m%d}{cid:07d}"


def public_details(reg: Registration) -> dict[str, Any]:
    """What the registration event records of the complaint (no personal data)."""
    return {k: getattr(reg, k) for k in PUBLIC_FIELDS}


def register(ctx: Context, reg: Registration, *, actor: str) -> Registered:
    """Register one complaint; returns its number and state. Nothing is written on error."""
    with ctx.transaction() as conn:
        return _register(ctx, reg, actor=actor, conn=conn)


def _register(ctx: Context, reg: Registration, *, actor: str, conn: Connection) -> Registered:
    now = utcnow()
    user = records.load_user(conn, actor)
    check_registrar(user)
    validate(ctx, reg, now)
    received = reg.received_at or now
    complainant = party_row(ctx, reg.complainant, now)
    complainant_id = records.inserted_id(conn.execute(_INS_PARTY, complainant))
    agent_id = None
    if reg.agent is not None:
        agent_id = records.inserted_id(conn.execute(_INS_PARTY, party_row(ctx, reg.agent, now)))
    row = case_row(
        ctx,
        reg,
        user=user,
        now=now,
        complainant_id=complainant_id,
        agent_id=agent_id,
        institution_id=find_institution(conn, reg.institution, reg.branch),
    )
    cid = records.inserted_id(conn.execute(_INS_CASE, row))
    number = number_for(ctx, received, cid)
    conn.execute(_SET_NUMBER, {"_id": cid, "number": number})
    deadlines: dict[str, Any] = {}
    apply_clock(ctx.clock, "registered", deadlines, received, case=row, fields={})
    records.save_deadlines(conn, cid, deadlines)
    event_id = records.append_event(
        conn,
        complaint_id=cid,
        seq=1,
        action="register",
        from_state=None,
        to_state=lc.State.registered.value,
        actor=user["username"],
        role=user["role"],
        at=received,
        recorded_at=now,
        reason=None,
        details={**public_details(reg), "priority": row["priority"]},
    )
    hashes = {k: complainant[k] for k in ("id_number_hash", "phone_hash", "name_hash")}
    registered = events.CaseRegistered(ctx, conn, cid, row, user["username"], hashes)
    outcomes = {name: events.publish(name, registered) for name in lc.REGISTER_FOLLOW_UPS}
    repeat = outcomes["detect_repeat"]
    return Registered(number=number, id=cid, state=repeat.state, event_id=event_id, repeat=repeat)


@dataclass(frozen=True)
class Registered:
    number: str
    id: int
    state: str
    event_id: int
    repeat: RepeatOutcome | None = None
