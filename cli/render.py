"""Rich rendering of one complaint and of a work queue (Chinese, Asia/Shanghai)."""

from __future__ import annotations

from typing import Any

import typer

from cli.output import DEADLINE_STATUS, Table, fmt_due, fmt_time, urgency
from services.lifecycle.audit import event_label
from states import lifecycle as lc

PARTY_FIELDS = (
    ("name", "姓名/名称"),
    ("id_number", "证件号码"),
    ("phone", "电话"),
    ("address", "地址"),
    ("legal_rep", "法定代表人"),
)


def _label(options: dict[str, str], code: str | None) -> str:
    return f"{options.get(code, code)}" if code else "-"


def _state(code: str | None) -> str:
    return lc.State(code).label if code else "—"


class _Lines:
    def print(self, text: str) -> None:
        typer.echo(text)


def print_case(ctx: Any, view: dict[str, Any]) -> None:
    from storage.timeutil import utcnow

    tz, tax = ctx.tz, ctx.config.taxonomy
    out = _Lines()
    c = view["case"]
    state = lc.State(c["state"])
    out.print(
        typer.style(f"投诉 {c['number']}", bold=True) + f"  状态: {state.label} ({state.value})  "
        f"优先级: {lc.PRIORITIES.get(c['priority'], c['priority'])}  "
        f"升级级别: {c['escalation_level']}  版本: {c['version']}"
    )
    out.print(
        f"类别: {_label(tax.categories, c['category'])}  险种: "
        f"{_label(tax.products, c['product'])}  渠道: {_label(tax.channels, c['channel'])}"
        f"  机构: {_label(tax.branches, c['branch'])}  负责人: {c['owner'] or '-'}"
    )
    out.print(
        f"收到: {fmt_time(c['received_at'], tz)}  登记人: {c['registered_by']}"
        + (f"  监管转办编号: {c['regulator_ref']}" if c["regulator_ref"] else "")
    )
    if c["priority_reasons"]:
        out.print("优先级依据: " + "; ".join(c["priority_reasons"]))
    out.print(f"投诉请求: {c['claim']}")
    out.print(f"主要事实: {c['facts']}" + (f"\n依据: {c['basis']}" if c["basis"] else ""))
    extras = [
        f"保单号: {c['policy_no']}" if c["policy_no"] else "",
        f"涉及金额: {c['amount']:,.2f} 元" if c["amount"] is not None else "",
        f"人数: {c['group_size']}" if c["group_size"] > 1 else "",
        "涉及舆情" if c["media_involved"] else "",
        "特殊群体" if c["vulnerable"] else "",
    ]
    if any(extras):
        out.print("  ".join(e for e in extras if e))
    who = [view["institution"] or "", c["employee_name"] or "", c["employee_no"] or ""]
    if any(who):
        out.print("被投诉: " + " ".join(w for w in who if w))

    parties = Table(
        "当事人" + (" (已脱敏)" if view["masked"] else " (完整信息, 已记录查看)"),
        ["身份", *[label for _, label in PARTY_FIELDS]],
    )
    for key, party in view["parties"].items():
        role = (
            ("投诉人 · " + _capacity(c["complainant_capacity"]))
            if key == "complainant"
            else "代理人"
        )
        parties.add_row(role, *[str(party.get(f) or "-") for f, _ in PARTY_FIELDS])
    out.print(parties.render())

    now = utcnow()
    dls = Table("时限", ["时限", "状态", "到期", "提示", "日历"])
    for d in view["deadlines"]:
        rule = ctx.config.deadlines.get(d["name"])
        tag, style = urgency(d["due"], now, tz) if d["status"] == "running" else ("", {})
        dls.add_row(
            rule.label if rule else d["name"],
            DEADLINE_STATUS.get(d["status"], d["status"]),
            fmt_due(d["due"], tz),
            tag,
            "已核实" if d["verified"] else "未核实",
            style=style,
        )
    out.print(dls.render())

    events = Table("事件时间线", ["#", "时间", "操作", "状态变化", "操作人", "说明"])
    for e in view["events"]:
        move = (
            f"{_state(e['from_state'])} → {_state(e['to_state'])}"
            if e["from_state"] != e["to_state"]
            else ""
        )
        events.add_row(
            str(e["seq"]),
            fmt_time(e["at"], tz),
            event_label(e["action"]),
            move,
            f"{e['actor']} ({lc.Role(e['role']).label})",
            e["reason"] or "",
        )
    out.print(events.render())
    for task in view.get("opinion_tasks", []):
        done = task["status"] == "done"
        out.print(
            f"舆情风险评估: 负责人 {task['owner'] or '未指定'}, "
            + (f"已完成 ({task['done_by']}): {task['outcome']}" if done else "待完成")
        )
    allowed = view["allowed_actions"]
    out.print(
        "您可执行: "
        + ("、".join(lc.offered(lc.ACTIONS_BY_TRIGGER[a]) for a in allowed) if allowed else "无")
    )


# services.lifecycle.registration.CAPACITIES, repeated so that `show` does not import registration
# (and the repeat/ledger/escalation modules behind it); tests/cli keeps the two equal.
CAPACITIES = {
    "consumer": "消费者本人",
    "legal_rep": "法定代理人",
    "agent": "受托代理人",
    "heir": "继承人",
    "other": "其他",
}


def _capacity(code: str) -> str:
    return CAPACITIES.get(code, code)


def print_queue(ctx: Any, user: dict[str, Any], found: dict[str, Any]) -> None:
    from services.lifecycle.queries import SCOPES
    from storage.timeutil import utcnow

    tz, tax, now = ctx.tz, ctx.config.taxonomy, utcnow()
    t = Table(
        f"工作队列 · {SCOPES[found['scope']]} · {user['name']} "
        f"({len(found['items'])} 件, 按最近时限排序)",
        ["编号", "状态", "优先级", "类别", "机构", "负责人", "最近时限", "到期", "提示"],
    )
    overdue = today = 0
    for r in found["items"]:
        tag, style = urgency(r["nearest_due"], now, tz)
        overdue += tag == "已超时"
        today += tag == "今日到期"
        if r.get("days_without_contact") is not None:
            tag = " ".join(t for t in (tag, f"{r['days_without_contact']} 天未联系") if t)
        if r.get("message_failures"):  # sends to the complainant that keep failing
            tag = " ".join([t for t in (tag,) if t] + list(r["message_failures"]))
        rule = ctx.config.deadlines.get(r["nearest_deadline"] or "")
        t.add_row(
            r["number"],
            lc.State(r["state"]).label,
            lc.PRIORITIES.get(r["priority"], r["priority"]),
            _label(tax.categories, r["category"]),
            _label(tax.branches, r["branch"]),
            r["owner"] or "-",
            rule.label if rule else "-",
            fmt_due(r["nearest_due"], tz),
            tag,
            style=style,
        )
    t.print()
    typer.echo(f"已超时 {overdue} 件, 今日到期 {today} 件")
