"""`tousu letter NUMBER KIND`: a letter to the complainant (告知书) as DOCX and PDF, kept as
case evidence (services/casefile/letters.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import JsonOpt, UserOpt, session


def letter(
    number: Annotated[str, typer.Argument(help="投诉编号")],
    kind: Annotated[
        str,
        typer.Argument(
            help="acceptance(受理) extension(延期) appraisal(暂停/鉴定) decision(处理决定) "
            "decline(不予办理) review(核查结论) mediation(调解转介)"
        ),
    ],
    out: Annotated[Path, typer.Option(help="另存到的目录")] = Path("."),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="是否经 LibreOffice 生成 PDF")] = True,
    posted: Annotated[
        bool,
        typer.Option("--posted", help="现即寄出: 记入联系记录 (信函), 附告知书摘要作为告知凭证"),
    ] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """出具告知书 (DOCX, 有 LibreOffice 时另出 PDF): 含投诉人姓名和地址, 记入事件日志,
    并作为证据材料保存 (摘要记入事件日志)。"""
    from services.casefile import letters

    with session(user) as s:
        done = letters.render(
            s.ctx, number, kind, actor=s.username, out_dir=out, pdf=pdf, posted=posted
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"letter": done}, s.ctx.tz)
            return
        for path in done["files"]:
            typer.echo(f"已生成: {path}")
        if done["pdf_skipped"]:
            typer.echo(done["pdf_skipped"], err=True)
        typer.echo(
            f"{done['title']} 已存入证据材料; 以信函告知时凭证可用 SHA-256 "
            f"{done['pdf_sha256'] or done['docx_sha256']}"
        )


EPILOG = "示例: tousu letter TS202603020000001 decision --out ~/告知书 --user li.duijie"


def command(name: str) -> Any:
    from cli.common import build

    return build(letter, name, EPILOG)
