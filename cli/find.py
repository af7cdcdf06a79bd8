"""`tousu find --phone/--id-number/--policy`: complaints by a person's identifier, through the
keyed hashes (services/lifecycle/lookup.py); every complaint found logs the search."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOpt, UserOpt, session

app = typer.Typer(help="按联系电话、证件号码或保单号查找投诉。", no_args_is_help=True)


@app.command(
    "find",
    epilog="示例: tousu find --phone 13800138000 --user zhang.shouli; "
    "tousu find --id-number 11010519491231002X --policy P2026000123 --json",
)
def find(
    phone: Annotated[str | None, typer.Option("--phone", help="投诉人或代理人的联系电话")] = None,
    id_number: Annotated[
        str | None,
        typer.Option("--id-number", help="投诉人或代理人的身份证号码 (机构: 统一社会信用代码)"),
    ] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="保单号")] = None,
    limit: Annotated[int, typer.Option(help="最多列出件数 (最新的在前)", min=1, max=1000)] = 100,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """查找投诉 (受理登记人员、联络人、主管可用)。给出多项时须全部相符;
    不解密比对 (按加密摘要), 每件查到的投诉在其时间线中记录本次查找 (同 show --reveal)。"""
    from cli import output
    from services.lifecycle import lookup
    from states.lifecycle import State

    with session(user) as s:
        found = lookup.find(
            s.ctx, actor=s.user, phone=phone, id_number=id_number, policy=policy, limit=limit
        )
        if as_json:
            output.emit_json({"complaints": found}, s.ctx.tz)
            return
        if not found:
            typer.echo("未找到相符的投诉")
            return
        t = output.table(
            f"查到 {len(found)} 件投诉",
            [
                "投诉编号",
                "状态",
                "收到时间",
                "渠道",
                "机构",
                "处理人",
                "保单号",
                "投诉人",
                "相符项",
            ],
        )
        for c in found:
            t.add_row(
                c["number"],
                State(c["state"]).label,
                output.fmt_time(c["received_at"], s.ctx.tz),
                s.ctx.config.taxonomy.channels.get(c["channel"], c["channel"]),
                s.ctx.config.taxonomy.branches.get(c["branch"], c["branch"]),
                c["owner"] or "-",
                c["policy_no"] or "-",
                c["complainant"],
                "、".join(_MATCHED.get(m, m) for m in c["matched"]),
            )
        output.console().print(t)


_MATCHED = {"complainant": "投诉人", "agent": "代理人", "policy": "保单号"}
