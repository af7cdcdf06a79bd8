"""`tousu message NUMBER acceptance|extension|decision [--channel sms|email]`: a message to the
complainant by SMS or e-mail (services/casefile/messages.py); `--email` records the
complainant's address, `--dismiss` gives up unsent messages, `--deliver` retries the due ones,
`--list` shows a case's messages."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import JsonOpt, UserOpt, session


def message(
    number: Annotated[str | None, typer.Argument(help="投诉编号")] = None,
    kind: Annotated[
        str | None,
        typer.Argument(
            help="消息种类: acceptance(受理告知) extension(延期告知) decision(处理决定告知)"
        ),
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="sms(短信) 或 email(电子邮件); 缺省按配置 messages.channels")
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="登记投诉人电子邮箱 (加密保存)")
    ] = None,
    dismiss: Annotated[
        bool, typer.Option("--dismiss", help="撤销该投诉待发送或发送失败的消息 (不再重试)")
    ] = False,
    deliver: Annotated[
        bool, typer.Option("--deliver", help="重试所有到期的待发送消息 (不需投诉编号)")
    ] = False,
    listing: Annotated[bool, typer.Option("--list", help="列出该投诉的告知消息")] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """向投诉人发送短信或电子邮件告知 (受理、延期、处理决定), 每次发送记入联系记录。"""
    from cli.output import emit_json, fmt_time
    from services.casefile import messages
    from states.errors import InvalidInput

    with session(user) as s:
        tz = s.ctx.tz
        if deliver:
            done = messages.deliver(s.ctx)
            if as_json:
                emit_json({"delivered": done}, tz)
            else:
                typer.echo(f"已发送 {done['sent']} 条, 失败 {done['failed']} 条")
            return
        if number is None:
            raise InvalidInput("number", "须给出投诉编号 (或 --deliver)")
        out: dict[str, Any] = {}
        if email is not None:
            messages.record_email(s.ctx, number, email, actor=s.username)
            out["email_recorded"] = True
            if not as_json:
                typer.echo(f"已登记投诉 {number} 投诉人电子邮箱 (加密保存)")
        if dismiss:
            out["dismissed"] = messages.dismiss(s.ctx, number, actor=s.username)
            if not as_json:
                typer.echo(f"已撤销投诉 {number} 未发出的消息 {len(out['dismissed'])} 条")
        if kind is not None:
            out["messages"] = messages.send(s.ctx, number, kind, actor=s.username, channel=channel)
        elif listing or not (email or dismiss):
            out["messages"] = messages.messages_of(s.ctx, number)
        if as_json:
            emit_json(out, tz)
            return
        from states.casefile import CHANNELS

        for m in out.get("messages", []):
            title = messages.KINDS[m["kind"]][0]
            when = fmt_time(m["sent_at"] or m["next_attempt_at"], tz)
            note = "" if m["status"] == messages.SENT else f" (已尝试 {m['attempts']} 次)"
            typer.echo(
                f"#{m['id']} {number} {CHANNELS[m['channel']]}{title}: "
                f"{messages.STATUSES[m['status']]} {when}{note}"
            )
        if kind is not None and any(m["status"] != messages.SENT for m in out["messages"]):
            from storage.timeutil import utcnow

            now = utcnow()
            opens = messages.opens_at(s.ctx, messages.settings(s.ctx), now)
            if opens > now:
                typer.echo(
                    f"当前不在发送时段 (messages.send_hours), 将于 {fmt_time(opens, tz)} 起发送"
                )
            else:
                typer.echo("未发出的消息将按 messages 设置自动重试 (tousu message --deliver)")


EPILOG = (
    "示例: tousu message TS202603020000001 acceptance --channel sms --user li.duijie; "
    "tousu message TS202603020000001 --email a@example.com; tousu message --deliver"
)


def command(name: str) -> Any:
    from cli.common import build

    return build(message, name, EPILOG)
