"""`tousu notifications dispatch|status|test|digest`: the alert outbox from the command line.

Imports typer and cli helpers only; notifications (and through them Apprise) are imported
inside the commands, so other commands never pay for Apprise.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import AtOpt, JsonOpt, UserOpt, parse_at, session
from states.errors import Forbidden

app = typer.Typer(
    help="提醒与通知: 发送待发提醒、查看发送状态、测试路由。\n\n"
    "示例: tousu notifications status --user zhao.guanli",
    no_args_is_help=True,
)
OPERATORS = ("admin", "supervisor", "system")

DELIVERY_STATUS = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed_over": "已转备用渠道",
    "dead": "已放弃",
}
ALERT_STATUS = {
    "pending": "待分发",
    "routed": "已分发",
    "sent": "已送达",
    "duplicate": "重复(已随同一事件送达)",
}


def _operator(s: Any) -> None:
    if s.role not in OPERATORS:
        raise Forbidden("只有主管或系统管理员可以操作提醒发送")


@app.command("dispatch", epilog="示例: tousu notifications dispatch --user zhao.guanli")
def dispatch(
    limit: Annotated[int | None, typer.Option(help="本次最多发送条数")] = None,
    at: AtOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """发送到期的待发提醒 (重试、退避、备用渠道、免打扰时段), 逐条记录结果。"""
    from cli import output
    from notifications.dispatch import dispatch as run

    with session(user) as s:
        _operator(s)
        report = run(s.ctx, now=parse_at(at, s.ctx.tz), limit=limit)
        body = vars(report)
        if as_json:
            output.emit_json(body, s.ctx.tz)
        else:
            typer.echo(
                f"成功 {report.sent} 条, 失败 {report.failed} 条, 渠道故障暂缓 {report.held} 条, "
                f"免打扰顺延 {report.deferred} 条, 无匹配渠道 {report.unrouted} 条, "
                f"转备用渠道 {report.failed_over} 条 ({report.seconds:.1f} 秒)"
            )
            for gone in report.unavailable:
                typer.echo(f"渠道不可用(已跳过, 请设置密钥): {gone}", err=True)
        if report.unavailable:  # a configuration problem, though the other channels sent
            raise typer.Exit(6)
        if report.failed or report.unrouted:
            raise typer.Exit(1)


@app.command("status", epilog="示例: tousu notifications status --user wang.zhuguan")
def status(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """发送状态: 提醒与投递计数、各渠道健康、故障与转备用的投递、无匹配渠道的提醒。"""
    from cli import output
    from notifications.status import status as read

    with session(user) as s:
        _operator(s)
        st = read(s.ctx)
        if as_json:
            output.emit_json(st, s.ctx.tz)
            _exit_for(st)
            return
        con = output.console()
        con.print(
            "提醒: "
            + (
                ", ".join(f"{ALERT_STATUS.get(k, k)} {v}" for k, v in sorted(st["alerts"].items()))
                or "无"
            )
        )
        con.print(
            "投递: "
            + (
                ", ".join(
                    f"{DELIVERY_STATUS.get(k, k)} {v}" for k, v in sorted(st["deliveries"].items())
                )
                or "无"
            )
        )
        t = output.table(
            "渠道", ["渠道", "连续失败", "累计成功", "累计失败", "最近成功", "最近失败", "最近错误"]
        )
        for c in st["channels"]:
            t.add_row(
                c["label"],
                str(c["consecutive_failures"]),
                str(c["total_sent"]),
                str(c["total_failed"]),
                output.fmt_time(c["last_ok_at"], s.ctx.tz),
                output.fmt_time(c["last_failure_at"], s.ctx.tz),
                (c["last_error"] or "")[:60],
                style="red" if c["consecutive_failures"] else None,
            )
        con.print(t)
        if st["troubled"]:
            t = output.table(
                "故障投递", ["投递", "提醒", "渠道", "状态", "尝试", "下次尝试", "错误"]
            )
            for d in st["troubled"]:
                t.add_row(
                    str(d["id"]),
                    str(d["outbox_id"]),
                    d["channel_label"],
                    DELIVERY_STATUS.get(d["status"], d["status"]),
                    str(d["attempts"]),
                    output.fmt_time(d["next_attempt_at"], s.ctx.tz),
                    (d["last_error"] or "")[:60],
                )
            con.print(t)
        for u in st["unrouted"]:
            con.print(f"[yellow]无匹配渠道[/yellow] 提醒 {u['id']} {u['kind']} → {u['audience']}")
        conf = st["configured"]
        con.print(f"路由文件 {conf['file']}: 可用渠道 {len(conf['usable'])} 个")
        if conf["error"]:
            con.print(f"[red]路由文件不可用[/red]: {conf['error']}")
        for gone in conf["unavailable"]:
            con.print(
                f"[red]渠道不能发送[/red] {gone['service']}:// (标签 {', '.join(gone['tags'])}): "
                f"请设置 {', '.join(gone['missing'])}(环境变量或 [notifications] secrets_file)"
            )
        _exit_for(st)


def _exit_for(st: dict[str, Any]) -> None:
    """6 when a configured channel cannot send (a secret to set, an unreadable routing
    file), 1 while a channel fails, a delivery failed over or an alert has no channel."""
    conf = st["configured"]
    if conf["error"] or conf["unavailable"]:
        raise typer.Exit(6)
    failing = [c for c in st["channels"] if c["consecutive_failures"]]
    if failing or st["troubled"] or st["unrouted"]:
        raise typer.Exit(1)


@app.command(
    "test",
    epilog="示例: tousu notifications test role:team_lead --user zhao.guanli\n\n"
    "tousu notifications test --all --user zhao.guanli",
)
def test(
    tag: Annotated[
        str | None, typer.Argument(help="路由标签, 如 role:team_lead、level:3、supervisors")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="向路由文件中的每个渠道各发一条")] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """向一个标签的全部渠道 (或 --all: 每个渠道) 发送测试消息, 逐个渠道报告结果。"""
    from cli import output
    from notifications.status import send_test
    from states.errors import InvalidInput

    if not all_ and not tag:
        raise InvalidInput("tag", "请给出路由标签, 或用 --all 测试全部渠道")
    with session(user) as s:
        _operator(s)
        results = send_test(s.ctx, None if all_ else tag)
        tag = tag or "全部渠道"
        if as_json:
            output.emit_json({"tag": tag, "channels": [vars(r) for r in results]}, s.ctx.tz)
        else:
            if not results:
                typer.echo(f"标签 {tag} 没有配置任何渠道 (路由文件见 [notifications] apprise_file)")
            for r in results:
                mark = "成功" if r.ok else f"失败: {r.error}"
                typer.echo(f"{r.label} (优先级 {r.priority}): {mark} ({r.seconds:.2f} 秒)")
        if any(r.channel_id == "unavailable" for r in results):
            raise typer.Exit(6)  # configuration: a secret of this tag's channels is not set
        if not results or not all(r.ok for r in results):
            raise typer.Exit(1)


@app.command("digest", epilog="示例: tousu notifications digest --user zhao.guanli")
def digest(at: AtOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """为每位主管生成今日待督办汇总 (写入待发提醒, 每人每天一份)。"""
    from cli import output
    from notifications.digest import compose_digests

    with session(user) as s:
        _operator(s)
        made = compose_digests(s.ctx, parse_at(at, s.ctx.tz))
        if as_json:
            output.emit_json({"created": made}, s.ctx.tz)
        else:
            typer.echo(f"新生成每日汇总 {made} 份 (由 tousu notifications dispatch 在工作时间发送)")
