"""`tousu serve` / `make serve`: the whole automatic side in one process on the embedded
default, a local Prefect server on SQLite (in PREFECT_HOME) started and stopped with it.

With PREFECT_API_URL already set, no server is started: the deployments are served against
that server (e.g. the PostgreSQL-backed one of docs/deployment.md)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

from flows.runtime import prefect_environment


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def start_server(
    port: int = 4200, *, timeout: float = 120.0, log: Callable[[str], None] = print
) -> subprocess.Popen[bytes]:
    """`prefect server start` on 127.0.0.1:port; returns once /api/health answers."""
    prefect_environment()
    api_url = f"http://127.0.0.1:{port}/api"
    if _healthy(api_url):
        raise RuntimeError(
            f"端口 {port} 上已有 Prefect 服务器在运行; 请设置 PREFECT_API_URL 使用它"
        )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(f"Prefect 服务器启动失败:\n{err}")
        if _healthy(api_url):
            os.environ["PREFECT_API_URL"] = api_url
            return proc
        time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"Prefect 服务器 {timeout:.0f} 秒内未就绪")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_web(
    host: str, port: int, *, timeout: float = 60.0, log: Callable[[str], None] = print
) -> subprocess.Popen[bytes]:
    """The workspace and the API (`tousu web`, web/app.py) in a process of its own; returns once
    /healthz answers, so that `make serve` starts both sides together."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "web.app:create_app",
            "--factory",
            "--host",
            host,
            "--port",
            str(port),
            "--app-dir",
            root,
        ],
    )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"网页工作台启动失败 (退出码 {proc.returncode})")
        # Not answering yet (connection refused, a timeout) is waited out until the deadline.
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp,
        ):
            if resp.status == 200:
                log(f"网页工作台: {url}/")
                return proc
        time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"网页工作台 {timeout:.0f} 秒内未就绪")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_all(
    port: int = 4200,
    *,
    log: Callable[[str], None] = print,
    web: tuple[str, int] | None = None,
) -> None:
    """Start (or reuse) the server, serve every deployment on its schedule until Ctrl-C;
    with `web` (host, port) the workspace runs alongside and stops with it (`make serve`)."""
    prefect_environment()
    # SIGTERM (systemd, `timeout`, docker stop) must stop the local server too, like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    proc = None
    web_proc = None
    if web is not None:
        web_proc = start_web(*web, log=log)
    if not os.environ.get("PREFECT_API_URL"):
        log(f"启动本地 Prefect 服务器 (SQLite, PREFECT_HOME={os.environ['PREFECT_HOME']}) …")
        try:
            proc = start_server(port, log=log)
        except BaseException:
            if web_proc is not None:
                stop_server(web_proc)
            raise
    api_url = os.environ["PREFECT_API_URL"]
    try:
        from prefect import serve
        from prefect.schedules import Cron

        from flows.deployments import DEPLOYMENTS, TIMEZONE, load_flow

        runners = [
            load_flow(d.entrypoint).to_deployment(
                name=d.name,
                description=d.description,
                concurrency_limit=d.concurrency,
                schedule=Cron(d.cron, timezone=TIMEZONE),
            )
            for d in DEPLOYMENTS
        ]
        log(f"Prefect UI: {api_url.removesuffix('/api')}")
        for d in DEPLOYMENTS:
            limit = d.concurrency or "不限"
            log(f"  {d.name:20} {d.cron:14} ({TIMEZONE})  并发上限 {limit}  {d.description}")
        log("按 Ctrl-C 停止。")
        serve(*runners, print_starting_message=False)
    except KeyboardInterrupt:
        log("收到 Ctrl-C。")
    finally:
        if proc is not None:
            log("停止本地 Prefect 服务器 …")
            stop_server(proc)
        if web_proc is not None:
            log("停止网页工作台 …")
            stop_server(web_proc)
