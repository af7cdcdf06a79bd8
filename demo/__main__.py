"""Run every demo step in order on the database named by TOUSU_DATABASE_URL.

Each feature contributes one step module with `run(ctx, console)`; the list below is the
order a visitor reads them in.
"""

from __future__ import annotations

import importlib

from rich.console import Console

from services.context import open_context

STEPS = [
    "demo.lifecycle",
    "demo.ledger",
    "demo.flows",
    "demo.cli",
    "demo.identity",
    "demo.casefile",
    "demo.messages",
    "demo.reports",
    "demo.notifications",
]


def main() -> None:
    console = Console()
    ctx = open_context()
    try:
        for name in STEPS:
            importlib.import_module(name).run(ctx, console)
    finally:
        ctx.close()


if __name__ == "__main__":
    main()
