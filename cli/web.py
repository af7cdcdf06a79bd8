"""`tousu web`: the browser workspace and the HTTP API (web/app.py) under uvicorn.

Host and port default to `[web] host` / `[web] port` (config/tousu.toml). Several worker
processes each open their own context; on PostgreSQL they share sessions and login
throttling through the database (docs/web.md). uvicorn is imported inside the command only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

Opt = typer.Option


def web(
    host: Annotated[str | None, Opt(help="监听地址 (默认配置 web.host)")] = None,
    port: Annotated[int | None, Opt(help="端口 (默认配置 web.port)", min=1, max=65535)] = None,
    workers: Annotated[int, Opt(help="工作进程数 (PostgreSQL 上可多于 1)", min=1, max=64)] = 1,
    reload: Annotated[bool, Opt("--reload", help="开发用: 代码改动后自动重启")] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        Opt(
            help="信任其 X-Forwarded-For 的反向代理地址, 逗号分隔 (默认配置 "
            "web.forwarded_allow_ips, 即 127.0.0.1); 登录限流按真实客户端地址计算"
        ),
    ] = None,
) -> None:
    """启动网页工作台与接口 (uvicorn): 我的队列、投诉页面、登记、主管看板、报告下载,
    以及 /api/v1。"""

    from config import load_config

    settings = load_config().section("web")
    host = host or str(settings.get("host", "127.0.0.1"))
    port = port or int(settings.get("port", 8000))
    typer.echo(f"网页工作台: http://{host}:{port}/  (接口文档 /api/docs; 按 Ctrl-C 停止)")
    # Where `web` is importable from: the directory holding the cli package (the project root
    # in a checkout, site-packages once installed), for the worker processes too.
    app_dir = str(Path(__file__).resolve().parent.parent)
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    from web.server import serve

    serve(
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        app_dir=app_dir,
        forwarded_allow_ips=forwarded_allow_ips
        or str(settings.get("forwarded_allow_ips", "127.0.0.1")),
    )


def command(name: str) -> Any:
    """The click command (cli.main builds commands on first use)."""
    from cli.common import build

    return build(
        web,
        name,
        "示例: tousu web --port 8000; tousu web --host 0.0.0.0 --workers 4 (PostgreSQL)",
    )
