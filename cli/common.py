"""Options and helpers every command shares: who acts (--user), when (--at), --json.

Cheap to import (typer only); services are imported inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from states.errors import Forbidden, InvalidInput, NotFound

if TYPE_CHECKING:
    from services.context import Context

UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        envvar="TOUSU_USER",
        show_envvar=True,
        help="操作人用户名 (或环境变量 TOUSU_USER, 或配置 general.default_user)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出一个 JSON 对象 (机器可读)")]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at", help="发生时间, ISO 格式; 不带时区按 Asia/Shanghai, 如 2026-03-02T10:30; 默认现在"
    ),
]
VersionOpt = Annotated[
    int | None,
    typer.Option(
        "--expect-version",
        min=0,
        max=2**31 - 1,
        help="您看到的版本号; 他人已修改时拒绝 (退出码 5)",
    ),
]


@dataclass
class Session:
    ctx: Context
    user: dict[str, Any]

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def role(self) -> str:
        return str(self.user["role"])


def open_ctx() -> Context:
    """The context of a command, after the personal-data key is found to be this database's
    (exit 6 otherwise: services/keys.py)."""
    from config import load_config
    from services.context import open_context
    from services.keys import check_at_start

    ctx = open_context(load_config())
    try:
        check_at_start(ctx)
    except BaseException:
        ctx.close()
        raise
    return ctx


def resolve_user(ctx: Context, user: str | None) -> dict[str, Any]:
    """The acting user: --user, TOUSU_USER, then the configuration; unknown users refused."""
    from services.lifecycle.queries import actor

    name = user or ctx.config.default_user
    if not name:
        raise InvalidInput(
            "user", "未指定操作人: 请使用 --user、环境变量 TOUSU_USER 或配置 general.default_user"
        )
    try:
        found = actor(ctx, name)
    except NotFound:
        raise Forbidden(f"未知用户 {name}: 请联系系统管理员添加 (tousu users add)") from None
    if not found["active"]:
        raise Forbidden(f"用户 {name} 已停用")
    if found["role"] == "system":  # the clock-driven actor: its actions are never a person's
        raise Forbidden(f"{name} 是系统自动处理使用的身份, 不能在命令行中指定")
    return found


@contextmanager
def session(user: str | None) -> Iterator[Session]:
    ctx = open_ctx()
    try:
        yield Session(ctx, resolve_user(ctx, user))
    finally:
        ctx.close()


def parse_at(value: str | None, tz: Any, field: str = "at") -> datetime | None:
    """ISO date or date-time; without an offset it is local time in the configured zone."""
    if value is None or value == "":
        return None
    from states.validation import iso_datetime

    when = iso_datetime(value, field)
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def parse_date(value: str | None, tz: Any, field: str) -> datetime | None:
    """A date (or date-time) as the start of that local day, for regulator dates."""
    if value is None or value == "":
        return None
    return parse_at(value, tz, field)


def build(fn: Any, name: str, epilog: str) -> Any:
    """One function as a click command (for cli.main's lazy command table)."""
    import typer.main

    single = typer.Typer(rich_markup_mode="rich", add_completion=False)
    single.command(name, epilog=epilog)(fn)
    return typer.main.get_command(single)
