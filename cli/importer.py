"""`tousu import FILE --mapping MAP`: bulk import of complaints from CSV or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonOpt, UserOpt, session

app = typer.Typer(help="从 CSV/XLSX 批量导入投诉。", no_args_is_help=True)


@app.command(
    "import",
    epilog="示例: tousu import legacy.csv --mapping "
    "config/import_mapping.example.toml --user zhang.shouli",
)
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV(.csv/.txt/.tsv)或 XLSX 文件", exists=True, dir_okay=False)
    ],
    mapping: Annotated[
        Path, typer.Option("--mapping", "-m", help="列映射文件 (TOML)", exists=True, dir_okay=False)
    ],
    batch: Annotated[int, typer.Option(help="每批登记条数", min=1, max=100_000)] = 2000,
    no_escalate: Annotated[
        bool, typer.Option("--no-escalate", help="不对监管转办/舆情/重大件立即升级 (历史数据)")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(help="CSV 的编码 (默认自动识别), 如 utf-8、gb18030、utf-16"),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="被拒行文件的位置 (文件或目录; 默认与输入文件同目录, 从不覆盖)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只校验并报告, 不写入数据库")] = False,
    reveal_rejects: Annotated[
        bool,
        typer.Option(
            "--reveal-rejects",
            help="被拒行文件中显示完整个人信息 (默认遮蔽; 仅可查看个人信息的角色, 记录在案)",
        ),
    ] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """逐行校验 (与 tousu register 相同规则, 报告每行的全部错误字段), 分批登记,
    识别重复投诉; 可重复运行。全部导入 (或已导入过) 时退出码 0, 有被拒行时 2。"""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from cli import output
    from services.intake import importing

    with session(user) as s:
        rules = importing.load_mapping(mapping)
        if encoding:
            importing.check_encoding(encoding)
        total = sum(1 for _ in importing.read_rows(file, rules.sheet, encoding or rules.encoding))
        with Progress(
            TextColumn("校验" if dry_run else "导入"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=output.console(),
            disable=as_json,
        ) as bar:
            task = bar.add_task("import", total=total)
            res = importing.run(
                s.ctx,
                file,
                rules,
                actor=s.username,
                batch_size=batch,
                escalate=not no_escalate,
                rejects=rejects,
                encoding=encoding,
                dry_run=dry_run,
                progress=lambda n: bar.advance(task, n),
                reveal_rejects=reveal_rejects,
            )
        if as_json:
            output.emit_json(
                {
                    "total": res.total,
                    "imported": res.imported,
                    "existing": res.existing,
                    "rejected": res.rejected,
                    "merged": res.merged,
                    "linked": res.linked,
                    "escalated": res.escalated,
                    "finished": res.finished,
                    "overdue": res.overdue,
                    "dry_run": res.dry_run,
                    "encoding": res.encoding,
                    "rejects_file": str(res.rejects_file) if res.rejects_file else None,
                    "by_reason": [
                        {"field": f, "reason": r, "count": n}
                        for (f, r), n in res.by_reason.most_common()
                    ],
                },
                s.ctx.tz,
            )
            raise typer.Exit(res.exit_code)
        verb = "可登记" if dry_run else "新登记"
        typer.echo(
            f"共 {res.total} 行: {verb} {res.imported}, 已导入过 {res.existing}, "
            f"被拒 {res.rejected}"
            + (
                ""
                if dry_run
                else f"; 重复投诉合并 {res.merged}、关联 {res.linked}; 立即升级 {res.escalated}; "
                f"历史已办结 {res.finished}, 在办已逾期 {res.overdue} (已汇总提醒主管)"
            )
            + f"; 用时 {res.seconds:.1f} 秒"
            + (f"; 编码 {res.encoding}" if res.encoding else "")
        )
        if dry_run:
            typer.echo("试运行: 未写入数据库。")
        if res.by_reason:
            typer.echo("被拒原因 (按字段与原因计数):")
            for (fld, reason), n in res.by_reason.most_common():
                label = importing.FIELD_LABELS.get(fld, fld)
                typer.echo(f"  {n:>6}  {label}: {reason}")
        if res.rejects_file:
            typer.echo(f"被拒行及原因: {res.rejects_file}")
        raise typer.Exit(res.exit_code)
