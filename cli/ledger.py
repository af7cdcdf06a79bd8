"""`tousu ledger list/show/update/export/refresh`: the repeat and backlog ledger (台账)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOpt, UserOpt, session

app = typer.Typer(
    help="重复投诉与积案台账。\n\n示例: tousu ledger list --status open --user wang.zhuguan",
    no_args_is_help=True,
)


@app.command("list", epilog="示例: tousu ledger list --kind backlog --user wang.zhuguan")
def list_(
    status: Annotated[str | None, typer.Option(help="open(化解中) | resolved(已化解)")] = None,
    kind: Annotated[
        str | None, typer.Option(help="repeat(重复投诉) | backlog(积案) | dissatisfied(回访不满意)")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="责任人用户名")] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """列出台账事项 (一行一个投诉人事项)。"""
    from cli import output
    from services.automatic import ledger
    from states import ledger as rules

    with session(user) as s:
        rows = ledger.list_matters(s.ctx, status=status, kind=kind, owner=owner)
        if as_json:
            output.emit_json({"matters": rows}, s.ctx.tz)
            return
        t = output.table(
            "重复投诉与积案台账",
            [
                "台账编号",
                "主投诉",
                "类型",
                "投诉次数",
                "监管转办",
                "责任人",
                "化解分类",
                "状态",
                "最近投诉",
            ],
        )
        for r in rows:
            t.add_row(
                r["code"],
                r["master"],
                rules.MATTER_KINDS.get(r["kind"], r["kind"]),
                str(r["complaint_count"]),
                str(r["regulator_count"]),
                r["owner"] or "未指定",
                rules.RESOLUTION_CLASSES.get(r["resolution_class"] or "", "待定"),
                rules.MATTER_STATUSES.get(r["status"], r["status"]),
                output.fmt_time(r["last_received_at"], s.ctx.tz),
            )
        output.console().print(t)
        typer.echo(f"共 {len(rows)} 项")


@app.command("show", epilog="示例: tousu ledger show TZ000001 --user wang.zhuguan")
def show(
    matter: Annotated[str, typer.Argument(help="台账编号, 如 TZ000001")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """显示一个台账事项: 全部投诉、责任人、分类、措施与变更记录。"""
    from cli import output
    from services.automatic import ledger
    from states import ledger as rules

    with session(user) as s:
        view = ledger.show(s.ctx, matter)
        if as_json:
            output.emit_json(view, s.ctx.tz)
            return
        m = view["matter"]
        con = output.console()
        con.print(
            f"[bold]{m['code']}[/bold] {rules.MATTER_KINDS.get(m['kind'], m['kind'])} · "
            f"{rules.MATTER_STATUSES.get(m['status'], m['status'])} · 责任人 "
            f"{m['owner'] or '未指定'} · 化解分类 "
            f"{rules.RESOLUTION_CLASSES.get(m['resolution_class'] or '', '待定')} · "
            f"停访息诉 {m['stopped_on'] or '—'}"
        )
        con.print(
            f"投诉 {m['complaint_count']} 次, 单独计数 {m['case_count']} 件, "
            f"监管转办 {m['regulator_count']} 件"
        )
        t = output.table("投诉", ["投诉编号", "关系", "匹配依据", "状态", "渠道", "收到时间"])
        for mb in view["members"]:
            t.add_row(
                mb["number"],
                rules.RELATIONS.get(mb["relation"], mb["relation"]),
                rules.matched_label(mb["matched_on"]) if mb["relation"] != "master" else "",
                mb["state"],
                mb["channel"],
                output.fmt_time(mb["received_at"], s.ctx.tz),
            )
        con.print(t)
        t = output.table("措施与变更记录", ["时间", "操作人", "类型", "说明"])
        for act in view["actions"]:
            t.add_row(
                output.fmt_time(act["at"], s.ctx.tz), act["actor"], act["kind"], act["note"] or ""
            )
        con.print(t)


@app.command(
    "update",
    epilog="示例: tousu ledger update TZ000001 --class hardship "
    "--measure assist --note 协调困难补助 --user wang.zhuguan",
)
def update(
    matter: Annotated[str, typer.Argument(help="台账编号")],
    owner: Annotated[str | None, typer.Option(help="新的责任人用户名")] = None,
    class_: Annotated[
        str | None,
        typer.Option(
            "--class",
            help="reasonable(合理诉求) unreasonable(不合理诉求) "
            "hardship(困难帮扶) malicious(恶意投诉)",
        ),
    ] = None,
    status: Annotated[str | None, typer.Option(help="open | resolved")] = None,
    stopped_on: Annotated[str | None, typer.Option(help="停访息诉日期 YYYY-MM-DD")] = None,
    measure: Annotated[
        str | None,
        typer.Option(
            help="化解措施: resolve explain assist educate legal industry_mediation "
            "people_mediation judicial_mediation lawyer psychologist visit other"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="说明")] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """更新责任人、化解分类、措施、状态或停访息诉日期 (主管、消委会委员或责任人)。"""
    from datetime import date

    from cli import output
    from services.automatic import ledger
    from states.errors import InvalidInput

    with session(user) as s:
        day = None
        if stopped_on:
            try:
                day = date.fromisoformat(stopped_on)
            except ValueError:
                raise InvalidInput("stopped_on", "日期格式 YYYY-MM-DD") from None
        view = ledger.update_matter(
            s.ctx,
            matter,
            actor=s.username,
            owner=owner,
            resolution_class=class_,
            status=status,
            stopped_on=day,
            measure=measure,
            note=note,
        )
        if as_json:
            output.emit_json(view, s.ctx.tz)
        else:
            typer.echo(f"已更新 {view['matter']['code']}")


@app.command(
    "export", epilog="示例: tousu ledger export --out reports/台账.xlsx --user wang.zhuguan"
)
def export(
    out: Annotated[
        str | None, typer.Option(help="输出文件 (.xlsx); 默认 ledger.export_dir")
    ] = None,
    status: Annotated[str | None, typer.Option(help="只导出 open 或 resolved")] = None,
    user: UserOpt = None,
) -> None:
    """导出台账为 Excel (一行一个事项)。"""
    from pathlib import Path

    from services.reporting import ledger_export

    with session(user) as s:
        path = ledger_export.export(s.ctx, Path(out) if out else None, status=status)
        typer.echo(f"已导出台账: {path}")


@app.command("refresh", epilog="示例: tousu ledger refresh --user wang.zhuguan")
def refresh(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """立即执行夜间台账刷新 (积案认定、计数、责任人、提请会商)。"""
    from cli import output
    from services.automatic import ledger

    with session(user) as s:
        result = ledger.refresh(s.ctx)
        if as_json:
            output.emit_json(result, s.ctx.tz)
        else:
            typer.echo(
                f"新认定积案 {result['backlog_new']} 项, 在办事项 {result['matters']} 项, "
                f"提请会商 {len(result['consulted'])} 件"
            )
