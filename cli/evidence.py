"""`tousu attach NUMBER FILE...` and `tousu evidence list|get|verify NUMBER`: evidence files
(证据材料), kept encrypted outside the database (services/casefile/evidence.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import JsonOpt, UserOpt, session

app = typer.Typer(
    help="证据材料: 列出、取出、核验。\n\n"
    "示例: tousu evidence verify TS202603020000001 --user li.duijie",
    no_args_is_help=True,
)


def attach(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    files: Annotated[list[Path], typer.Argument(help="一个或多个文件")],
    kind: Annotated[
        str,
        typer.Option(
            help="材料类别: recording(录音录像) letter(书面函件) id-document(身份证明) "
            "invoice(票据/发票) photo(照片) other(其他)"
        ),
    ] = "other",
    note: Annotated[str | None, typer.Option(help="说明")] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """把文件作为证据材料附入投诉: 加密保存, 摘要 (SHA-256) 和大小记入事件日志;
    任一文件不合要求 (大小、类型) 则全部不保存。"""
    from services.casefile import evidence

    with session(user) as s:
        done = evidence.attach(s.ctx, number, files, actor=s.username, kind=kind, note=note)
        if as_json:
            from cli.output import emit_json

            emit_json({"evidence": done}, s.ctx.tz)
            return
        for row in done:
            typer.echo(
                f"已附入证据 #{row['id']}: {row['filename']} ({row['size']} 字节, "
                f"SHA-256 {row['sha256'][:16]}…)"
            )


ATTACH_EPILOG = (
    "示例: tousu attach TS202603020000001 通话录音.mp3 --kind recording --note '3 月 2 日回访' "
    "--user li.duijie"
)


def command(name: str) -> Any:
    from cli.common import build

    return build(attach, name, ATTACH_EPILOG)


@app.command("list", epilog="示例: tousu evidence list TS202603020000001 --user li.duijie")
def list_(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """一件投诉的证据材料。"""
    from cli import output
    from services.casefile import evidence
    from states.casefile import EVIDENCE_KINDS

    with session(user) as s:
        rows = evidence.list_for(s.ctx, number, actor=s.username)
        if as_json:
            output.emit_json({"evidence": rows}, s.ctx.tz)
            return
        t = output.table(
            f"{number} 的证据材料",
            ["编号", "类别", "文件名", "大小", "SHA-256", "附入人", "时间", "说明"],
        )
        for r in rows:
            t.add_row(
                str(r["id"]),
                EVIDENCE_KINDS.get(r["kind"], r["kind"]),
                r["filename"] + (" (已删除)" if r["erased_at"] else ""),
                str(r["size"]),
                r["sha256"][:16] + "…",
                r["actor"],
                output.fmt_time(r["attached_at"], s.ctx.tz),
                r["note"] or "",
            )
        output.console().print(t)


@app.command(
    "get", epilog="示例: tousu evidence get TS202603020000001 3 --out ~/下载 --user li.duijie"
)
def get(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    evidence_id: Annotated[int, typer.Argument(help="证据编号 (tousu evidence list)")],
    out: Annotated[Path, typer.Option(help="保存到的目录")] = Path("."),
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """取出一件证据材料 (解密并核对摘要后保存; 记入事件日志)。"""
    from services.casefile import evidence

    with session(user) as s:
        got = evidence.get(s.ctx, number, evidence_id, actor=s.username, out_dir=out)
        if as_json:
            from cli.output import emit_json

            emit_json({"evidence": got}, s.ctx.tz)
            return
        typer.echo(f"已保存: {got['path']}")


@app.command("verify", epilog="示例: tousu evidence verify TS202603020000001 --user li.duijie")
def verify(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """核验证据材料: 逐件解密, 重新计算摘要和大小, 与事件日志所记比对。
    有文件缺失或被改动时退出码 6 (数据问题)。"""
    from cli import output
    from services.casefile import evidence

    with session(user) as s:
        rows = evidence.verify(s.ctx, number, actor=s.username)
        bad = [r for r in rows if r["verdict"] not in ("ok", "erased")]
        if as_json:
            output.emit_json({"evidence": rows, "intact": not bad}, s.ctx.tz)
        else:
            t = output.table(f"{number} 证据材料核验", ["编号", "文件名", "大小", "结果"])
            for r in rows:
                t.add_row(
                    str(r["id"]), r["filename"], str(r["size"]), evidence.VERDICTS[r["verdict"]]
                )
            output.console().print(t)
            typer.echo(f"共 {len(rows)} 件, 异常 {len(bad)} 件")
    if bad:
        raise typer.Exit(6)
