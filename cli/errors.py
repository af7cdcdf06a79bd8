"""One place where errors become exit codes and Chinese messages; never a traceback for
anything a user can cause.

Exit codes: 0 success; 2 bad input (also Click's usage errors); 3 forbidden (role, state,
guard, unknown or disabled user); 4 not found; 5 conflict (someone changed the case first);
6 configuration or database not usable. With `--json` the error is one JSON object on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from typer import _click as click  # typer's own copy of Click, which TyperGroup is built on
from typer.core import TyperGroup

from states.errors import Conflict, Forbidden, InvalidInput, NotFound, TousuError

BAD_INPUT, FORBIDDEN, NOT_FOUND, CONFLICT, UNUSABLE = (
    InvalidInput.exit_code,
    Forbidden.exit_code,
    NotFound.exit_code,
    Conflict.exit_code,
    6,
)

TITLES = {
    BAD_INPUT: "输入有误",
    FORBIDDEN: "不允许",
    NOT_FOUND: "不存在",
    CONFLICT: "冲突",
    UNUSABLE: "无法运行",
}
KINDS = {
    BAD_INPUT: "invalid_input",
    FORBIDDEN: "forbidden",
    NOT_FOUND: "not_found",
    CONFLICT: "conflict",
    UNUSABLE: "unusable",
}


def flag(field: str) -> str:
    """The command-line flag a service field name corresponds to (phone → --phone)."""
    return "--" + field.replace("_", "-")


def classify(exc: BaseException) -> tuple[int, str, str | None] | None:
    """(exit code, message, field) for an error a user can cause; None for a bug."""
    if isinstance(exc, InvalidInput):
        return BAD_INPUT, exc.reason, exc.field
    if isinstance(exc, TousuError):
        return exc.exit_code, str(exc), None
    from config import ConfigError

    if isinstance(exc, ConfigError):
        return UNUSABLE, str(exc), None
    if type(exc).__name__ == "InvalidToken":  # cryptography.fernet, not imported here
        return (
            UNUSABLE,
            "个人信息无法解密: 密钥 (TOUSU_KEY 或 general.key_file) 与数据库不匹配",
            None,
        )
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if isinstance(exc, (OperationalError, ProgrammingError)):
        text = str(exc.orig if getattr(exc, "orig", None) else exc)
        if "no such table" in text or "does not exist" in text:
            return UNUSABLE, "数据库尚未初始化, 请先运行 tousu db upgrade", None
        return UNUSABLE, f"数据库不可用: {text.splitlines()[0]}", None
    return None


def report(code: int, message: str, field: str | None, as_json: bool) -> None:
    if as_json:
        body: dict[str, Any] = {
            "ok": False,
            "error": {"code": code, "kind": KINDS.get(code, "error"), "message": message},
        }
        if field:
            body["error"]["field"] = field
            body["error"]["flag"] = flag(field)
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    where = f" {flag(field)}" if field else ""
    typer.echo(f"错误({TITLES.get(code, '错误')}){where}: {message}", err=True)


class TousuGroup(TyperGroup):
    """The root group: every command runs inside this `invoke`, so errors are mapped once."""

    def invoke(self, ctx: click.Context) -> Any:
        argv = [*getattr(ctx, "protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:  # noqa: BLE001 - classified below; bugs are re-raised
            found = classify(exc)
            if found is None:
                raise
            code, message, field = found
            if code == FORBIDDEN:  # every refusal is audited: who, what, when
                from os import environ

                from services.access import record_cli_refusal

                sub = [ctx.invoked_subcommand] if ctx.invoked_subcommand else []
                record_cli_refusal([*sub, *argv], message, environ)
            report(code, message, field, as_json="--json" in argv)
            sys.stdout.flush()
            raise typer.Exit(code) from None
