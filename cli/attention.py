"""`tousu attention add/list/show/remove`: the special-attention list (特别关注客户).

Supervisors only; every view and change is audited by the service."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOpt, UserOpt, session

app = typer.Typer(help="特别关注客户名单 (仅主管可见, 查看与变更均留痕)。", no_args_is_help=True)


@app.command(
    "add",
    epilog="示例: tousu attention add TS202603020000001 --reason 多次辱骂坐席 "
    "--evidence 录音REC-1 --user wang.zhuguan",
)
def add(
    number: Annotated[str, typer.Argument(help="该投诉人的一件投诉编号")],
    reason: Annotated[str, typer.Option(help="列入原因")],
    evidence: Annotated[str, typer.Option(help="依据材料")],
    user: UserOpt = None,
) -> None:
    """将投诉人列入特别关注名单 (不影响其投诉的登记与处理)。"""
    from services.lifecycle import special_attention as sa

    with session(user) as s:
        entry = sa.add(s.ctx, actor=s.username, number=number, reason=reason, evidence=evidence)
        typer.echo(f"已列入特别关注名单, 条目 #{entry}")


@app.command("list", epilog="示例: tousu attention list --user wang.zhuguan")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="包括已移出的")] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """列出名单 (本次查看将被记录)。"""
    from cli import output
    from services.lifecycle import special_attention as sa

    with session(user) as s:
        rows = sa.list_entries(s.ctx, actor=s.username, include_removed=all_)
        if as_json:
            output.emit_json({"entries": rows}, s.ctx.tz)
            return
        t = output.table(
            "特别关注客户", ["条目", "投诉编号", "原因", "依据", "列入人", "列入时间", "状态"]
        )
        for r in rows:
            t.add_row(
                str(r["id"]),
                r["complaint"] or "",
                r["reason"],
                r["evidence"],
                r["added_by"],
                output.fmt_time(r["added_at"], s.ctx.tz),
                "有效" if r["active"] else f"已移出 ({r['removal_reason']})",
            )
        output.console().print(t)


@app.command(
    "remove", epilog="示例: tousu attention remove 3 --reason 已停访息诉 --user wang.zhuguan"
)
def remove(
    entry: Annotated[int, typer.Argument(help="条目号")],
    reason: Annotated[str, typer.Option(help="移出原因")],
    user: UserOpt = None,
) -> None:
    """移出名单 (条目保留, 标记为已移出)。"""
    from services.lifecycle import special_attention as sa

    with session(user) as s:
        sa.remove(s.ctx, entry, actor=s.username, reason=reason)
        typer.echo(f"已移出条目 #{entry}")
