"""`tousu register`, `tousu show ID`, `tousu queue`: the complaint itself and work queues."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from cli.common import JsonOpt, UserOpt, parse_at, parse_date, session

Opt = typer.Option
S = str | None


def _interactive(prompt: bool | None) -> bool:
    if prompt is not None:
        return prompt
    return sys.stdin.isatty() and sys.stdout.isatty()


def register(
    name: Annotated[S, Opt("--name", help="投诉人姓名 / 单位名称")] = None,
    kind: Annotated[str, Opt(help="投诉人类型: person(个人) organisation(单位)")] = "person",
    id_number: Annotated[S, Opt(help="居民身份证号码 (18 位, 校验位)")] = None,
    phone: Annotated[S, Opt(help="联系电话: 手机号或固定电话 (区号-号码)")] = None,
    address: Annotated[S, Opt(help="联系地址 / 单位住所")] = None,
    credit_code: Annotated[S, Opt(help="统一社会信用代码 (单位投诉)")] = None,
    legal_rep: Annotated[S, Opt(help="法定代表人 (单位投诉)")] = None,
    capacity: Annotated[
        str,
        Opt(
            help="投诉人身份: consumer(本人) legal_rep(法定代理人) "
            "agent(受托代理人) heir(继承人) other(其他)"
        ),
    ] = "consumer",
    on_behalf_of: Annotated[S, Opt(help="被代理 / 被继承的消费者姓名")] = None,
    agent_name: Annotated[S, Opt(help="代理人姓名")] = None,
    agent_phone: Annotated[S, Opt(help="代理人电话")] = None,
    agent_id_number: Annotated[S, Opt(help="代理人身份证号码")] = None,
    power_of_attorney: Annotated[S, Opt(help="授权委托书 (编号或存档位置)")] = None,
    heir: Annotated[list[str] | None, Opt(help="其他继承人姓名 (可重复)")] = None,
    institution: Annotated[S, Opt(help="被投诉机构名称")] = None,
    branch: Annotated[str, Opt(help="被投诉机构所属分支, 如 beijing")] = "head_office",
    employee_name: Annotated[S, Opt(help="被投诉员工姓名")] = None,
    employee_no: Annotated[S, Opt(help="被投诉员工工号")] = None,
    claim: Annotated[S, Opt(help="投诉请求")] = None,
    facts: Annotated[S, Opt(help="主要事实")] = None,
    basis: Annotated[S, Opt(help="相关依据")] = None,
    policy_no: Annotated[S, Opt(help="保单号")] = None,
    amount: Annotated[S, Opt(help="涉及金额 (元)")] = None,
    category: Annotated[S, Opt(help="投诉类别代码或名称 (config/taxonomy.toml)")] = None,
    product: Annotated[S, Opt(help="险种代码或名称 (config/taxonomy.toml)")] = None,
    channel: Annotated[
        S,
        Opt(
            help="投诉渠道: hotline counter online letter email "
            "regulator(12378/监管转办) media other"
        ),
    ] = None,
    received_at: Annotated[
        S,
        Opt(
            "--received-at", "--at", help="本机构收到时间 (ISO, 不带时区按 Asia/Shanghai; 默认现在)"
        ),
    ] = None,
    regulator_ref: Annotated[S, Opt(help="监管转办编号 (12378 等)")] = None,
    forwarded_on: Annotated[S, Opt(help="监管转办日期 (YYYY-MM-DD)")] = None,
    group_size: Annotated[int, Opt(help="投诉人数 (群体投诉)")] = 1,
    media: Annotated[bool, Opt("--media/--no-media", help="是否涉及舆情")] = False,
    vulnerable: Annotated[
        bool, Opt("--vulnerable/--not-vulnerable", help="特殊群体消费者 (老年人、残疾人等)")
    ] = False,
    major: Annotated[bool, Opt("--major-designated", help="监管认定的重大投诉")] = False,
    external_ref: Annotated[S, Opt(help="外部编号 (去重)")] = None,
    prompt: Annotated[
        bool | None,
        Opt("--prompt/--no-prompt", help="缺少的必填项是否交互询问 (默认: 在终端中询问)"),
    ] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """登记一件投诉 (第十三条): 投诉人、被投诉机构和人员、请求、事实和依据。"""
    from services.lifecycle.registration import Person, Registration
    from services.lifecycle.registration import register as do_register

    values = {"name": name, "phone": phone, "claim": claim, "facts": facts, "channel": channel}
    if _interactive(prompt):
        labels = {
            "name": "投诉人姓名/名称",
            "phone": "联系电话",
            "claim": "投诉请求",
            "facts": "主要事实",
            "channel": "投诉渠道 (hotline/counter/online/letter/email/regulator/media/other)",
        }
        for key, label in labels.items():
            if not values[key] and not (key == "phone" and address):
                values[key] = typer.prompt(label)
        if values["channel"] == "regulator" and not regulator_ref:
            regulator_ref = typer.prompt("监管转办编号")
    with session(user) as s:
        tz = s.ctx.tz
        extra: dict[str, Any] = {}
        if on_behalf_of:
            extra["on_behalf_of"] = on_behalf_of
        if heir:
            extra["heirs"] = heir
        agent = None
        if agent_name or agent_phone or agent_id_number:
            agent = Person(name=agent_name or "", phone=agent_phone, id_number=agent_id_number)
        reg = Registration(
            complainant=Person(
                name=values["name"] or "",
                kind=kind,
                id_number=id_number,
                phone=values["phone"],
                address=address,
                credit_code=credit_code,
                legal_rep=legal_rep,
            ),
            claim=values["claim"] or "",
            facts=values["facts"] or "",
            channel=values["channel"] or "",
            received_at=parse_at(received_at, tz, "received_at"),
            capacity=capacity,
            agent=agent,
            power_of_attorney=power_of_attorney,
            basis=basis,
            institution=institution,
            branch=branch,
            employee_name=employee_name,
            employee_no=employee_no,
            policy_no=policy_no,
            amount=amount,  # type: ignore[arg-type]
            category=category,
            product=product,
            regulator_ref=regulator_ref,
            regulator_forwarded_on=parse_date(forwarded_on, tz, "forwarded_on"),
            group_size=group_size,
            media_involved=media,
            vulnerable=vulnerable,
            major_designated=major,
            external_ref=external_ref,
            extra=extra,
        )
        done = do_register(s.ctx, reg, actor=s.username)
        from services.lifecycle.queries import deadlines_of

        deadlines = deadlines_of(s.ctx, done.number)
        if as_json:
            from cli.output import emit_json

            body: dict[str, Any] = {
                "number": done.number,
                "id": done.id,
                "state": done.state,
                "event_id": done.event_id,
                "deadlines": deadlines,
            }
            rep = done.repeat
            if rep is not None and rep.kind != "none":
                body["repeat"] = {
                    "kind": rep.kind,
                    "master": rep.master,
                    "target": rep.target,
                    "matched_on": list(rep.matched_on),
                }
            emit_json(body, tz)
            return
        from cli.output import fmt_due
        from states.lifecycle import State

        typer.echo(f"已登记投诉 {done.number} (状态: {State(done.state).label})")
        rep = done.repeat
        if rep is not None and rep.kind == "merged":
            typer.echo(f"  重复投诉: 已合并至在办投诉 {rep.target} (第十八条第三款)")
        elif rep is not None and rep.kind == "linked":
            typer.echo(f"  重复投诉: 已关联至主投诉 {rep.master}")
        for d in deadlines:
            typer.echo(
                f"  {s.ctx.config.deadlines[d['name']].label}: {fmt_due(d['due'], tz)}"
                + ("" if d["verified"] else " (日历未核实)")
            )


REGISTER_EXAMPLE = (
    "示例: tousu register --name 赵六 --phone 13800138000 "
    "--id-number 11010519491231002X --claim 要求赔付医疗费用 "
    "--facts '住院后申请理赔, 30 日未获答复' --channel hotline "
    "--policy-no P2026000123 --amount 8600 --branch beijing --user zhang.shouli"
)


def show(
    number: Annotated[str, typer.Argument(help="投诉编号, 如 TS202603020000001")],
    reveal: Annotated[
        bool, Opt("--reveal", help="显示完整个人信息 (仅受理员、投诉对接人、主管; 记入事件日志)")
    ] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """查看一件投诉: 时限、升级级别、当事人 (默认脱敏) 和事件时间线。"""
    from services.lifecycle.queries import complaint_view

    with session(user) as s:
        view = complaint_view(s.ctx, number, actor=s.user, reveal=reveal)
        if as_json:
            from cli.output import emit_json

            emit_json(show_json(view), s.ctx.tz)
        else:
            from cli.render import print_case

            print_case(s.ctx, view)


def show_json(view: dict[str, Any]) -> dict[str, Any]:
    from storage.timeutil import from_db

    case = view["case"]
    keep = (
        "id",
        "number",
        "state",
        "version",
        "priority",
        "priority_reasons",
        "category",
        "product",
        "channel",
        "branch",
        "owner",
        "registered_by",
        "escalation_level",
        "extension_level",
        "complainant_capacity",
        "employee_name",
        "employee_no",
        "claim",
        "facts",
        "basis",
        "policy_no",
        "amount",
        "regulator_forwarded",
        "regulator_ref",
        "group_size",
        "media_involved",
        "vulnerable",
        "external_ref",
    )
    times = (
        "received_at",
        "registered_at",
        "accepted_at",
        "decided_at",
        "notified_at",
        "closed_at",
        "regulator_forwarded_on",
    )
    body = {k: case.get(k) for k in keep}
    body.update({k: from_db(case.get(k)) for k in times})
    events = [
        {
            k: e.get(k)
            for k in (
                "id",
                "seq",
                "action",
                "from_state",
                "to_state",
                "actor",
                "role",
                "reason",
                "details",
            )
        }
        | {"at": from_db(e["at"]), "recorded_at": from_db(e["recorded_at"])}
        for e in view["events"]
    ]
    return {
        "complaint": body,
        "institution": view["institution"],
        "deadlines": view["deadlines"],
        "parties": view["parties"],
        "masked": view["masked"],
        "allowed_actions": view["allowed_actions"],
        "events": events,
        "opinion_tasks": [
            {k: t.get(k) for k in ("kind", "owner", "status", "source", "outcome", "done_by")}
            | {"opened_at": from_db(t["opened_at"]), "done_at": from_db(t.get("done_at"))}
            for t in view.get("opinion_tasks", [])
        ],
    }


def queue(
    scope: Annotated[
        str, Opt(help="范围: mine(我的) team(本组) branch(本机构) all(全部); 非 mine 仅限主管")
    ] = "mine",
    team: Annotated[S, Opt(help="小组 (scope=team; 默认本人所在组)")] = None,
    branch: Annotated[S, Opt(help="机构代码 (筛选; scope=branch 时默认本人机构)")] = None,
    handler: Annotated[S, Opt(help="负责人用户名 (主管)")] = None,
    state: Annotated[list[str] | None, Opt(help="状态代码 (可重复), 默认全部在办状态")] = None,
    priority: Annotated[S, Opt(help="优先级: normal(一般) key(重点) major(重大)")] = None,
    category: Annotated[S, Opt(help="投诉类别代码或名称")] = None,
    limit: Annotated[int, Opt(help="最多显示条数", min=1, max=10_000)] = 50,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """工作队列: 按最近时限排序; 今日到期黄色, 已超时红色。"""
    from services.lifecycle.queries import queue as load_queue

    with session(user) as s:
        found = load_queue(
            s.ctx,
            actor=s.user,
            scope=scope,
            team=team,
            branch=branch,
            handler=handler,
            states=state,
            priority=priority,
            category=category,
            limit=limit,
        )
        from services.casefile.quiet import quiet_days

        quiet = quiet_days(s.ctx, found["items"])
        for item in found["items"]:  # days without a contact with the complainant (Art. 17)
            item["days_without_contact"] = quiet.get(item["id"])
        if as_json:
            from cli.output import emit_json

            emit_json(found, s.ctx.tz)
        else:
            from cli.render import print_queue

            print_queue(s.ctx, s.user, found)


EPILOGS = {
    "register": REGISTER_EXAMPLE,
    "show": "示例: tousu show TS202603020000001 --user li.duijie\n\n"
    "      tousu show TS202603020000001 --reveal --json --user li.duijie",
    "queue": "示例: tousu queue --user li.duijie\n\n"
    "      tousu queue --scope branch --branch beijing --priority key --user wang.zhuguan",
}


def command(name: str) -> Any:
    """The click command `name` (cli.main builds commands on first use)."""
    from cli.common import build

    return build({"register": register, "show": show, "queue": queue}[name], name, EPILOGS[name])
