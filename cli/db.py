"""`tousu db upgrade/current`: apply and inspect migrations (storage/migrate.py)."""

from __future__ import annotations

from typing import Any

import typer

from cli.common import JsonOpt


def _heads(url: str) -> list[str]:
    """Every applied head (each feature's migration is its own branch off 0001)."""
    from alembic.runtime.migration import MigrationContext

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


app = typer.Typer(
    add_completion=False, help="数据库迁移。\n\n示例: tousu db upgrade", no_args_is_help=True
)


@app.command("upgrade", epilog="示例: TOUSU_DATABASE_URL=sqlite:///data/tousu.db tousu db upgrade")
def upgrade(as_json: JsonOpt = False) -> None:
    """把数据库升级到最新结构 (所有迁移分支)。"""
    from config import load_config
    from storage import migrate

    config = load_config()
    migrate.upgrade(config.database_url)
    # The clock-driven actor that escalates, merges repeats and schedules callbacks.
    from services import users
    from services.context import open_context

    ctx = open_context(config)
    try:
        users.ensure_system_user(ctx)
    finally:
        ctx.close()
    rev = _heads(config.database_url)
    if as_json:
        from cli.output import emit_json

        emit_json({"heads": rev}, None)
    else:
        typer.echo(f"数据库已升级, 当前版本: {', '.join(rev)}")


@app.command("current", epilog="示例: tousu db current --json")
def current(as_json: JsonOpt = False) -> None:
    """显示数据库当前的迁移版本。"""
    from config import load_config

    rev = _heads(load_config().database_url)
    if as_json:
        from cli.output import emit_json

        emit_json({"heads": rev}, None)
    else:
        typer.echo(f"当前版本: {', '.join(rev) or '(未初始化)'}")


def command(name: str) -> Any:
    """This sub-app as a click group (cli.main builds commands on first use)."""
    import typer.main

    return typer.main.get_command(app)
