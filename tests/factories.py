"""Small builders for tests: a valid registration and a case driven to a given state."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.registration import Person, Registration, register

CST = timezone(timedelta(hours=8))
ANALYSIS = {
    "background": "退休教师, 首次投诉",
    "content": "理赔时效",
    "process": "调查、协商",
    "rules": "保险法第二十三条",
    "outcome": "补足赔款",
}


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)  # type: ignore[misc]


def registration(**over: Any) -> Registration:
    person = over.pop("complainant", None) or Person(
        name="赵六", phone="13800138000", id_number="11010519491231002X", address="北京市朝阳区"
    )
    fields: dict[str, Any] = {
        "complainant": person,
        "claim": "要求按合同赔付医疗费用",
        "facts": "住院后申请理赔, 30 日未获答复",
        "channel": "hotline",
        "policy_no": "P2026000123",
        "amount": 8600.0,
    }
    fields.update(over)
    return Registration(**fields)


def registered(ctx: Context, received: datetime, **over: Any) -> str:
    return register(ctx, registration(received_at=received, **over), actor="clerk").number


def accepted(ctx: Context, received: datetime, **over: Any) -> str:
    number = registered(ctx, received, **over)
    a.accept(
        ctx,
        number,
        actor="clerk",
        category="claims",
        product="medical",
        owner="liaison",
        at=received + timedelta(hours=2),
    )
    return number


def notified(ctx: Context, received: datetime, by_branch: bool = False) -> str:
    number = accepted(ctx, received)
    a.investigate(ctx, number, actor="liaison", at=received + timedelta(hours=3))
    a.negotiate(ctx, number, actor="liaison", findings="核实属实", at=received + timedelta(days=1))
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="住院属实",
        basis="保险合同第五条",
        reasons="属于保险责任",
        remedies=["review", "mediation", "arbitration", "litigation"],
        institution="beijing" if by_branch else None,
        at=received + timedelta(days=2),
    )
    a.notify(
        ctx,
        number,
        actor="liaison",
        channel="sms",
        proof="短信回执 20260101",
        at=received + timedelta(days=2, hours=1),
    )
    return number
