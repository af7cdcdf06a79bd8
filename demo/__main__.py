"""Run every demo step in order on the database named by TOUSU_DATABASE_URL.

Each feature contributes one step module with `run(ctx, console)`; the list below is the
order a visitor reads them in.
"""

from __future__ import annotations

import argparse
import importlib
import os

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="演示: 在 TOUSU_DATABASE_URL 指定的数据库上写入演示数据并走完全流程 "
        "(make demo 使用新建的 data/demo.db)。Writes demo data into the database named by "
        "TOUSU_DATABASE_URL; `make demo` gives it a fresh data/demo.db.",
    )
    parser.parse_args(argv)
    if not os.environ.get("TOUSU_DATABASE_URL"):
        # Demo complaints must never land in the configured (real) database by default.
        parser.error("须设置 TOUSU_DATABASE_URL 指向演示数据库 (make demo 会设置)")
    console = Console()
    ctx = open_context()
    try:
        for name in STEPS:
            importlib.import_module(name).run(ctx, console)
    finally:
        ctx.close()


if __name__ == "__main__":
    main()
