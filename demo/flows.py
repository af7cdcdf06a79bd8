"""Demo step: the automatic side. Complaints seeded at varied ages, then the deadline sweep,
the consultation cycle and the mediation cycle run, and a summary of what was escalated,
convened and referred.

The cycles run as Prefect flows in Prefect's local mode (a temporary local server, 5–20 s to
start); `make serve` runs the same flows on their schedules. TOUSU_DEMO_PREFECT=0 calls the
same service functions directly instead, without Prefect."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from demo import staff
from demo.staff import CLERK, HANDLER
from services.automatic import consultation, escalation, mediation
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.registration import Person, Registration, register
from storage import records
from storage.consultation import Consultation
from storage.escalation import Escalation
from storage.mediation_referral import MediationReferral
from storage.schema import table_of
from storage.timeutil import utcnow

ANALYSIS: dict[str, Any] = {
    "background": "个体工商户, 首次投诉",
    "content": "车险理赔金额争议",
    "process": "受理、调查、转行业调解",
    "rules": "《保险法》第二十三条",
    "outcome": "调解达成协议, 补付 3,200 元",
}


def _case(ctx: Context, i: int, received: datetime, claim: str, **over: Any) -> str:
    reg = Registration(
        complainant=Person(
            name=f"演示投诉人{i:02d}", phone=f"1370000{i:04d}", address="北京市海淀区"
        ),
        claim=claim,
        facts=f"{claim}。投诉人来电陈述经过。",
        channel=over.pop("channel", "hotline"),
        branch="beijing",
        institution="北京分公司",
        policy_no=f"PDEMO4{i:05d}",
        amount=over.pop("amount", 6800.0),
        received_at=received,
        **over,
    )
    return register(ctx, reg, actor=CLERK).number


def _accept(ctx: Context, number: str, received: datetime, investigate: bool = True) -> None:
    a.accept(
        ctx,
        number,
        actor=CLERK,
        category="claims",
        product="motor",
        owner=HANDLER,
        at=received + timedelta(hours=3),
    )
    if investigate:
        a.investigate(ctx, number, actor=HANDLER, at=received + timedelta(hours=5))


def seed(ctx: Context) -> dict[str, str]:
    now = utcnow()
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    cases: dict[str, str] = {}
    cases["未受理 30 小时"] = _case(ctx, 1, ago(hours=30), "车险理赔: 定损金额偏低")
    r = ago(days=4)
    cases["受理 4 天"] = n = _case(ctx, 2, r, "医疗险理赔: 材料反复补交")
    _accept(ctx, n, r)
    r = ago(days=10)
    cases["受理 10 天"] = n = _case(ctx, 3, r, "退保纠纷: 退保金计算有异议")
    _accept(ctx, n, r)
    r = ago(days=20)
    cases["受理 20 天(已超时)"] = n = _case(ctx, 4, r, "销售纠纷: 夸大收益")
    _accept(ctx, n, r)
    cases["涉及舆情"] = _case(
        ctx, 5, ago(hours=6), "理赔纠纷: 投诉人在网络发帖", media_involved=True
    )
    r = ago(days=2)
    cases["群体投诉 25 人(重大)"] = n = _case(ctx, 6, r, "团体意外险: 集体拒赔", group_size=25)
    _accept(ctx, n, r)
    cases["监管转办"] = _case(
        ctx,
        7,
        ago(days=1),
        "续保纠纷: 到期未提醒",
        channel="regulator",
        regulator_ref="12378-2026-DEMO",
    )
    r = ago(days=6)
    cases["转调解(新)"] = n = _case(ctx, 8, r, "车险理赔: 维修费用争议")
    _accept(ctx, n, r)
    mediation.refer(ctx, n, actor=HANDLER, channel="industry", at=r + timedelta(days=2))
    r = ago(days=45)
    cases["调解 40 天"] = n = _case(ctx, 9, r, "家财险: 水渍损失认定")
    _accept(ctx, n, r)
    a.mediate(
        ctx,
        n,
        actor=HANDLER,
        channel="people",
        organisation="所在地人民调解委员会",
        at=r + timedelta(days=5),
    )
    r = ago(days=12)
    cases["调解成功"] = n = _case(ctx, 10, r, "车险理赔: 贬值损失")
    _accept(ctx, n, r)
    mediation.refer(ctx, n, actor=HANDLER, channel="industry", at=r + timedelta(days=3))
    mediation.record_result(
        ctx,
        n,
        actor=HANDLER,
        outcome="agreement",
        result="达成调解协议",
        agreement="补付 3,200 元",
        analysis=ANALYSIS,
        root_cause="定损标准解释不足",
        at=r + timedelta(days=9),
    )
    return cases


def _count(ctx: Context, table: Any, **where: Any) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        q = select(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return [dict(r) for r in conn.execute(q).mappings()]


def _run_cycles(ctx: Context, console: Console) -> dict[str, Any]:
    if os.environ.get("TOUSU_DEMO_PREFECT", "1") != "0":
        console.print("通过 Prefect 流程运行 (临时本地服务器) …")
        import flows.runtime  # noqa: F401
        from flows.consultation import consultation_cycle
        from flows.mediation import mediation_cycle
        from flows.runtime import quick_runs
        from flows.sweep import deadline_sweep

        url = ctx.config.database_url
        with quick_runs():
            return {
                "sweep": deadline_sweep(database_url=url),
                "consultation": consultation_cycle(database_url=url),
                "mediation": mediation_cycle(database_url=url),
            }
    s = escalation.sweep(ctx)
    return {
        "sweep": {"claimed": s.claimed, "escalated": s.escalated, "convened": s.convened},
        "consultation": vars(consultation.cycle(ctx)),
        "mediation": vars(mediation.cycle(ctx)),
    }


def run(ctx: Context, console: Console) -> None:
    console.rule("[bold]自动处理: 时限巡检与升级、会商召集、调解转介")
    staff.seed(ctx)
    cases = seed(ctx)
    console.print(f"已按不同时间登记 {len(cases)} 件演示投诉; 运行时限巡检、会商周期、调解周期 …")
    out = _run_cycles(ctx, console)
    again = escalation.sweep(ctx)
    by_id = {}
    with ctx.engine.connect() as conn:
        for label, number in cases.items():
            by_id[records.load_case(conn, number)["id"]] = (label, number)

    table = Table(title="本步骤演示投诉的升级记录 (每件每个时限每级只处理一次)")
    for col in ("投诉", "情形", "时限/触发", "级别", "通知对象"):
        table.add_column(col, no_wrap=col == "投诉", overflow="fold")
    labels = {n: r.label for n, r in ctx.config.deadlines.items()}
    ladder = {lv.code: lv.label for lv in ctx.config.escalation}
    acted = _count(ctx, table_of(Escalation), outcome="acted")
    others = sum(1 for x in acted if x["complaint_id"] not in by_id)
    for x in sorted(acted, key=lambda r: r["id"]):
        if x["complaint_id"] not in by_id:
            continue
        label, number = by_id[x["complaint_id"]]
        trigger = (
            "立即升级"
            if x["deadline_name"] == "immediate"
            else labels.get(x["deadline_name"], x["deadline_name"])
        )
        table.add_row(
            number,
            label,
            trigger,
            f"{x['rank']} {ladder.get(x['level'], x['level'])}",
            x["audience"].replace("role:", ""),
        )
    console.print(table)

    konsult = _count(ctx, table_of(Consultation))
    refs = _count(ctx, table_of(MediationReferral))
    alerts = Counter(r["kind"] for r in _count(ctx, records.OUTBOX))
    reasons = Counter(k["reason_code"] for k in konsult)
    console.print(
        f"时限巡检: 处理 {out['sweep']['claimed']} 条时限, 升级 {out['sweep']['escalated']} 次, "
        f"按时限比例召集会商 {out['sweep']['convened']} 件; "
        f"再次巡检升级 {again.escalated} 次(不重复)。"
    )
    why = {
        "deadline_share": "超过时限比例",
        "major": "重大投诉",
        "manual": "人工提请",
        "repeat": "重复投诉",
        "backlog": "积案",
    }
    console.print(f"前面步骤的投诉另有 {others} 次升级。")
    console.print(
        f"会商: 共 {len(konsult)} 件 ("
        + ", ".join(f"{why.get(k, k)} {v}" for k, v in reasons.items())
        + "), 会议时间均在工作时间内。"
    )
    status = Counter(r["status"] for r in refs)
    console.print(
        f"调解转介: 共 {len(refs)} 件 (进行中 {status['referred']}, 达成协议办结 "
        f"{status['agreed']}, 未成 {status['failed']}); 本次准备转介 "
        f"{out['mediation']['prepared']} 件, 超期跟进 {out['mediation']['followed_up']} 件。"
    )
    console.print("通知待发 (outbox): " + ", ".join(f"{k} {v}" for k, v in sorted(alerts.items())))
