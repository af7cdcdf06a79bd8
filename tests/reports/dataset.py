"""A small known dataset for the report tests: seven complaints whose every figure for
October 2026 (Asia/Shanghai) is worked out by hand in test_metrics.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from demo.data import resident_id
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.registration import Person, register
from storage import records
from tests.factories import ANALYSIS, cst, registration

AS_OF = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # the instant the tests using it run at


def person(n: int) -> Person:
    return Person(
        name=f"测试{n}",
        phone=f"1380013800{n}",
        id_number=resident_id(__import__("random").Random(n), "110105", date(1960 + n, 1, 1 + n)),
        address="北京市朝阳区",
    )


def _reg(ctx: Context, n: int, received: datetime, **over: object) -> str:
    reg = registration(
        complainant=person(n), received_at=received, policy_no=f"P2026{n:06d}", **over
    )
    return register(ctx, reg, actor="clerk").number


def _accept(
    ctx: Context, number: str, at: datetime, category: str, product: str, owner: str = "liaison"
) -> None:
    a.accept(ctx, number, actor="clerk", category=category, product=product, owner=owner, at=at)


def _decide(ctx: Context, number: str, t0: datetime, days: float, after: int = 3) -> None:
    a.investigate(ctx, number, actor="liaison", at=t0 + timedelta(hours=after))
    a.negotiate(
        ctx, number, actor="liaison", findings="核实属实", at=t0 + timedelta(hours=after + 21)
    )
    a.decide(
        ctx,
        number,
        actor="liaison",
        facts="属实",
        basis="合同第五条",
        reasons="属责任",
        remedies=["review", "mediation"],
        at=t0 + timedelta(days=days),
    )


def build(ctx: Context) -> dict[str, str]:
    out: dict[str, str] = {}
    # A: Beijing, accepted in 2 h, decided on day 5, told and closed.
    t = cst(2026, 10, 5, 10)
    out["A"] = n = _reg(ctx, 1, t, branch="beijing")
    _accept(ctx, n, t + timedelta(hours=2), "claims", "medical")
    _decide(ctx, n, t, 5)
    a.notify(
        ctx, n, actor="liaison", channel="sms", proof="回执", at=t + timedelta(days=5, hours=2)
    )
    a.close(ctx, n, actor="liaison", **ANALYSIS, root_cause="流程", at=t + timedelta(days=6))
    # B: Beijing, forwarded by the regulator, accepted after 30 h (late), decided on day 10.
    t = cst(2026, 10, 10, 10)
    out["B"] = n = _reg(
        ctx, 2, t, branch="beijing", channel="regulator", regulator_ref="12378-0001"
    )
    _accept(ctx, n, t + timedelta(hours=30), "sales", "life")
    _decide(ctx, n, t, 10, after=31)
    # C: Shanghai, accepted in 1 h, still investigating on the as-of day (34 days on).
    t = cst(2026, 10, 20, 10)
    out["C"] = n = _reg(ctx, 3, t, branch="shanghai")
    _accept(ctx, n, t + timedelta(hours=1), "claims", "motor", owner="liaison2")
    a.investigate(ctx, n, actor="liaison2", at=t + timedelta(hours=2))
    # D: Shanghai, a repeat of A (same person and policy), withdrawn within the day.
    t = cst(2026, 10, 25, 10)
    reg = registration(
        complainant=person(1), received_at=t, policy_no="P2026000001", branch="shanghai"
    )
    out["D"] = n = register(ctx, reg, actor="clerk").number
    a.withdraw(ctx, n, actor="clerk", reason="已自行解决", at=t + timedelta(hours=6))
    with ctx.engine.begin() as conn:
        a_id = records.load_case(conn, out["A"])["id"]
        conn.execute(
            update(records.COMPLAINT)
            .where(records.COMPLAINT.c.number == n, records.COMPLAINT.c.linked_to_id.is_(None))
            .values(linked_to_id=a_id)
        )
    # E: September (previous month); consultation, mediation and settlement in October.
    t = cst(2026, 9, 15, 10)
    out["E"] = n = _reg(ctx, 5, t, branch="beijing")
    _accept(ctx, n, t + timedelta(hours=1), "claims", "medical")
    a.investigate(ctx, n, actor="liaison", at=t + timedelta(hours=2))
    a.consult(ctx, n, actor="liaison", reason="疑难", at=cst(2026, 10, 2, 10))
    a.conclude_consultation(ctx, n, actor="liaison", resolution="建议调解", at=cst(2026, 10, 3, 10))
    a.mediate(
        ctx,
        n,
        actor="liaison",
        channel="industry",
        organisation="保险行业协会调解委员会",
        at=cst(2026, 10, 4, 10),
    )
    a.settle(
        ctx,
        n,
        actor="liaison",
        agreement="补付",
        **ANALYSIS,
        root_cause="条款",
        at=cst(2026, 10, 10, 10),
    )
    # F: a year earlier (October 2025), withdrawn the same day.
    t = cst(2025, 10, 8, 10)
    out["F"] = n = _reg(ctx, 6, t, branch="beijing")
    a.withdraw(ctx, n, actor="clerk", reason="误投", at=t + timedelta(hours=1))
    # G: July, still open: backlog at the end of October; escalated in October (level 2).
    t = cst(2026, 7, 1, 10)
    out["G"] = n = _reg(ctx, 7, t, branch="shanghai")
    _accept(ctx, n, t + timedelta(hours=1), "surrender", "life", owner="liaison2")
    a.escalate(ctx, n, actor="liaison2", reason="超期", level=2, at=cst(2026, 10, 15, 10))
    return out


def write_exposure(folder: object) -> None:
    from pathlib import Path

    path = Path(str(folder))
    path.mkdir(parents=True, exist_ok=True)
    (path / "2026-10.csv").write_text(
        "branch,premium_100m,policies,insured_persons\n"
        "beijing,2,40000,50000\nshanghai,1,10000,20000\n",
        encoding="utf-8",
    )
