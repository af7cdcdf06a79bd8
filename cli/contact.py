"""`tousu contact NUMBER --channel ... --summary ...`: one contact with the complainant (联系记录),
into the complaint's timeline (services/casefile/contacts.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import AtOpt, JsonOpt, UserOpt, parse_at, session


def contact(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    channel: Annotated[
        str,
        typer.Option(
            help="联系方式: phone(电话) sms(短信) email(电子邮件) visit(来访/面谈) letter(信函)"
        ),
    ],
    summary: Annotated[str, typer.Option(help="联系内容摘要")],
    direction: Annotated[str, typer.Option(help="out(我方联系投诉人) in(投诉人来电/来访)")] = "out",
    recording: Annotated[
        str | None, typer.Option(help="录音录像编号 (电话、面谈按第七条录音录像)")
    ] = None,
    notice: Annotated[
        str | None,
        typer.Option(help="此次联系即受理告知: acceptance (满足受理告知时限)"),
    ] = None,
    at: AtOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """登记一次与投诉人的联系 (来电、去电、短信、邮件、面谈、信函), 记入事件时间线。"""
    from services.casefile import contacts

    with session(user) as s:
        done = contacts.log(
            s.ctx,
            number,
            actor=s.username,
            channel=channel,
            summary=summary,
            direction=direction,
            recording=recording,
            at=parse_at(at, s.ctx.tz),
            notice=notice,
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"contact": done}, s.ctx.tz)
            return
        from cli.output import fmt_time
        from states.casefile import CHANNELS

        flag = " (未登记录音)" if done["unrecorded"] else ""
        typer.echo(
            f"已登记联系 #{done['id']}: {number} {CHANNELS[channel]} "
            f"{fmt_time(done['at'], s.ctx.tz)}{flag}"
        )


EPILOG = (
    "示例: tousu contact TS202603020000001 --channel phone --summary '告知已受理' "
    "--recording REC-0302-01 --user li.duijie"
)


def command(name: str) -> Any:
    from cli.common import build

    return build(contact, name, EPILOG)
