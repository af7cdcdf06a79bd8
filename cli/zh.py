"""Typer's and Click's own words in Chinese: usage errors, help headings, the help option.

typer 0.29 carries its own copy of Click (typer._click) whose messages are English f-strings
(no gettext catalogue to install), and validates values with pydantic, whose messages are
English too. So:
- `message(text)` translates one finished error message (cli/errors.py applies it to every
  Click exception before it is shown, or put into the `--json` error object);
- `install()` sets the fixed strings Typer's rich help and error panels read from
  `typer.rich_utils` at call time, the usage line's prefix and the help option's help text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# (pattern, replacement), applied in order to an English message; whatever no pattern knows
# stays as it is (a value or option name quoted inside a message is never translated).
_MESSAGES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"^Missing option '([^']*)'\.?", r"缺少必填选项 '\1'。"),
        (r"^Missing argument '([^']*)'\.?", r"缺少参数 '\1'。"),
        (r"^Missing parameter: (\S+)", r"缺少参数 \1"),
        (r"^Missing parameter '([^']*)'\.?", r"缺少参数 '\1'。"),
        (r"^Missing command\.", "缺少命令。"),
        (r"^No such command '(.*)'\.?", r"没有这个命令 '\1'。"),
        (r"^No such option: (\S+)", r"没有这个选项: \1"),
        (r"\(Possible options: (.*)\)", r"(可用选项: \1)"),
        (r"\.? ?Did you mean (.*)\?", r"。您是否要输入 \1?"),
        (r"^Option '([^']*)' requires an argument\.", r"选项 '\1' 需要一个值。"),
        (r"^Option '([^']*)' requires (\d+) arguments\.", r"选项 '\1' 需要 \2 个值。"),
        (r"^Option '([^']*)' does not take a value\.", r"选项 '\1' 不接受值。"),
        (r"^Got unexpected extra arguments? \((.*)\)", r"多余的参数: \1"),
        (r"^Argument '([^']*)' takes (\d+) values\.", r"参数 '\1' 需要 \2 个值。"),
        (r"^Invalid value for '([^']*)': ", r"选项 '\1' 的值无效: "),
        (r"^Invalid value for ([^:]*): ", r"\1 的值无效: "),
        (r"^Invalid value: ", "值无效: "),
        (r"Input should be a valid integer.*$", "应为整数"),
        (r"Input should be a valid number.*$", "应为数字"),
        (r"Input should be a valid boolean.*$", "应为 true/false"),
        (r"Input should be a finite number.*$", "应为有限的数字"),
        (r"Input should be a valid string.*$", "应为文字"),
        (r"Input should be less than or equal to (\S+)", r"应小于或等于 \1"),
        (r"Input should be greater than or equal to (\S+)", r"应大于或等于 \1"),
        (r"Input should be less than (\S+)", r"应小于 \1"),
        (r"Input should be greater than (\S+)", r"应大于 \1"),
        (r"Input should be (.*)$", r"应为 \1"),
        (r"Value (.*) is not a valid (\w+)\.", r"\1 不是有效的 \2。"),
        (r"(.*) is not one of (.*)\.$", r"\1 不是可选值之一: \2。"),
        (r"^Could not open file (.*?): ", r"无法打开文件 \1: "),
        (r"^Choose from:", "可选值:"),
    )
)

# Fixed strings typer.rich_utils reads when it draws help and errors.
RICH_STRINGS = {
    "DEPRECATED_STRING": "(已弃用) ",
    "DEFAULT_STRING": "[默认: {}]",
    "ENVVAR_STRING": "[环境变量: {}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "帮助: [blue]'{command_path} {help_option}'[/]",
}
# Help texts of the options Typer adds itself.
OPTION_HELP = {
    "Show this message and exit.": "显示本帮助并退出。",
    "Install completion for the current shell.": "为当前 shell 安装命令补全。",
    "Show completion for the current shell, to copy it or customize the installation.": (
        "显示当前 shell 的命令补全脚本 (可复制或自定义安装)。"
    ),
    "Install completion for the specified shell.": "为指定的 shell 安装命令补全。",
    "Show completion for the specified shell, to copy it or customize the installation.": (
        "显示指定 shell 的命令补全脚本 (可复制或自定义安装)。"
    ),
}
USAGE_PREFIX = "用法: "


def message(text: str) -> str:
    """One Click/Typer/pydantic error message in Chinese (parts it does not know unchanged)."""
    for pattern, replacement in _MESSAGES:
        text = pattern.sub(replacement, text)  # type: ignore[arg-type]
    return text


def translate_params(params: Any) -> None:
    """The help of the options Typer adds (help, shell completion) in Chinese, in place."""
    for param in params:
        text = getattr(param, "help", None)
        if text in OPTION_HELP:
            param.help = OPTION_HELP[text]


_installed = False


def rich_strings() -> None:
    """Typer's rich help and error panels in Chinese. Imports typer.rich_utils (and rich's
    tables), so it runs only when help or an error is drawn, never for a plain command."""
    from typer import rich_utils

    for name, value in RICH_STRINGS.items():
        setattr(rich_utils, name, value)


def install() -> None:
    """The usage line's prefix, the help option's help and the help screens in Chinese
    (once per process; cheap: nothing is imported that a command does not already load)."""
    global _installed
    if _installed:
        return
    _installed = True
    from typer import _click as click
    from typer import core
    from typer._click import formatting

    write_usage = formatting.HelpFormatter.write_usage

    def usage_in_chinese(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = usage_in_chinese  # type: ignore[method-assign]

    get_help_option = click.Command.get_help_option

    def help_option_in_chinese(self: Any, ctx: Any) -> Any:
        found = get_help_option(self, ctx)
        if found is not None:
            translate_params([found])
        return found

    click.Command.get_help_option = help_option_in_chinese  # type: ignore[method-assign]

    for cls in (core.TyperCommand, core.TyperGroup):
        format_help = cls.format_help

        def help_in_chinese(self: Any, ctx: Any, formatter: Any, _inner: Any = format_help) -> Any:
            rich_strings()
            translate_params(self.params)
            return _inner(self, ctx, formatter)

        cls.format_help = help_in_chinese  # type: ignore[method-assign]
