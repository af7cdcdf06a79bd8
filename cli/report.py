"""`tousu report`: period reports (Excel + HTML) and the five-dimension case export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import UserOpt, session

app = typer.Typer(
    help="统计报告 (第六节指标) 与五维度案例分析。\n\n"
    "示例: tousu report --period 2026-10 --user wang.zhuguan",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback(
    invoke_without_command=True,
    epilog="示例: tousu report --quarter 2026Q3; tousu report --from 2026-10-01 "
    "--to 2026-10-15; 不带参数为上一个完整月份",
)
def report(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option("--period", help="月份 YYYY-MM")] = None,
    quarter: Annotated[str | None, typer.Option("--quarter", help="季度 YYYYQn")] = None,
    start: Annotated[str | None, typer.Option("--from", help="起始日期 YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="结束日期 YYYY-MM-DD (含)")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="输出目录 (默认配置 reports.dir)")
    ] = None,
    no_notice: Annotated[bool, typer.Option("--no-notice", help="不通知主管")] = False,
    user: UserOpt = None,
) -> None:
    """生成一个期间的统计报告 (Excel 工作簿 + 含图表的 HTML), 并通知主管。"""
    if ctx.invoked_subcommand is not None:
        return
    from services.reporting import periods
    from services.reporting.files import produce
    from states import validation as v
    from states.errors import InvalidInput
    from storage.timeutil import utcnow

    with session(user) as s:
        chosen = [x for x in (period, quarter, start or end) if x]
        if len(chosen) > 1:
            raise InvalidInput("period", "--period、--quarter、--from/--to 只能选一种")
        if period:
            p = periods.parse_month(period)
        elif quarter:
            p = periods.parse_quarter(quarter)
        elif start or end:
            if not (start and end):
                raise InvalidInput("to", "--from 与 --to 须同时给出")
            p = periods.span(v.iso_date(start, "from"), v.iso_date(end, "to"))
        else:
            p = periods.last_full_month(utcnow().astimezone(s.ctx.tz).date())
        done = produce(s.ctx, p, actor=s.username, notify=not no_notice, out_dir=out)
        typer.echo(f"{p.title} 统计报告已生成 (投诉量 {done.volume}):")
        typer.echo(f"  Excel: {done.excel}")
        typer.echo(f"  HTML : {done.html}")
        if done.notified:
            typer.echo("  已通知主管 (report_ready)")


@app.command("analysis", epilog="示例: tousu report analysis TS202610050000001 --user wang.zhuguan")
def analysis(
    numbers: Annotated[list[str], typer.Argument(help="投诉编号, 可多个")],
    out: Annotated[Path | None, typer.Option("--out", help="输出文件 (.xlsx)")] = None,
    user: UserOpt = None,
) -> None:
    """五维度案例分析导出 (消费者背景、投诉内容、处理过程、相关法律法规、处理结果),
    用于以案促改。"""
    from cli import output
    from services.reporting import case_analysis, reports

    with session(user) as s:
        path = out or reports.output_dir(s.ctx) / (
            "case-analysis-"
            + (numbers[0] if len(numbers) == 1 else f"{len(numbers)}cases")
            + ".xlsx"
        )
        case_analysis.export(s.ctx, numbers, path, actor=s.username)
        con = output.console()
        for number in numbers:
            row = case_analysis.analyse(s.ctx, number)
            t = output.table(f"五维度分析 {number}", ["维度", "内容"])
            for k, val in list(row.items())[1:]:
                t.add_row(k, val or "—")
            con.print(t)
        typer.echo(f"已导出: {path}")
