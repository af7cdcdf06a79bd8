"""One place where errors become exit codes and Chinese messages; never a traceback for
anything a user can cause.

Exit codes: 0 success; 2 bad input (also Click's usage errors); 3 forbidden (role, state,
guard, unknown or disabled user); 4 not found; 5 conflict (someone changed the case first);
6 configuration or database not usable. With `--json` the error is one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer
from typer import _click as click  # typer's own copy of Click, which TyperGroup is built on
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
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
    1: "程序错误",
    BAD_INPUT: "输入有误",
    FORBIDDEN: "不允许",
    NOT_FOUND: "不存在",
    CONFLICT: "冲突",
    UNUSABLE: "无法运行",
}
KINDS = {
    1: "unexpected",
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
    from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError

    if isinstance(exc, DataError) or isinstance(exc.__cause__, OverflowError):
        # A value the database cannot hold (PostgreSQL: too long for its column, out of an
        # integer's range, NaN, a NUL byte; SQLite: an integer beyond 64 bits). The limits
        # in states/validation.py refuse these first; this is the net under them.
        return (
            BAD_INPUT,
            "输入的值超出数据库允许的长度或范围, 或含有不允许的字符; 未作任何修改",
            None,
        )
    if isinstance(exc, IntegrityError):
        return CONFLICT, "与已有记录冲突 (如外部编号重复); 未作任何修改", None
    if isinstance(exc, (OperationalError, ProgrammingError)):
        text = str(exc.orig if getattr(exc, "orig", None) else exc)
        if "no such table" in text or "does not exist" in text:
            return UNUSABLE, "数据库尚未初始化, 请先运行 tousu db upgrade", None
        return UNUSABLE, f"数据库不可用: {text.splitlines()[0]}", None
    if isinstance(exc, OverflowError):
        return BAD_INPUT, "输入的数值或日期超出允许的范围; 未作任何修改", None
    if isinstance(exc, UnicodeError):
        return BAD_INPUT, "输入含有无效的字符编码 (不是有效的 UTF-8); 未作任何修改", None
    if isinstance(exc, (IsADirectoryError, FileExistsError, NotADirectoryError)):
        return BAD_INPUT, f"输出路径不可用: {exc.filename} ({_FILE_ERRORS[type(exc)]})", "out"
    if isinstance(exc, PermissionError):
        return UNUSABLE, f"没有权限访问文件: {exc.filename}", None
    return None


_FILE_ERRORS: dict[type[OSError], str] = {
    IsADirectoryError: "是一个目录, 请给出文件名",
    FileExistsError: "文件已存在",
    NotADirectoryError: "上级路径不是目录",
}


def readable(text: str) -> str:
    """A message safe to print: invalid UTF-8 and control characters (other than line
    breaks) shown as �, so an echoed value cannot drive the terminal."""
    from states.validation import bad_character

    return "".join(
        "\ufffd" if ch not in "\n" and bad_character(ch, multiline=False) else ch for ch in text
    )


def bad_argument(argv: list[str]) -> InvalidInput | None:
    """The first argument holding characters no one types (invalid UTF-8, control or bidi
    characters other than line breaks and tabs) or longer than any field takes, named by its
    option; checked before any command runs, so no command ever sees it."""
    from states.validation import TEXT_LIMITS, bad_character

    longest = max(TEXT_LIMITS.values())  # no field takes more: the net for every command
    for i, arg in enumerate(argv):
        bad = bad_character(arg, multiline=True)
        if bad is None and len(arg) > longest:
            bad = f"过长: 任何参数最多 {longest} 个字符, 实际 {len(arg)} 个"
        if bad is None:
            continue
        option, _, _ = arg.partition("=")
        if not option.startswith("--") or option == arg:
            option = argv[i - 1] if i > 0 and argv[i - 1].startswith("--") else ""
        if option and bad_character(option) is None:
            return InvalidInput(option[2:].replace("-", "_"), _why(bad))
        return InvalidInput(ARGUMENT, _why(bad))
    return None


ARGUMENT = "argument"  # the field of a positional argument (no flag to name)


def _why(bad: str) -> str:
    return bad if bad.startswith("过长") else f"含有不允许的字符: {bad}"


def log_unexpected(exc: BaseException) -> str:
    """Write the traceback of a bug to a log file (owner-only) and return its path."""
    import tempfile
    import traceback
    from datetime import UTC, datetime
    from pathlib import Path

    try:
        from config import load_config

        folder = load_config().data_dir / "logs"
        folder.mkdir(parents=True, exist_ok=True)
    except Exception:  # noqa: BLE001 - the configuration may be what failed
        folder = Path(tempfile.gettempdir())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"tousu-error-{stamp}.log"
    text = "".join(traceback.format_exception(exc))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
        out.write(text)
    return str(path)


def _param_field(exc: ClickException) -> str | None:
    """The field a Click usage error is about (an option's name; ARGUMENT for a positional)."""
    param = getattr(exc, "param", None)
    if param is None or not param.name:
        return None
    return str(param.name) if getattr(param, "opts", [""])[0].startswith("-") else ARGUMENT


def translated(exc: ClickException) -> ClickException:
    """A Click usage error with its message in Chinese (cli/zh.py), same exit code."""
    from cli import zh

    zh.rich_strings()
    text = zh.message(readable(exc.format_message()))
    if isinstance(exc, UsageError):
        found: ClickException = UsageError(text, ctx=exc.ctx)
    else:
        found = ClickException(text)
    found.exit_code = exc.exit_code
    return found


def report(code: int, message: str, field: str | None, as_json: bool) -> None:
    message = readable(message)
    if as_json:
        body: dict[str, Any] = {
            "ok": False,
            "error": {"code": code, "kind": KINDS.get(code, "error"), "message": message},
        }
        if field:
            body["error"]["field"] = field
            if field != ARGUMENT:
                body["error"]["flag"] = flag(field)
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    where = f" {flag(field)}" if field and field != ARGUMENT else (" 参数" if field else "")
    typer.echo(f"错误({TITLES.get(code, '错误')}){where}: {message}", err=True)


class TousuGroup(TyperGroup):
    """The root group: every command runs inside this `invoke`, so errors are mapped once.

    Before a command runs, its arguments are checked for characters no one types
    (`bad_argument`). Click's own errors come out in Chinese (cli/zh.py; with `--json` as the
    error object); an error a user can cause is one line and its exit code (`classify`); a
    bug is one Chinese line naming a log file with the traceback, exit 1, never a traceback
    on the terminal."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        from cli import zh

        zh.install()
        zh.translate_params(self.params)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:
            raise translated(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        argv = [*getattr(ctx, "protected_args", []), *ctx.args]
        as_json = "--json" in argv
        try:
            bad = bad_argument(argv)
            if bad is not None:
                raise bad
            return super().invoke(ctx)
        except typer.Abort:  # a prompt met the end of its input, or Ctrl-C: nothing done
            typer.echo("", err=True)
            report(BAD_INPUT, "已中止 (输入已结束或被中断), 未作任何修改", None, as_json)
            sys.stdout.flush()
            raise typer.Exit(BAD_INPUT) from None
        except (typer.Exit, NoArgsIsHelpError):
            raise
        except ClickException as exc:
            found = translated(exc)
            if not as_json or not isinstance(exc, UsageError):
                raise found from None
            report(BAD_INPUT, found.format_message(), _param_field(exc), as_json=True)
            sys.stdout.flush()
            raise typer.Exit(BAD_INPUT) from None
        except Exception as exc:  # noqa: BLE001 - classified below; bugs are logged
            found_error = classify(exc)
            if found_error is None:
                path = log_unexpected(exc)
                report(1, f"出现未预料的错误, 请联系系统管理员; 详情已写入 {path}", None, as_json)
                sys.stdout.flush()
                raise typer.Exit(1) from None
            code, message, field = found_error
            if code == FORBIDDEN:  # every refusal is audited: who, what, when
                from os import environ

                from services.access import record_cli_refusal

                sub = [ctx.invoked_subcommand] if ctx.invoked_subcommand else []
                record_cli_refusal([*sub, *argv], message, environ)
            report(code, message, field, as_json=as_json)
            sys.stdout.flush()
            raise typer.Exit(code) from None
