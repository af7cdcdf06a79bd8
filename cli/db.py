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
        key = _record_key_check(ctx)
    finally:
        ctx.close()
    rev = _heads(config.database_url)
    if as_json:
        from cli.output import emit_json

        emit_json({"heads": rev, "key": key}, None)
    else:
        typer.echo(f"数据库已升级, 当前版本: {', '.join(rev)}")
        if key == "absent":
            typer.echo(
                "提示: 尚无个人信息密钥。新数据库请运行 tousu db init (或 tousu key new); "
                "已有数据请设置原密钥 (TOUSU_KEY 或 general.key_file)",
                err=True,
            )


def _record_key_check(ctx: Any) -> str:
    """The key's check value stored with the schema when a key is configured: "recorded",
    "present" (the database had it) or "absent" (no key yet; nothing is created here). A
    key that is not this database's is refused (exit 6)."""
    from services import keys

    try:
        found = keys.read_keys(ctx.config)
    except keys.KeyUnusable:
        if ctx.config.key or ctx.config.key_file.exists():
            raise  # malformed or unreadable: say so
        return "absent"
    return "recorded" if keys.ensure_check(ctx, found) else "present"


@app.command(
    "init",
    epilog="示例: tousu db init\n\n"
    "TOUSU_DATABASE_URL=postgresql://tousu@db/tousu TOUSU_KEY_FILE=/etc/tousu/tousu.key "
    "tousu db init",
)
def init(as_json: JsonOpt = False) -> None:
    """新建数据库: 升级结构, 没有个人信息密钥时生成一个 (0600), 并在数据库中登记其校验值。"""
    from config import load_config
    from services import keys, users
    from services.context import open_context
    from storage import migrate

    config = load_config()
    created = None
    try:
        keys.read_keys(config)
    except keys.KeyUnusable:
        if config.key or config.key_file.exists():
            raise  # a key is configured but unusable: never replaced silently
        created = keys.new_key_file(config)
    migrate.upgrade(config.database_url)
    ctx = open_context(config)
    try:
        users.ensure_system_user(ctx)
        keys.ensure_check(ctx)
        shown = keys.status(ctx)
    finally:
        ctx.close()
    rev = _heads(config.database_url)
    if as_json:
        from cli.output import emit_json

        emit_json(
            {
                "heads": rev,
                "key_file_created": str(created) if created else None,
                "key": {k: shown[k] for k in ("source", "fingerprint", "ok")},
            },
            None,
        )
        return
    typer.echo(f"数据库已就绪, 当前版本: {', '.join(rev)}")
    if created:
        typer.echo(
            f"已生成个人信息密钥 {created} (权限 0600, 指纹 {shown['fingerprint']}…): "
            "请立即备份到安全位置; 丢失密钥则个人信息无法解密"
        )
    else:
        typer.echo(f"个人信息密钥来自 {shown['source']} (指纹 {shown['fingerprint']}…)")


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
