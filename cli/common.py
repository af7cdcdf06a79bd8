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

if TYPE_CHECKING:
    from services.context import Context

UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        envvar="TOUSU_USER",
        show_envvar=True,
        help="以此用户身份操作 (或环境变量 TOUSU_USER): 仅限系统管理员或单用户本地模式; "
        "平时按关联的操作系统账户或 TOUSU_TOKEN 确认身份",
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
    """The acting user, proven (services/identity.py `cli_user`): the personal token in
    TOUSU_TOKEN, else the tousu user linked to the operating-system account running the
    command. --user / TOUSU_USER / general.default_user name someone else only for a proven
    administrator, or in a single-user local setup (`[cli] single_user`). Refused: exit 3."""
    import os

    from services import identity

    return identity.cli_user(
        ctx,
        user or ctx.config.default_user or None,
        token=os.environ.get("TOUSU_TOKEN") or None,
        os_account=identity.current_os_account(),
    )


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
