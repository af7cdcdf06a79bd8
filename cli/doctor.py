"""`tousu doctor`: the key, file modes and secrets checked (services/doctor.py)."""

from __future__ import annotations

from typing import Any

import typer

from cli.common import JsonOpt


def doctor(as_json: JsonOpt = False) -> None:
    """检查安装: 数据库、个人信息密钥 (来源、权限、是否与数据库一致)、文件权限、通知密钥、
    证据对象存储、网页会话 Cookie 与网页地址 (HTTPS)。有问题时退出码 6。"""
    from config import load_config
    from services import doctor as svc
    from services.context import open_context

    ctx = open_context(load_config())
    try:
        report = svc.check(ctx)
    finally:
        ctx.close()
    if as_json:
        from cli.output import emit_json

        emit_json({"doctor": svc.as_dict(report)}, None)
    else:
        names = {
            "database": "数据库",
            "key": "密钥",
            "files": "文件",
            "secrets": "通知",
            "evidence": "证据存储",
            "web": "网页",
        }
        for f in report.findings:
            typer.echo(f"[{'正常' if f.ok else '问题'}] {names.get(f.area, f.area)}: {f.message}")
        typer.echo("全部正常" if report.ok else "发现问题, 见上")
    if not report.ok:
        raise typer.Exit(6)


def command(name: str) -> Any:
    from cli.common import build

    return build(doctor, name, "示例: tousu doctor\n\ntousu doctor --json")
