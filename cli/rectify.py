"""`tousu rectify add|update|list|rate`: the rectification ledger (整改台账,
services/casefile/rectification.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from cli.common import JsonOpt, UserOpt, session

app = typer.Typer(
    help="整改台账: 以案促改的整改事项、逾期升级和整改完成率。\n\n"
    "示例: tousu rectify list --overdue --user wang.zhuguan",
    no_args_is_help=True,
)
S = str | None


def _date(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    from states.validation import iso_date

    return iso_date(value, field)


def _print_items(ctx: Any, rows: list[dict[str, Any]], title: str) -> None:
    from cli import output
    from services.casefile.rectification import settings
    from states.casefile import ITEM_STATUSES

    departments = settings(ctx)["departments"]
    branches = ctx.config.taxonomy.branches
    t = output.table(
        title, ["编号", "投诉编号", "整改事项", "责任部门", "机构", "期限", "状态", "升级级别"]
    )
    for r in rows:
        late = r.get("overdue")
        t.add_row(
            str(r["id"]),
            r["number"],
            r["what"],
            departments.get(r["department"], r["department"]),
            branches.get(r["branch"], r["branch"]),
            r["due_on"].isoformat() + (" 已逾期" if late else ""),
            ITEM_STATUSES.get(r["status"], r["status"]),
            str(r["ladder_level"]),
        )
    output.console().print(t)


@app.command(
    "add",
    epilog="示例: tousu rectify add TS202603020000001 --what '理赔时效纳入考核' "
    "--department claims --due 2026-12-31 --root-cause '审核积压' --user li.duijie",
)
def add(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    what: Annotated[str, typer.Option(help="整改事项")],
    department: Annotated[
        str, typer.Option(help="责任部门代码或名称 ([rectification] departments)")
    ],
    due: Annotated[S, typer.Option(help="整改期限 YYYY-MM-DD (默认按配置天数)")] = None,
    root_cause: Annotated[S, typer.Option("--root-cause", help="问题根源")] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """由投诉的问题根源新增一项整改事项。"""
    from services.casefile import rectification

    with session(user) as s:
        item = rectification.add(
            s.ctx,
            number,
            actor=s.username,
            what=what,
            department=department,
            due=_date(due, "due"),
            root_cause=root_cause,
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"item": item}, s.ctx.tz)
            return
        typer.echo(f"已新增整改事项 #{item['id']} ({number}), 期限 {item['due_on'].isoformat()}")


@app.command(
    "update",
    epilog="示例: tousu rectify update 3 --status done --evidence '新制度已发文 (2026〕12 号)' "
    "--user li.duijie",
)
def update(
    item_id: Annotated[int, typer.Argument(help="整改事项编号")],
    status: Annotated[
        S, typer.Option(help="open(待整改) in_progress(整改中) done(已完成) cancelled(已撤销)")
    ] = None,
    due: Annotated[S, typer.Option(help="新的整改期限 YYYY-MM-DD")] = None,
    evidence: Annotated[S, typer.Option(help="整改完成证明 (标记已完成时必填)")] = None,
    note: Annotated[S, typer.Option(help="说明")] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """更新整改事项的状态、期限或完成证明。"""
    from services.casefile import rectification
    from states.casefile import ITEM_STATUSES

    with session(user) as s:
        item = rectification.update_item(
            s.ctx,
            item_id,
            actor=s.username,
            status=status,
            due=_date(due, "due"),
            evidence=evidence,
            note=note,
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"item": item}, s.ctx.tz)
            return
        typer.echo(f"整改事项 #{item_id}: {ITEM_STATUSES[item['status']]}, 期限 {item['due_on']}")


@app.command(
    "list", epilog="示例: tousu rectify list --department claims --overdue --user wang.zhuguan"
)
def list_(
    number: Annotated[S, typer.Argument(help="投诉编号 (不填: 全部)")] = None,
    department: Annotated[S, typer.Option(help="责任部门")] = None,
    branch: Annotated[S, typer.Option(help="机构代码")] = None,
    status: Annotated[list[str] | None, typer.Option(help="状态 (可重复)")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="只看已逾期未完成的")] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """整改台账。"""
    from services.casefile import rectification

    with session(user) as s:
        rows = rectification.list_items(
            s.ctx,
            actor=s.username,
            number=number,
            department=department,
            branch=branch,
            statuses=status,
            overdue=overdue,
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"items": rows}, s.ctx.tz)
            return
        _print_items(s.ctx, rows, f"整改台账 ({len(rows)} 项)")


@app.command("rate", epilog="示例: tousu rectify rate --period 2026-10 --user wang.zhuguan")
def rate(
    period: Annotated[str, typer.Option(help="月份 YYYY-MM")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """整改完成率: 按责任部门和机构, 对照目标 ([rectification] target_rate)。"""
    from datetime import datetime, time

    from cli import output
    from services.casefile import rectification
    from services.reporting.periods import parse_month

    with session(user) as s:
        p = parse_month(period)
        got = rectification.completion(
            s.ctx,
            start=datetime.combine(p.start, time(0), s.ctx.tz),
            end=datetime.combine(p.end, time(0), s.ctx.tz),
        )
        if as_json:
            output.emit_json({"period": p.label, **got}, s.ctx.tz)
            return
        target = got["target_rate"]
        for title, lines in (
            ("按责任部门", got["by_department"]),
            ("按机构", got["by_branch"]),
            ("合计", [got["total"]]),
        ):
            t = output.table(
                f"{p.label} 整改完成率 · {title} (目标 {target:.0%})",
                ["", "应完成", "已完成", "完成率", "达标"],
            )
            for line in lines:
                shown = "-" if line["rate"] is None else f"{line['rate']:.1%}"
                t.add_row(
                    line["label"],
                    str(line["due"]),
                    str(line["done"]),
                    shown,
                    "-" if line["rate"] is None else ("是" if line["meets_target"] else "否"),
                )
            output.console().print(t)
