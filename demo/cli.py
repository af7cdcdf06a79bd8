"""Demo step: the handler's terminal — `tousu queue` and `tousu show` on the demo database,
run in-process exactly as the console script runs them."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from demo.staff import HANDLER
from services.context import Context
from services.lifecycle import queries
from states.errors import TousuError


def _tousu(console: Any, *argv: str) -> None:
    from cli.main import app

    console.print(f"[bold]$ tousu {' '.join(argv)}[/bold]")
    # The demo is a single-user local setup ([cli] single_user, services/identity.py): its
    # --user acts without an OS-account link or a token.
    saved = os.environ.get("TOUSU__CLI__SINGLE_USER")
    os.environ["TOUSU__CLI__SINGLE_USER"] = "true"
    # Typer ends every command with SystemExit; the demo goes on to the next command.
    try:
        with contextlib.suppress(SystemExit):
            app(list(argv), standalone_mode=False)
    finally:
        if saved is None:
            os.environ.pop("TOUSU__CLI__SINGLE_USER", None)
        else:
            os.environ["TOUSU__CLI__SINGLE_USER"] = saved


def run(ctx: Context, console: Any) -> None:
    console.rule("命令行 tousu: 投诉对接人的队列与案件")
    try:
        me = queries.actor(ctx, HANDLER)
        found = queries.queue(ctx, actor=me, limit=5)["items"]
    except TousuError as exc:
        console.print(f"跳过: {exc}")
        return
    _tousu(console, "queue", "--limit", "5", "--user", HANDLER)
    if found:
        _tousu(console, "show", found[0]["number"], "--user", HANDLER)
