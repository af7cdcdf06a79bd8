"""`tousu callback due/record/list`: satisfaction callbacks (回访)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import AtOpt, JsonOpt, UserOpt, parse_at, session

app = typer.Typer(
    help="满意度回访。\n\n示例: tousu callback due --user li.duijie", no_args_is_help=True
)


@app.command("due", epilog="示例: tousu callback due --mine --user li.duijie")
def due(
    mine: Annotated[bool, typer.Option("--mine", help="只看分派给我的")] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """今天 (北京时间) 及之前应回访、尚未记录的回访。"""
    from cli import output
    from services.automatic import callbacks

    with session(user) as s:
        rows = callbacks.due(s.ctx, assignee=s.username if mine else None)
        if as_json:
            output.emit_json({"callbacks": rows}, s.ctx.tz)
            return
        t = output.table("待回访", ["回访号", "投诉编号", "第几次", "应回访时间", "截至", "回访人"])
        for r in rows:
            t.add_row(
                str(r["id"]),
                r["number"],
                str(r["attempt"]),
                output.fmt_time(r["due_at"], s.ctx.tz),
                output.fmt_time(r["window_end_at"], s.ctx.tz),
                r["assignee"] or "未分派",
            )
        output.console().print(t)
        typer.echo(f"共 {len(rows)} 件")


@app.command(
    "record",
    epilog="示例: tousu callback record 12 --reached --satisfaction "
    "satisfied --nps 9 --user li.duijie",
)
def record(
    callback_id: Annotated[int, typer.Argument(help="回访号 (tousu callback due)")],
    reached: Annotated[bool, typer.Option("--reached/--unreachable", help="是否接通")] = True,
    satisfaction: Annotated[
        str | None,
        typer.Option(help="satisfied(满意) basically_satisfied(基本满意) dissatisfied(不满意)"),
    ] = None,
    nps: Annotated[int | None, typer.Option(help="NPS 0–10")] = None,
    note: Annotated[str | None, typer.Option(help="回访记录")] = None,
    at: AtOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """记录回访结果; 未接通将在之后的工作日重试, 不满意按配置重新处理/核查/调解/纳入台账。"""
    from cli import output
    from services.automatic import callbacks
    from states import ledger as rules

    with session(user) as s:
        done = callbacks.record(
            s.ctx,
            callback_id,
            actor=s.username,
            reached=reached,
            satisfaction=satisfaction,
            nps=nps,
            note=note,
            at=parse_at(at, s.ctx.tz),
        )
        if as_json:
            output.emit_json({"callback": done.__dict__}, s.ctx.tz)
            return
        text = {
            "retry": f"未接通, 已安排下次回访 #{done.next_callback_id}",
            "gave_up": "未接通, 已达重试次数上限",
        }.get(done.outcome or "")
        if text is None and done.outcome:
            text = f"不满意: {rules.DISSATISFIED_OUTCOMES[done.outcome]}"
        typer.echo(f"已记录回访 #{callback_id} ({done.number}) {text or ''}".rstrip())


@app.command("list", epilog="示例: tousu callback list TS202603020000001 --user li.duijie")
def list_(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """一件投诉的全部回访。"""
    from cli import output
    from services.automatic import callbacks
    from states import ledger as rules

    with session(user) as s:
        rows = callbacks.for_complaint(s.ctx, number)
        if as_json:
            output.emit_json({"callbacks": rows}, s.ctx.tz)
            return
        t = output.table(
            f"{number} 的回访", ["回访号", "轮次", "第几次", "应回访", "状态", "满意度", "NPS"]
        )
        for r in rows:
            t.add_row(
                str(r["id"]),
                str(r["round"]),
                str(r["attempt"]),
                output.fmt_time(r["due_at"], s.ctx.tz),
                rules.CALLBACK_STATUSES.get(r["status"], r["status"]),
                rules.SATISFACTION.get(r["satisfaction"] or "", ""),
                "" if r["nps"] is None else str(r["nps"]),
            )
        output.console().print(t)
