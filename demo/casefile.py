"""Demo step: the case file of one complaint: contacts with the complainant (one call without
a recording reference, flagged), an evidence file kept encrypted and verified, a rectification
item that falls overdue and climbs the ladder in the sweep, and the decision notice rendered
as DOCX (and PDF where LibreOffice is installed), posted with its hash as the proof."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console

from demo import staff
from demo.staff import BOSS, CLERK, HANDLER
from services.casefile import contacts, evidence, letters, rectification
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.registration import Person, Registration, register
from storage.timeutil import utcnow


def run(ctx: Context, console: Console) -> None:
    staff.seed(ctx)
    console.rule("[bold]卷宗: 联系记录、证据材料、整改台账与告知书")
    now = utcnow()
    t = now - timedelta(days=40)
    who = Person(name="孙丽华", phone="13911112222", address="北京市海淀区中关村大街 27 号")
    number = register(
        ctx,
        Registration(
            complainant=who,
            claim="要求退还误导销售的分红险保费",
            facts="销售人员承诺保本高收益, 合同条款不符",
            channel="counter",
            branch="beijing",
            policy_no="P2025770001",
            amount=52000.0,
            received_at=t,
        ),
        actor=CLERK,
    ).number
    a.accept(
        ctx,
        number,
        actor=CLERK,
        category="sales",
        product="investment_linked",
        owner=HANDLER,
        at=t + timedelta(hours=1),
    )
    contacts.log(
        ctx,
        number,
        actor=HANDLER,
        channel="phone",
        summary="告知已受理, 请补交宣传材料",
        recording="REC-DEMO-0001",
        at=t + timedelta(hours=2),
    )
    flagged = contacts.log(
        ctx,
        number,
        actor=HANDLER,
        channel="phone",
        summary="约定面谈时间",
        at=t + timedelta(days=2),
    )
    console.print(f"{number}: 联系 2 次, 第二次未登记录音 → 标记 {flagged['unrecorded']}")
    with tempfile.TemporaryDirectory() as tmp:
        leaflet = Path(tmp) / "宣传折页.txt"
        leaflet.write_text("保本保息, 年化收益 6%\n", encoding="utf-8")
        [kept] = evidence.attach(
            ctx, number, [leaflet], actor=HANDLER, kind="other", note="投诉人提供的宣传材料"
        )
    verdicts = [v["verdict"] for v in evidence.verify(ctx, number, actor=HANDLER)]
    console.print(f"证据 #{kept['id']} SHA-256 {kept['sha256'][:16]}… 核验: {verdicts}")
    a.investigate(ctx, number, actor=HANDLER, at=t + timedelta(days=3))
    a.negotiate(ctx, number, actor=HANDLER, findings="宣传材料与条款不符", at=t + timedelta(days=5))
    a.decide(
        ctx,
        number,
        actor=HANDLER,
        facts="销售宣传材料承诺保本收益, 与合同条款不符",
        basis="《保险法》第一百三十一条; 保险合同第三条",
        reasons="销售误导属实, 全额退还保费",
        remedies=["mediation", "arbitration", "litigation"],
        at=t + timedelta(days=8),
    )
    item = rectification.add(
        ctx,
        number,
        actor=HANDLER,
        what="分红险宣传材料统一审核",
        department="sales",
        root_cause="分支机构自制宣传材料未经审核",
        due=(t + timedelta(days=20)).astimezone(ctx.tz).date(),
        now=t + timedelta(days=9),
    )
    swept = rectification.sweep(ctx, now=now)
    console.print(f"整改事项 #{item['id']} 到期未完成, 巡检升级 {swept.escalated} 次")
    out = ctx.config.data_dir / "letters"
    out.mkdir(parents=True, exist_ok=True)
    done = letters.render(ctx, number, "decision", actor=HANDLER, out_dir=out, posted=True)
    for path in done["files"]:
        console.print(f"告知书: {path}")
    if done["pdf_skipped"]:
        console.print(done["pdf_skipped"])
    period = date(now.year, now.month, 1)
    console.print(f"{BOSS} 查看整改完成率: tousu rectify rate --period {period:%Y-%m}")
