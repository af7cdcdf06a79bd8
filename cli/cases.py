"""`tousu register`, `tousu show ID`, `tousu queue`: the complaint itself and work queues."""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Any

import typer

from cli.common import JsonOpt, UserOpt, session
from states.fields import Field, Kind

Opt = typer.Option
S = str | None


def _interactive(prompt: bool | None) -> bool:
    if prompt is not None:
        return prompt
    return sys.stdin.isatty() and sys.stdout.isatty()


# `tousu register`'s options are the registration's declared fields (states/intake_fields.py),
# as the workspace's form and the API's schema are: one option per field, its flag the field's
# `option` or `--name`. Extra spellings kept for those who type them:
REGISTER_ALIASES = {"received_at": ("--received-at", "--at")}
# Asked for when missing at a terminal (`--prompt`), in this order.
PROMPTED = ("name", "phone", "claim", "facts", "channel")


def _register_option(f: Field) -> tuple[Any, Any]:
    """(annotation, default) of the parameter Typer turns into the field's option."""
    names = REGISTER_ALIASES.get(f.name, (f.flag_name,))
    # No range here: registration checks it and names the field with its reason (人数 ...).
    option = Opt(*names, help=f.help or f.label)
    if f.kind is Kind.flag:
        return Annotated[bool, option], bool(f.default)
    if f.kind is Kind.many:
        return Annotated[list[str] | None, option], None
    if f.kind is Kind.integer:
        return Annotated[int, option], f.default if f.default is not None else 0
    if f.default is not None:
        return Annotated[str, option], f.default
    return Annotated[S, option], None


def _register(
    prompt: bool | None = None,
    user: str | None = None,
    as_json: bool = False,
    **given: Any,
) -> None:
    """登记一件投诉 (第十三条): 投诉人、被投诉机构和人员、请求、事实和依据。"""
    from services.intake.form import registration_of
    from services.lifecycle.registration import register as do_register
    from states.errors import InvalidInput
    from states.intake_fields import BY_NAME

    if _interactive(prompt):
        for key in PROMPTED:
            if not given.get(key) and not (key == "phone" and given.get("address")):
                f = BY_NAME[key]
                codes = "/".join(f.choices) if isinstance(f.choices, dict) else ""
                if key == "channel":
                    codes = "hotline/counter/online/letter/email/regulator/media/other"
                given[key] = typer.prompt(f"{f.label} ({codes})" if codes else f.label)
        if given.get("channel") == "regulator" and not given.get("regulator_ref"):
            given["regulator_ref"] = typer.prompt(BY_NAME["regulator_ref"].label)
    with session(user) as s:
        tz = s.ctx.tz
        try:
            reg = registration_of(given, tz=tz)
        except InvalidInput as exc:  # a value unreadable as typed: named by its flag
            typed = BY_NAME.get(exc.field)
            if typed is None or not typed.option or "/" in typed.option:
                raise
            flag = typed.option.removeprefix("--").replace("-", "_")
            raise InvalidInput(flag, exc.reason) from None
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


def _register_command() -> Any:
    """`_register` with the signature Typer reads: one option per declared field, then
    --prompt, --user and --json."""
    from states.intake_fields import REGISTRATION_FIELDS

    def register(**kw: Any) -> None:
        _register(**kw)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = []
    for f in REGISTRATION_FIELDS:
        annotation, default = _register_option(f)
        params.append(inspect.Parameter(f.name, keyword, annotation=annotation, default=default))
    prompt_opt = Opt("--prompt/--no-prompt", help="缺少的必填项是否交互询问 (默认: 在终端中询问)")
    for name, annotation, default in (
        ("prompt", Annotated[bool | None, prompt_opt], None),
        ("user", UserOpt, None),
        ("as_json", JsonOpt, False),
    ):
        params.append(inspect.Parameter(name, keyword, annotation=annotation, default=default))
    register.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    register.__annotations__ = {p.name: p.annotation for p in params}
    register.__doc__ = _register.__doc__
    return register


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

    if name == "register":
        return build(_register_command(), name, EPILOGS[name])
    return build({"show": show, "queue": queue}[name], name, EPILOGS[name])
