"""`tousu import FILE --mapping MAP`: bulk import of complaints from CSV or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import UserOpt, session

app = typer.Typer(help="从 CSV/XLSX 批量导入投诉。", no_args_is_help=True)


@app.command(
    "import",
    epilog="示例: tousu import legacy.csv --mapping "
    "config/import_mapping.example.toml --user zhang.shouli",
)
def import_(
    file: Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件", exists=True, dir_okay=False)],
    mapping: Annotated[
        Path, typer.Option("--mapping", "-m", help="列映射文件 (TOML)", exists=True, dir_okay=False)
    ],
    batch: Annotated[int, typer.Option(help="每批登记条数")] = 2000,
    no_escalate: Annotated[
        bool, typer.Option("--no-escalate", help="不对监管转办/舆情/重大件立即升级 (历史数据)")
    ] = False,
    user: UserOpt = None,
) -> None:
    """逐行校验 (与 tousu register 相同规则), 分批登记,
    输出被拒行报告, 识别重复投诉; 可重复运行。"""
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
        total = sum(1 for _ in importing.read_rows(file, rules.sheet))
        with Progress(
            TextColumn("导入"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=output.console(),
        ) as bar:
            task = bar.add_task("import", total=total)
            res = importing.run(
                s.ctx,
                file,
                rules,
                actor=s.username,
                batch_size=batch,
                escalate=not no_escalate,
                progress=lambda n: bar.advance(task, n),
            )
        typer.echo(
            f"共 {res.total} 行: 新登记 {res.imported}, 已导入过 {res.existing}, "
            f"被拒 {res.rejected}; 重复投诉合并 {res.merged}、关联 {res.linked}; "
            f"立即升级 {res.escalated}; 用时 {res.seconds:.1f} 秒"
        )
        if res.rejects_file:
            typer.echo(f"被拒行及原因: {res.rejects_file}")
