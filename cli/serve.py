"""`tousu serve`: run the automatic side (flows/serve.py). Prefect is imported inside the
command only, so other commands never pay its two seconds."""

from __future__ import annotations

from typing import Annotated, Any

import typer

app = typer.Typer()


@app.command("serve", epilog="示例: tousu serve --port 4200; tousu serve --web  (即 make serve)")
def serve(
    port: Annotated[int, typer.Option(help="本地 Prefect 服务器端口")] = 4200,
    web: Annotated[
        bool, typer.Option("--web/--no-web", help="同时启动网页工作台 (tousu web)")
    ] = False,
    web_host: Annotated[str | None, typer.Option(help="网页工作台地址 (默认 web.host)")] = None,
    web_port: Annotated[int | None, typer.Option(help="网页工作台端口 (默认 web.port)")] = None,
) -> None:
    """运行自动任务: 启动本地 Prefect 服务器 (SQLite) 并按计划运行时限巡检、会商、调解跟进;
    --web 同时启动网页工作台 (make serve)。

    已设置 PREFECT_API_URL 时不启动本地服务器, 直接连接该服务器。"""
    from flows.serve import serve_all

    site = None
    if web:
        from config import load_config

        settings = load_config().section("web")
        site = (
            web_host or str(settings.get("host", "127.0.0.1")),
            web_port or int(settings.get("port", 8000)),
        )
    serve_all(port, log=typer.echo, web=site)


def command(name: str) -> Any:
    """The click command (cli.main builds commands on first use)."""
    import typer.main

    return typer.main.get_command(app)
