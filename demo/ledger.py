"""Demo step: repeat complaints merged and linked at registration, the ledger (台账) refreshed
and exported to Excel, satisfaction callbacks (回访) scheduled and recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from demo import staff
from demo.staff import BOSS, CLERK, HANDLER
from services.automatic import callbacks, ledger
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle import queries
from services.lifecycle.registration import Person, Registration, register
from services.reporting import ledger_export
from states import ledger as rules
from states.lifecycle import State
from storage.timeutil import local, utcnow

ANALYSIS: dict[str, Any] = {
    "background": "退休人员, 女, 68 岁",
    "content": "重疾险理赔被拒",
    "process": "调取病历、核实既往症",
    "rules": "保险合同第八条; 《保险法》第十六条",
    "outcome": "维持拒赔, 解释条款",
}


def _reg(who: Person, received: datetime, facts: str, **over: object) -> Registration:
    fields: dict[str, object] = {
        "complainant": who,
        "claim": "要求按重疾险合同赔付 30 万元",
        "facts": facts,
        "channel": "hotline",
        "branch": "beijing",
        "institution": "北京分公司",
        "policy_no": "P2025088123",
        "amount": 300000.0,
        "received_at": received,
    }
    fields.update(over)
    return Registration(**fields)  # type: ignore[arg-type]


def _decide_notify(ctx: Context, number: str, t: datetime) -> None:
    a.accept(
        ctx,
        number,
        actor=CLERK,
        category="claims",
        product="critical_illness",
        owner=HANDLER,
        at=t + timedelta(hours=2),
    )
    a.investigate(ctx, number, actor=HANDLER, at=t + timedelta(hours=3))
    a.negotiate(
        ctx, number, actor=HANDLER, findings="病历显示投保前已确诊", at=t + timedelta(days=1)
    )
    a.decide(
        ctx,
        number,
        actor=HANDLER,
        facts="投保前已确诊, 未如实告知",
        basis="合同第八条",
        reasons="不属于保险责任",
        remedies=["review", "mediation", "litigation"],
        institution="beijing",
        at=t + timedelta(days=3),
    )
    a.notify(
        ctx,
        number,
        actor=HANDLER,
        channel="phone",
        proof="通话录音 CALL-5521",
        at=t + timedelta(days=3, hours=1),
    )


def run(ctx: Context, console: Console) -> None:
    console.rule("[bold]重复投诉合并与关联 · 台账 · 满意度回访")
    staff.seed(ctx)
    now = utcnow()
    zhou = Person(name="周桂兰", phone="13911112222", id_number="11010519491231002X")

    # 1. The first complaint: decided, notified (a callback is scheduled), closed.
    t_a = now - timedelta(days=40)
    first = register(
        ctx, _reg(zhou, t_a, "重疾险理赔被拒, 认为业务员未提示告知义务"), actor=CLERK
    ).number
    _decide_notify(ctx, first, t_a)
    a.close(
        ctx,
        first,
        actor=HANDLER,
        **ANALYSIS,
        root_cause="销售环节告知提示不足",
        at=t_a + timedelta(days=4),
    )
    # 2. She comes back after the case closed: a new case, linked to the first.
    second = register(
        ctx, _reg(zhou, now - timedelta(days=10), "对拒赔结论不服, 提供业务员聊天记录"), actor=CLERK
    )
    a.accept(
        ctx,
        second.number,
        actor=CLERK,
        category="claims",
        product="critical_illness",
        owner=HANDLER,
        at=now - timedelta(days=10) + timedelta(hours=1),
    )
    # 3. Again while that case is being handled: merged into it; new facts restart its clock.
    third = register(
        ctx, _reg(zhou, now - timedelta(days=3), "补充: 业务员曾口头承诺既往症可赔"), actor=CLERK
    )
    # 4. The regulator forwards her complaint: linked, never merged, counted on its own.
    fourth = register(
        ctx,
        _reg(
            zhou,
            now - timedelta(days=2),
            "12378 转办: 重疾险拒赔",
            channel="regulator",
            regulator_ref="12378-2026-1120-0042",
        ),
        actor=CLERK,
    )
    t = Table(title="周桂兰的四次投诉")
    for col in ("投诉编号", "渠道", "识别结果", "主投诉", "当前状态"):
        t.add_column(col)

    def state(number: str) -> str:
        return State(queries.get_complaint(ctx, number)["case"]["state"]).label

    t.add_row(first, "客服热线", "首次投诉", "—", state(first))
    rows = []
    for reg, channel in ((second, "客服热线"), (third, "客服热线"), (fourth, "监管转办")):
        rep = reg.repeat
        assert rep is not None
        what = {
            "merged": f"合并至 {rep.target}" + ("(新事实, 重新计时)" if rep.new_facts else ""),
            "linked": "另立新案并关联",
        }.get(rep.kind, "非重复")
        rows.append((reg.number, channel, what, rep.master or "—"))

    # 5. Nightly refresh: backlog, owner, joint consultation; the owner records measures.
    summary = ledger.refresh(ctx)
    [matter] = [m for m in ledger.list_matters(ctx) if m["master"] == first]
    ledger.update_matter(
        ctx, matter["code"], actor=BOSS, owner=HANDLER, resolution_class="hardship"
    )
    ledger.update_matter(
        ctx,
        matter["code"],
        actor=HANDLER,
        measure="assist",
        note="投诉人患病、家庭困难, 协调公司关爱基金慰问",
    )
    ledger.update_matter(
        ctx,
        matter["code"],
        actor=HANDLER,
        measure="industry_mediation",
        note="建议申请保险行业协会调解",
    )
    matter = ledger.show(ctx, matter["code"])["matter"]
    for row in rows:
        t.add_row(*row, state(row[0]))
    console.print(t)
    path = ledger_export.export(ctx)
    console.print(
        f"台账 {matter['code']}: {rules.MATTER_KINDS[matter['kind']]}, 投诉 "
        f"{matter['complaint_count']} 次(单独计数 {matter['case_count']} 件, 监管转办 "
        f"{matter['regulator_count']} 件), 责任人 {matter['owner']}, 化解分类 "
        f"{rules.RESOLUTION_CLASSES[matter['resolution_class']]}; 提请会商: "
        f"{'、'.join(summary['consulted']) or '无'}"
    )
    console.print(f"台账已导出 Excel: {path}")

    # 6. Callbacks: the first case's callback, unreachable once, then reached.
    cb = callbacks.for_complaint(ctx, first)[0]
    callbacks.record(
        ctx, cb["id"], actor=HANDLER, reached=False, at=cb["due_at"] + timedelta(hours=1)
    )
    retry = callbacks.for_complaint(ctx, first)[1]
    callbacks.record(
        ctx,
        retry["id"],
        actor=HANDLER,
        reached=True,
        satisfaction="basically_satisfied",
        nps=6,
        note="理解结论, 希望尽快调解",
        at=retry["due_at"] + timedelta(hours=2),
    )
    # Another complainant, dissatisfied at the callback: the case reopens (configuration).
    sun = Person(name="孙建华", phone="13722223333")
    t_f = now - timedelta(days=14)
    other = register(
        ctx, _reg(sun, t_f, "车险定损金额过低", policy_no="P2026033001"), actor=CLERK
    ).number
    _decide_notify(ctx, other, t_f)
    cb_f = callbacks.for_complaint(ctx, other)[0]
    done = callbacks.record(
        ctx,
        cb_f["id"],
        actor=HANDLER,
        reached=True,
        satisfaction="dissatisfied",
        nps=2,
        note="认为定损偏低",
        at=min(cb_f["due_at"] + timedelta(hours=1), utcnow()),
    )
    # And one just notified: its callback is scheduled a few working days ahead.
    chen = Person(name="陈敏", phone="13633334444")
    fresh = register(
        ctx,
        _reg(chen, now - timedelta(days=3, hours=5), "退保金额计算有误", policy_no="P2026044001"),
        actor=CLERK,
    ).number
    _decide_notify(ctx, fresh, now - timedelta(days=3, hours=5))
    sweep = callbacks.sweep(ctx)

    t = Table(title="满意度回访 (北京时间)")
    for col in ("投诉编号", "轮次/次数", "应回访", "状态", "满意度", "NPS", "后续"):
        t.add_column(col)
    for number in (first, other, fresh):
        for cb in callbacks.for_complaint(ctx, number):
            t.add_row(
                number,
                f"{cb['round']}/{cb['attempt']}",
                f"{local(cb['due_at'], ctx.tz):%Y-%m-%d %H:%M}",
                rules.CALLBACK_STATUSES[cb["status"]],
                rules.SATISFACTION.get(cb["satisfaction"] or "", ""),
                "" if cb["nps"] is None else str(cb["nps"]),
                {"retry": "改日重试", "reopen": "重新处理"}.get(cb["outcome"] or "", ""),
            )
    console.print(t)
    console.print(
        f"重复投诉: 1 件合并(重新计时), 2 件关联(含监管转办 1 件, 单独计数); 台账 1 项已导出; "
        f"回访 {len(callbacks.for_complaint(ctx, first)) + 2} 次, 其中不满意 1 件已"
        f"{rules.DISSATISFIED_OUTCOMES.get(done.outcome or '', '处理')}; "
        f"到期提醒 {sweep['alerted']} 条写入发件箱。"
    )
