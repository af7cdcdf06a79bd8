"""One subcommand per lifecycle action (states/lifecycle.py ACTIONS), each calling the service
function of the same name in services/actions.py. Roles, states, guards and deadlines are
checked there; this module only turns flags into arguments and prints the result."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import AtOpt, JsonOpt, UserOpt, VersionOpt, parse_at, session

Num = Annotated[str, typer.Argument(help="投诉编号")]
Opt = typer.Option
ANALYSIS_HELP = "五维度分析 (seed 000)"

appraisal = typer.Typer(
    add_completion=False,
    help="外部鉴定/检测/评估 (第十八条第二款: 期间不计入处理时限)。\n\n"
    "示例: tousu appraisal start TS... --body 某司法鉴定所 "
    "--complainant-told '2026-03-05 电话告知'",
    no_args_is_help=True,
)
review = typer.Typer(
    add_completion=False,
    help="核查 (第二十条: 分支机构处理决定的复核)。\n\n"
    "示例: tousu review request TS... --request '书面核查申请 2026-03-20'",
    no_args_is_help=True,
)


def _run(
    service: str,
    number: str,
    user: str | None,
    at: str | None,
    expect: int | None,
    as_json: bool,
    **fields: Any,
) -> None:
    from services import actions as svc
    from services.queries import deadlines_of

    with session(user) as s:
        tz = s.ctx.tz
        result = getattr(svc, service)(
            s.ctx, number, actor=s.username, at=parse_at(at, tz), expected_version=expect, **fields
        )
        deadlines = deadlines_of(s.ctx, number)
        if as_json:
            from cli.output import emit_json

            emit_json(
                {
                    "number": result.number,
                    "action": result.action,
                    "from_state": result.from_state,
                    "state": result.state,
                    "version": result.version,
                    "event_id": result.event_id,
                    "deadlines": deadlines,
                },
                tz,
            )
            return
        from cli.output import DEADLINE_STATUS, fmt_due
        from states.lifecycle import ACTIONS_BY_TRIGGER, State

        label = ACTIONS_BY_TRIGGER[result.action].label
        move = (
            f"{State(result.from_state).label} → {State(result.state).label}"
            if result.from_state != result.state
            else f"状态不变: {State(result.state).label}"
        )
        typer.echo(f"投诉 {result.number}: {label}完成 ({move}, 版本 {result.version})")
        for d in deadlines:
            if d["status"] in ("running", "paused"):
                rule = s.ctx.config.deadlines[d["name"]]
                typer.echo(
                    f"  {rule.label}: {fmt_due(d['due'], tz)} ({DEADLINE_STATUS[d['status']]})"
                )


def accept(
    number: Num,
    category: Annotated[str, Opt(help="投诉类别代码或名称, 如 claims / 理赔纠纷")],
    product: Annotated[str, Opt(help="险种代码或名称, 如 medical / 医疗保险")],
    owner: Annotated[str, Opt(help="负责到底的投诉对接人用户名 (首问负责)")],
    priority: Annotated[str | None, Opt(help="人工设定优先级 normal/key/major")] = None,
    priority_reason: Annotated[str | None, Opt(help="人工设定优先级的理由")] = None,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """受理: 确定类别、险种和负责人 (受理时限 24 小时)。"""
    _run(
        "accept",
        number,
        user,
        at,
        expect_version,
        as_json,
        category=category,
        product=product,
        owner=owner,
        priority=priority,
        priority_reason=priority_reason,
    )


def assign(
    number: Num,
    owner: Annotated[str, Opt(help="新负责人用户名")],
    reason: Annotated[str, Opt(help="交接理由")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """转派/交接: 首问负责制下只能显式交接。"""
    _run("assign", number, user, at, expect_version, as_json, owner=owner, reason=reason)


def investigate(
    number: Num,
    note: Annotated[str | None, Opt(help="备注")] = None,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """开始调查核实。"""
    _run("investigate", number, user, at, expect_version, as_json, note=note)


def negotiate(
    number: Num,
    findings: Annotated[str, Opt(help="调查核实结果")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """记录调查结果并进入协商。"""
    _run("negotiate", number, user, at, expect_version, as_json, findings=findings)


def appraisal_start(
    number: Num,
    body: Annotated[str, Opt(help="鉴定/检测/评估机构")],
    complainant_told: Annotated[str, Opt(help="告知投诉人的时间和方式")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """开始外部鉴定 (暂停计时, 须告知投诉人)。"""
    _run(
        "start_appraisal",
        number,
        user,
        at,
        expect_version,
        as_json,
        body=body,
        complainant_told=complainant_told,
    )


def appraisal_end(
    number: Num,
    result: Annotated[str, Opt(help="鉴定结论")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """鉴定结束, 恢复计时。"""
    _run("end_appraisal", number, user, at, expect_version, as_json, result=result)


def consult(
    number: Num,
    reason: Annotated[str, Opt(help="提请会商的理由")],
    department: Annotated[list[str] | None, Opt(help="参会部门 (可重复)")] = None,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """提请会商 (疑难、重复投诉)。"""
    _run(
        "consult",
        number,
        user,
        at,
        expect_version,
        as_json,
        reason=reason,
        departments=department or [],
    )


def consult_end(
    number: Num,
    resolution: Annotated[str, Opt(help="会商结论")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """记录会商结论, 回到协商。"""
    _run("conclude_consultation", number, user, at, expect_version, as_json, resolution=resolution)


def new_facts(
    number: Num,
    summary: Annotated[str, Opt(help="新事实或理由摘要")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """补充新事实/理由: 处理时限自收到之日起重新计算 (第十八条第三款)。"""
    _run("new_facts", number, user, at, expect_version, as_json, summary=summary)


def extend(
    number: Num,
    reason: Annotated[str, Opt(help="延长理由 (情况复杂)")],
    approver: Annotated[str | None, Opt(help="延至 60 日的审批人")] = None,
    complainant_told: Annotated[str | None, Opt(help="告知投诉人的时间和方式")] = None,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """延长处理期限: 至 30 日; 再延至 60 日须审批并告知投诉人 (第十八条)。"""
    _run(
        "extend",
        number,
        user,
        at,
        expect_version,
        as_json,
        reason=reason,
        approver=approver,
        complainant_told=complainant_told,
    )


def decide(
    number: Num,
    facts: Annotated[str, Opt(help="核实的情况")],
    basis: Annotated[str, Opt(help="依据")],
    reasons: Annotated[str, Opt(help="理由")],
    remedy: Annotated[
        list[str] | None,
        Opt(help="告知的救济途径 (可重复): review mediation arbitration litigation; 默认全部"),
    ] = None,
    by_branch: Annotated[bool, Opt("--by-branch", help="由分支机构作出 (可申请核查)")] = False,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """作出处理决定 (第十九条: 核实情况、依据和理由、救济途径)。"""
    _run(
        "decide",
        number,
        user,
        at,
        expect_version,
        as_json,
        facts=facts,
        basis=basis,
        reasons=reasons,
        remedies=remedy or ["review", "mediation", "arbitration", "litigation"],
        by_branch=by_branch,
    )


def notify(
    number: Num,
    channel: Annotated[
        str,
        Opt(help="告知方式: letter(书面) sms(短信) email(电子邮件) phone(电话) in_person(当面)"),
    ],
    proof: Annotated[str, Opt(help="告知凭证 (回执、通话记录等)")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """告知处理决定并留存凭证 (第二十一条)。

    提醒发件箱的命令也在这里: tousu notify dispatch | status | test 标签 | digest
    (同 tousu notifications ...)。
    """
    _run("notify", number, user, at, expect_version, as_json, channel=channel, proof=proof)


def review_request(
    number: Num,
    request: Annotated[str, Opt(help="核查申请 (书面, 收到日期)")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """受理核查申请 (分支机构的决定, 30 日内)。"""
    _run("request_review", number, user, at, expect_version, as_json, request=request)


def review_conclude(
    number: Num,
    conclusion: Annotated[str, Opt(help="核查结论 (维持原决定)")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """作出核查决定 (维持); 改变原决定请用 tousu reopen。"""
    _run("conclude_review", number, user, at, expect_version, as_json, conclusion=conclusion)


def mediate(
    number: Num,
    channel: Annotated[
        str, Opt(help="调解渠道: industry(行业调解) people(人民调解) judicial(司法调解)")
    ],
    organisation: Annotated[str, Opt(help="调解组织")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """转调解 (第二十三条: 调解期间不计入处理时限)。"""
    _run(
        "mediate",
        number,
        user,
        at,
        expect_version,
        as_json,
        channel=channel,
        organisation=organisation,
    )


def mediate_end(
    number: Num,
    result: Annotated[str, Opt(help="调解未成的情况")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """调解未成, 恢复计时并回到协商。"""
    _run("end_mediation", number, user, at, expect_version, as_json, result=result)


Background = Annotated[str, Opt(help=f"{ANALYSIS_HELP}: 消费者背景")]
Content = Annotated[str, Opt(help=f"{ANALYSIS_HELP}: 投诉内容")]
Process = Annotated[str, Opt(help=f"{ANALYSIS_HELP}: 处理过程")]
Rules = Annotated[str, Opt(help=f"{ANALYSIS_HELP}: 相关法律法规")]
Outcome = Annotated[str, Opt(help=f"{ANALYSIS_HELP}: 处理结果")]
RootCause = Annotated[str, Opt(help="溯源整改: 根本原因与整改措施")]


def settle(
    number: Num,
    agreement: Annotated[str, Opt(help="调解协议")],
    background: Background,
    content: Content,
    process: Process,
    rules: Rules,
    outcome: Outcome,
    root_cause: RootCause,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """调解成功办结 (记录协议与五维度分析)。"""
    _run(
        "settle",
        number,
        user,
        at,
        expect_version,
        as_json,
        agreement=agreement,
        analysis={
            "background": background,
            "content": content,
            "process": process,
            "rules": rules,
            "outcome": outcome,
        },
        root_cause=root_cause,
    )


def close(
    number: Num,
    background: Background,
    content: Content,
    process: Process,
    rules: Rules,
    outcome: Outcome,
    root_cause: RootCause,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """办结: 五维度分析与溯源整改 (seed 000)。"""
    _run(
        "close",
        number,
        user,
        at,
        expect_version,
        as_json,
        analysis={
            "background": background,
            "content": content,
            "process": process,
            "rules": rules,
            "outcome": outcome,
        },
        root_cause=root_cause,
    )


def withdraw(
    number: Num,
    reason: Annotated[str, Opt(help="撤诉情况 (收到撤诉的方式)")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """撤诉: 自收到撤诉之日起终止办理 (第十五条)。"""
    _run("withdraw", number, user, at, expect_version, as_json, reason=reason)


def decline(
    number: Num,
    explanation: Annotated[str, Opt(help="向投诉人的说明")],
    ground: Annotated[
        str, Opt(help="理由代码: not_entitled (投诉人不具备投诉资格, 唯一法定理由)")
    ] = "not_entitled",
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """不予办理 (第十八条第四款: 仅限投诉人不具备投诉资格)。"""
    _run(
        "decline", number, user, at, expect_version, as_json, ground=ground, explanation=explanation
    )


def merge(
    number: Num,
    into: Annotated[str, Opt(help="并入的在办投诉编号")],
    new_facts: Annotated[bool, Opt("--new-facts", help="带来新事实或理由 (重新计时)")] = False,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """合并重复投诉至在办投诉 (第十八条第三款)。"""
    _run("merge", number, user, at, expect_version, as_json, into=into, new_facts=new_facts)


def reopen(
    number: Num,
    reason: Annotated[str, Opt(help="重新处理的理由")],
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """重新处理 (回访不满意或核查改变原决定; 主管)。"""
    _run("reopen", number, user, at, expect_version, as_json, reason=reason)


def escalate(
    number: Num,
    reason: Annotated[str, Opt(help="升级理由")],
    level: Annotated[int | None, Opt(help="升至的级别 (默认加一级)")] = None,
    at: AtOpt = None,
    expect_version: VersionOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """人工升级。"""
    _run("escalate", number, user, at, expect_version, as_json, reason=reason, level=level)


EX = "TS202603020000001"
COMMANDS: list[tuple[str, Any, str]] = [
    (
        "accept",
        accept,
        f"tousu accept {EX} --category claims --product medical "
        "--owner li.duijie --user zhang.shouli",
    ),
    (
        "assign",
        assign,
        f"tousu assign {EX} --owner wu.duijie --reason 休假交接 --user wang.zhuguan",
    ),
    ("investigate", investigate, f"tousu investigate {EX} --user li.duijie"),
    (
        "negotiate",
        negotiate,
        f"tousu negotiate {EX} --findings 住院属实, 材料齐全 --user li.duijie",
    ),
    (
        "consult",
        consult,
        f"tousu consult {EX} --reason 重复投诉 --department 理赔 "
        "--department 法务 --user li.duijie",
    ),
    ("consult-end", consult_end, f"tousu consult-end {EX} --resolution 同意补付 --user li.duijie"),
    ("new-facts", new_facts, f"tousu new-facts {EX} --summary 补充出院小结 --user li.duijie"),
    ("extend", extend, f"tousu extend {EX} --reason 需调取外院病历 --user li.duijie"),
    (
        "decide",
        decide,
        f"tousu decide {EX} --facts 住院属实 --basis 保险合同第五条 "
        "--reasons 属于保险责任 --user li.duijie",
    ),
    ("notify", notify, f"tousu notify {EX} --channel sms --proof 短信回执 --user li.duijie"),
    (
        "mediate",
        mediate,
        f"tousu mediate {EX} --channel industry --organisation 北京保险行业协会"
        "调解委员会 --user li.duijie",
    ),
    (
        "mediate-end",
        mediate_end,
        f"tousu mediate-end {EX} --result 双方未达成一致 --user li.duijie",
    ),
    (
        "settle",
        settle,
        f"tousu settle {EX} --agreement 调解书 --background 退休教师 "
        "--content 理赔 --process 调解 --rules 保险法 --outcome 补付 "
        "--root-cause 时效管理 --user li.duijie",
    ),
    (
        "close",
        close,
        f"tousu close {EX} --background 退休教师 --content 理赔时效 "
        "--process 调查协商 --rules 保险法第二十三条 --outcome 补足赔款 "
        "--root-cause 理赔时效监控缺失 --user li.duijie",
    ),
    ("withdraw", withdraw, f"tousu withdraw {EX} --reason 投诉人电话撤诉 --user zhang.shouli"),
    ("decline", decline, f"tousu decline {EX} --explanation 投诉人与保单无关 --user li.duijie"),
    ("merge", merge, f"tousu merge {EX} --into TS202603010000009 --user zhang.shouli"),
    ("reopen", reopen, f"tousu reopen {EX} --reason 回访不满意 --user wang.zhuguan"),
    ("escalate", escalate, f"tousu escalate {EX} --reason 涉及舆情 --user li.duijie"),
]


appraisal.command(
    "start",
    epilog=f"示例: tousu appraisal start {EX} --body 某司法鉴定所 "
    "--complainant-told 2026-03-05电话告知 --user li.duijie",
)(appraisal_start)
appraisal.command(
    "end", epilog=f"示例: tousu appraisal end {EX} --result 伤残八级 --user li.duijie"
)(appraisal_end)
review.command(
    "request", epilog=f"示例: tousu review request {EX} --request 书面申请 --user zhang.shouli"
)(review_request)
review.command(
    "conclude", epilog=f"示例: tousu review conclude {EX} --conclusion 维持 --user wang.zhuguan"
)(review_conclude)
GROUPS = {"appraisal": appraisal, "review": review}


def command(name: str) -> Any:
    """The click command `name` (cli.main builds commands on first use)."""
    import typer.main

    from cli.common import build

    if name in GROUPS:
        return typer.main.get_command(GROUPS[name])
    fn, example = next((f, e) for n, f, e in COMMANDS if n == name)
    return build(fn, name, f"示例: {example}")
