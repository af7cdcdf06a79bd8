"""`tousu web` serves the workspace: a real uvicorn process on loopback, logged into over HTTP,
showing the queue of the database it was started on."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services import identity
from services.context import Context
from tests.factories import accepted

PASSWORD = "Tousu-web-2026!"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(ctx: Context, tmp_path: Path, now: datetime) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "TOUSU_DATABASE_URL": ctx.config.database_url,
        "TOUSU_KEY": ctx.config.key,
        "TOUSU_ROOT": str(tmp_path),
        "TOUSU_CONFIG": "",
    }
    # The server gets the suite's clock too: no test reads the wall clock.
    probe = (
        f"import time_machine\ntime_machine.travel({now.isoformat()!r}, tick=True).start()\n"
        "from cli.main import app\n"
        f"app(['web', '--host', '127.0.0.1', '--port', '{port}'])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", probe],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("tousu web did not answer within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_tousu_web_serves_the_workspace_of_its_database(ctx, served, now):
    number = accepted(ctx, now - timedelta(hours=3))
    identity.reset_password(ctx, "liaison", PASSWORD, actor="admin", must_change=False)
    with httpx.Client(base_url=served, timeout=10) as client:
        assert client.get("/").status_code == 303  # no session: to the login
        form = client.get("/login")
        token = CSRF.search(form.text)
        assert token is not None
        done = client.post(
            "/login",
            data={
                "username": "liaison",
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/",
            },
        )
        assert done.status_code == 303
        queue = client.get("/")
        assert queue.status_code == 200 and f'data-number="{number}"' in queue.text
        style = client.get("/static/tousu.css")
        assert style.status_code == 200 and "@media" in style.text
