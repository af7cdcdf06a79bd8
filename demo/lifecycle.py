"""Demo step 1: a database created, realistic complaints registered and taken through their
lifecycle by the service layer, and their named deadlines printed (Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from demo import staff
from demo.staff import CLERK, HANDLER
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle import queries
from services.lifecycle.registration import Person, Registration, register
from states.lifecycle import PRIORITIES, State
from storage.timeutil import local, utcnow

ANALYSIS: dict[str, Any] = {
    "background": "65 岁退休人员, 首次投诉, 对理赔流程不熟悉",
    "content": "住院医疗费用理赔超过 30 日未结案",
    "process": "受理后调查住院资料, 与医院核实, 协商补足赔款",
    "rules": "《保险法》第二十三条; 《银行业保险业消费投诉处理管理办法》第十八条",
    "outcome": "补付赔款 8,600 元, 投诉人表示满意",
}


def run(ctx: Context, console: Console) -> None:
    console.rule("[bold]1. 投诉生命周期: 登记 → 受理 → 调查 → 协商 → 决定 → 告知 → 办结")
    staff.seed(ctx)
    now = utcnow()
    clerk, handler = CLERK, HANDLER
    cases = [
        (
            "赵秀英",
            "13812345678",
            "11010519491231002X",
            "理赔纠纷: 住院医疗费用 30 日未赔付",
            "hotline",
            18,
        ),
        (
            "钱建国",
            "13698765432",
            "320106198001010011",
            "销售纠纷: 分红险销售时承诺保底收益",
            "regulator",
            9,
        ),
        ("孙丽", "021-62345678", None, "退保纠纷: 犹豫期内退保被扣费", "online", 3),
        ("李强", "15900001111", None, "电销扰民: 拒绝后仍每日来电", "hotline", 0),
    ]
    numbers: list[str] = []
    for name, phone, idno, claim, channel, days_ago in cases:
        received = now - timedelta(days=days_ago, hours=2)
        reg = Registration(
            complainant=Person(name=name, phone=phone, id_number=idno, address="北京市朝阳区"),
            claim=claim,
            facts=f"{claim}; 投诉人来电陈述经过并提供材料",
            channel=channel,
            branch="beijing",
            institution="北京分公司",
            policy_no=f"P2026{len(numbers):06d}",
            amount=8600.0 if channel == "hotline" else 52000.0,
            received_at=received,
            regulator_ref="12378-2026-0918" if channel == "regulator" else None,
        )
        numbers.append(register(ctx, reg, actor=clerk).number)

    full, regulator, pending, fresh = numbers
    t0 = now - timedelta(days=18, hours=2)

    def at(hours: float) -> datetime:
        return t0 + timedelta(hours=hours)

    a.accept(ctx, full, actor=clerk, category="claims", product="medical", owner=handler, at=at(3))
    a.investigate(ctx, full, actor=handler, at=at(5))
    a.start_appraisal(
        ctx,
        full,
        actor=handler,
        body="第三方医学鉴定中心",
        complainant_told="2026 电话告知",
        at=at(24),
    )
    a.end_appraisal(ctx, full, actor=handler, result="住院必要性成立", at=at(24 * 4))
    a.negotiate(ctx, full, actor=handler, findings="住院属实, 属保险责任", at=at(24 * 5))
    a.decide(
        ctx,
        full,
        actor=handler,
        facts="住院 12 天, 费用清单齐全",
        basis="保险合同第五条",
        reasons="属于保险责任范围",
        remedies=["review", "mediation", "arbitration", "litigation"],
        institution="beijing",
        at=at(24 * 6),
    )
    a.notify(
        ctx, full, actor=handler, channel="sms", proof="短信网关回执 SMS-88213", at=at(24 * 6 + 1)
    )
    a.close(ctx, full, actor=handler, **ANALYSIS, root_cause="理赔时效考核缺失", at=at(24 * 7))

    t1 = now - timedelta(days=9, hours=2)
    a.accept(
        ctx,
        regulator,
        actor=clerk,
        category="sales",
        product="investment_linked",
        owner=handler,
        at=t1 + timedelta(hours=6),
    )
    a.investigate(ctx, regulator, actor=handler, at=t1 + timedelta(days=1))
    a.extend(
        ctx,
        regulator,
        actor=handler,
        reason="需调取销售录音录像, 案情复杂",
        to=30,
        at=t1 + timedelta(days=2),
    )
    a.accept(
        ctx,
        pending,
        actor=clerk,
        category="surrender",
        product="life",
        owner=handler,
        at=now - timedelta(days=3),
    )

    table = Table(title="投诉及其命名时限 (北京时间)")
    for col in ("投诉编号", "状态", "优先级", "时限", "到期", "状态", "日历核实"):
        table.add_column(col)
    for number in numbers:
        data = queries.get_complaint(ctx, number)
        case = data["case"]
        first = True
        for dl in data["deadlines"]:
            table.add_row(
                number if first else "",
                State(case["state"]).label if first else "",
                PRIORITIES[case["priority"]] if first else "",
                dl["name"],
                f"{local(dl['due'], ctx.tz):%Y-%m-%d %H:%M}",
                dl["status"],
                "是" if dl["verified"] else "否(未核实)",
            )
            first = False
    console.print(table)
    console.print(f"已登记 {len(numbers)} 件投诉; 一件走完全流程办结, 一件监管转办已延长至 30 日。")
