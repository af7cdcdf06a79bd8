"""`tousu transfers import FILE` / `tousu transfers export --from --to FILE`: the regulator's
12378 transfer list in, the handling results back out (services/intake/transfers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonOpt, UserOpt, session

app = typer.Typer(
    help="监管转办 (12378): 导入转办清单, 按相同列导出办理结果。\n\n"
    "示例: tousu transfers import 12378转办.xlsx --user zhang.shouli",
    no_args_is_help=True,
)


@app.command(
    "import",
    epilog="示例: tousu transfers import 12378转办.xlsx --user zhang.shouli; "
    "tousu transfers import 转办清单.csv --encoding gb18030 --dry-run",
)
def import_(
    file: Annotated[Path, typer.Argument(help="转办清单 CSV 或 XLSX", exists=True, dir_okay=False)],
    encoding: Annotated[
        str | None, typer.Option(help="CSV 的编码 (默认自动识别), 如 gb18030、utf-8")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="被拒行文件的位置 (文件或目录; 默认与输入文件同目录, 从不覆盖)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只校验并报告, 不写入数据库")] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """按 [transfers] mapping 的列映射 (config/transfers_12378.toml) 登记清单中的每件转办,
    校验与 tousu import 相同; 同一清单重复导入不会重复登记。有被拒行时退出码 2。"""
    from cli import output
    from services.intake import transfers

    with session(user) as s:
        res = transfers.import_list(
            s.ctx, file, actor=s.username, rejects=rejects, encoding=encoding, dry_run=dry_run
        )
        body = transfers.summary(res)
        body["rejects_file"] = str(res.rejects_file) if res.rejects_file else None
        if as_json:
            output.emit_json(body, s.ctx.tz)
            raise typer.Exit(res.exit_code)
        verb = "可登记" if dry_run else "新登记"
        typer.echo(
            f"转办清单 {file.name}: 共 {res.total} 行, {verb} {res.imported}, "
            f"已导入过 {res.existing}, 被拒 {res.rejected}"
        )
        for item in body["by_reason"]:
            typer.echo(f"  {item['count']:>6}  {item['field']}: {item['reason']}")
        if res.rejects_file:
            typer.echo(f"被拒行及原因: {res.rejects_file}")
        raise typer.Exit(res.exit_code)


@app.command(
    "export",
    epilog="示例: tousu transfers export --from 2026-11-01 --to 2026-11-30 "
    "办理结果.xlsx --user li.duijie",
)
def export(
    file: Annotated[Path, typer.Argument(help="输出文件 (.xlsx 或 .csv)", dir_okay=False)],
    start: Annotated[str, typer.Option("--from", help="收到日期自 YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="收到日期至 YYYY-MM-DD (含)")],
    encoding: Annotated[
        str, typer.Option(help="CSV 的编码, 如 utf-8-sig (默认)、gb18030")
    ] = "utf-8-sig",
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """导出期间内收到的监管转办投诉的办理结果: 清单原有的列 (个人信息脱敏), 其后为
    本机构编号、办理状态、受理/答复/办结日期和处理结果。"""
    from cli import output
    from services.intake import transfers
    from states import validation as v

    with session(user) as s:
        count = transfers.export(
            s.ctx,
            v.iso_date(start, "from"),
            v.iso_date(end, "to"),
            file,
            actor=s.username,
            encoding=encoding,
        )
        if as_json:
            output.emit_json({"file": str(file), "rows": count}, s.ctx.tz)
            return
        typer.echo(f"已导出 {count} 件监管转办的办理结果: {file}")
