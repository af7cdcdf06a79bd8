"""Demo step (last): a legacy spreadsheet of a few hundred realistic complaints (Faker zh_CN,
13 months) imported in bulk with the example mapping, a few bad rows rejected with reasons,
the imported cases taken through their lifecycle by the service layer at their historical
times, then the report for the last full month and a five-dimension case review."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import select

from config import PROJECT_ROOT
from demo import staff
from demo.data import SHEET_HEADERS, DemoCase, Generator, sheet_row
from demo.staff import BOSS, CLERK, HANDLER
from services.context import Context
from services.intake import importing
from services.lifecycle import actions as a
from services.reporting import case_analysis, reports
from services.reporting.files import produce
from services.reporting.periods import last_full_month
from storage import records
from storage.timeutil import utcnow

ANALYSIS: dict[str, Any] = {
    "background": "长期客户, 对条款理解有误",
    "content": "理赔金额争议",
    "process": "调查、协商、书面告知",
    "rules": "《保险法》第二十三条; 保险合同条款",
    "outcome": "按合同补足差额, 客户接受",
}


def _live(ctx: Context, number: str, case: DemoCase) -> None:
    """Replay the generated timeline through the lifecycle actions at its own times."""
    t, reg = case.timeline, case.registration
    if t.withdrawn:
        a.withdraw(ctx, number, actor=CLERK, reason="投诉人来电撤回", at=t.withdrawn)
        return
    if not t.accepted:
        return
    a.accept(
        ctx,
        number,
        actor=CLERK,
        category=reg.category or "other",
        product=reg.product or "other",
        owner=HANDLER,
        at=t.accepted,
    )
    start = t.accepted + timedelta(hours=1)
    end = t.decided or t.mediated or utcnow() - timedelta(minutes=2)
    if end <= start:
        return
    span = end - start
    a.investigate(ctx, number, actor=HANDLER, at=start)
    if t.escalated:
        a.escalate(
            ctx,
            number,
            actor=HANDLER,
            reason="客户情绪激动, 报主管督办",
            level=1,
            at=start + span * 0.3,
        )
    if t.consulted:
        a.consult(
            ctx,
            number,
            actor=HANDLER,
            reason="疑难投诉, 提请理赔、法律合规会商",
            departments=["claims", "legal"],
            at=start + span * 0.4,
        )
        if t.stage == "consulting":
            return
        a.conclude_consultation(
            ctx, number, actor=HANDLER, resolution="按合同条款处理", at=start + span * 0.6
        )
    else:
        a.negotiate(
            ctx, number, actor=HANDLER, findings="核实材料齐全, 与客户沟通", at=start + span * 0.6
        )
    if t.mediated:
        a.mediate(
            ctx,
            number,
            actor=HANDLER,
            channel="industry",
            organisation="保险行业协会调解委员会",
            at=t.mediated,
        )
        if t.stage == "settled":
            a.settle(
                ctx,
                number,
                actor=HANDLER,
                agreement="调解达成协议, 补付部分费用",
                **ANALYSIS,
                root_cause="条款说明不充分",
                at=t.mediation_ended,
            )
        elif t.mediation_ended:
            a.end_mediation(
                ctx, number, actor=HANDLER, result="调解未达成一致", at=t.mediation_ended
            )
        return
    if not t.decided:
        return
    a.decide(
        ctx,
        number,
        actor=HANDLER,
        facts="经核实, 情况属实",
        basis="保险合同条款",
        reasons="属于保险责任范围",
        remedies=["review", "mediation", "arbitration", "litigation"],
        at=t.decided,
    )
    if t.notified:
        a.notify(ctx, number, actor=HANDLER, channel="sms", proof="短信发送回执", at=t.notified)
    if t.closed and t.stage == "closed":
        a.close(ctx, number, actor=HANDLER, **ANALYSIS, root_cause="理赔时效管理", at=t.closed)


def run(ctx: Context, console: Console, n: int = 400) -> None:
    console.rule(
        "[bold]统计报告: 批量导入历史投诉 → 生命周期 → 月度报告 (Excel + HTML) → 五维度分析"
    )
    staff.seed(ctx)
    now = utcnow()
    tax = ctx.config.taxonomy
    cases = list(Generator(tax, now=now, seed=2026).cases(n))
    sheet = reports.output_dir(ctx) / "imports" / "legacy-sample.csv"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    rows = [sheet_row(c, tax, ctx.tz) for c in cases]
    rows.append(
        [
            "LG-BAD-1",
            "钱多多",
            "110105194912310021",
            "13800001111",
            "北京",
            "退保",
            "退保金额有异议",
            "客户热线",
            "2026-01-05 10:00:00",
            "北京分公司",
            "退保纠纷",
            "普通人寿保险",
            "PL2026",
            "100",
            "",
            "",
            "",
        ]
    )
    rows.append(
        [
            "LG-BAD-2",
            "孙小美",
            "",
            "12345",
            "",
            "理赔",
            "理赔慢",
            "柜面",
            "2026-02-01 09:00:00",
            "上海分公司",
            "理赔纠纷",
            "医疗保险",
            "",
            "",
            "",
            "",
            "",
        ]
    )
    with sheet.open("w", newline="", encoding="utf-8-sig") as fh:
        out = csv.writer(fh)
        out.writerow(SHEET_HEADERS)
        out.writerows(rows)
    mapping = importing.load_mapping(PROJECT_ROOT / "config" / "import_mapping.example.toml")
    res = importing.run(ctx, sheet, mapping, actor=CLERK, batch_size=100)
    console.print(
        f"导入 {sheet.name}: 共 {res.total} 行, 新登记 {res.imported}, 被拒 {res.rejected} "
        f"(原因见 {res.rejects_file}); 重复投诉合并 {res.merged}、关联 {res.linked}; "
        f"监管转办等立即升级 {res.escalated}"
    )
    again = importing.run(ctx, sheet, mapping, actor=CLERK, batch_size=100)
    console.print(
        f"再次导入同一文件: 新登记 {again.imported}, 已导入过 {again.existing} (不会重复登记)"
    )

    refs = {f"legacy:LG{c.index + 1:08d}": c for c in cases}
    with ctx.engine.connect() as conn:
        found = conn.execute(
            select(
                records.COMPLAINT.c.external_ref,
                records.COMPLAINT.c.number,
                records.COMPLAINT.c.state,
            ).where(records.COMPLAINT.c.external_ref.in_(list(refs)))
        ).all()
    closed: list[str] = []
    for ref, number, state in sorted(found, key=lambda r: r[1]):
        if state != "registered":
            continue  # merged into an open case at registration
        case = refs[ref]
        _live(ctx, number, case)
        if case.timeline.stage in ("closed", "settled"):
            closed.append(number)
    console.print(
        f"已按历史时间办理导入的 {len(found)} 件 (受理、调查、会商、调解、决定、告知、办结)"
    )

    period = last_full_month(now.astimezone(ctx.tz).date())
    done = produce(ctx, period, actor=BOSS)
    rep = reports.build(ctx, period, as_of=now)
    s = rep.summary

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x * 100:.1f}%"

    console.print(
        f"{period.title}: 投诉量 {done.volume}, 监管转办 {s['forwarded']:.0f}, "
        f"24 小时受理率 {pct(s['accepted_24h'])}, 15 日内决定 {pct(s['decided_15'])}, "
        f"制度执行偏差率 {pct(s['deviation_rate'])}"
    )
    review = reports.output_dir(ctx) / "case-analysis-demo.xlsx"
    if closed:
        case_analysis.export(ctx, closed[-3:], review, actor=BOSS)
    console.print("[bold green]报告文件:[/bold green]")
    console.print(f"  Excel 工作簿 : {done.excel}")
    console.print(f"  HTML 报告    : {done.html}  (图表内嵌, 离线可看)")
    if closed:
        console.print(f"  五维度案例分析: {review}")
    console.print("  已通知主管 (outbox: report_ready → role:supervisor)")
    console.print(f"  同样可手工生成: tousu report --period {period.label} --user {BOSS}")
