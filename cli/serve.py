"""`tousu serve`: run the automatic side (flows/serve.py). Prefect is imported inside the
command only, so other commands never pay its two seconds."""

from __future__ import annotations

from typing import Annotated, Any

import typer

app = typer.Typer()


@app.command("serve", epilog="示例: tousu serve --port 4200  (或 make serve)")
def serve(port: Annotated[int, typer.Option(help="本地 Prefect 服务器端口")] = 4200) -> None:
    """运行自动任务: 启动本地 Prefect 服务器 (SQLite) 并按计划运行时限巡检、会商、调解跟进。

    已设置 PREFECT_API_URL 时不启动本地服务器, 直接连接该服务器。"""
    from flows.serve import serve_all

    serve_all(port, log=typer.echo)


def command(name: str) -> Any:
    """The click command (cli.main builds commands on first use)."""
    import typer.main

    return typer.main.get_command(app)
