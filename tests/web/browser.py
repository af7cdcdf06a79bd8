"""What the real-browser tests share: the application served by uvicorn on a loopback port in
this process (so it sees the suite's travelled clock), and Debian's Chromium launched by
Playwright with the system browser's path (no browser download); skipped with a message where
Chromium is not installed (`scripts/system-packages`, run by `make test`, installs it)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from services.context import Context

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def served(ctx: Context) -> Iterator[str]:
    """`create_app(ctx)` under uvicorn on a free loopback port; yields its base address."""
    import uvicorn

    from web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, or the test skipped saying how to install it."""
    if CHROMIUM is None:
        pytest.skip(
            "Chromium 未安装: 以 root 运行 scripts/system-packages (make test 会调用) 安装 "
            "Debian 的 chromium 后, 此浏览器测试才会运行"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        found = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield found
        finally:
            found.close()
