"""The `tousu` Typer app and its entry point `run()` (pyproject: tousu = "cli.main:run").

Owns the command tree only. Start-up cost matters (bench/cli_latency.py: `tousu show` within
1.3× of `python -c "import sqlmodel, typer"`), so:
- tousu's own commands are listed in `LAZY` by name and module; a module is imported, and its
  Typer command built, only when that command runs (or when help lists every command);
- every sub-app module must be cheap to import: typer and cli helpers at the top; services,
  Prefect, Apprise, openpyxl inside its commands, so `tousu show` never pays for `tousu report`.
Errors become exit codes in one place: cli/errors.py (TousuGroup wraps every command).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

# typer 0.29 carries its own copy of Click (typer._click), distinct from the click package;
# TyperGroup's methods take and return that copy's Context and Command.
from typer import _click as click

from cli import actions
from cli.errors import TousuGroup

# Command name → where it lives, imported and built only when that command runs (or help lists
# every command): "module" (which has `command(name) -> click.Command`) or "module:app" (a
# Typer sub-app). Other features add their sub-app here with ONE line, e.g.
#     "report": "cli.report:app",
LAZY: dict[str, str] = {
    **dict.fromkeys(("register", "show", "queue"), "cli.cases"),
    # Every lifecycle action people take: one command per row of states/lifecycle.py ACTIONS.
    **dict.fromkeys(actions.top_level(), "cli.actions"),
    "users": "cli.users",
    "db": "cli.db",
    "key": "cli.keys:app",  # personal-data key: new, rotate, status
    "doctor": "cli.doctor",  # the key, file modes and secrets checked
    # ---- Other features' sub-apps: one line each ("notify" is the lifecycle action 告知, so
    # ---- notifications take another name) ------------------------------------------------
    "ledger": "cli.ledger:app",  # ledger (台账)
    "callback": "cli.callback:app",  # callbacks (回访)
    "attention": "cli.attention:app",  # special-attention list (特别关注客户)
    "serve": "cli.serve",  # the automatic side (flows/serve.py, Prefect lazily)
    "notifications": "cli.notifications:app",  # alert outbox: dispatch/status/test/digest
    "report": "cli.report:app",  # reports and five-dimension case export (统计报告)
    "import": "cli.importer:app",  # bulk import from CSV/XLSX (批量导入)
    "find": "cli.find:app",  # complaints by phone / ID number / policy (按个人信息查找)
    "contact": "cli.contact",  # contact log (联系记录)
    "attach": "cli.evidence",  # evidence files in (证据材料)
    "evidence": "cli.evidence:app",  # evidence list/get/verify
    "rectify": "cli.rectify:app",  # rectification ledger (整改台账)
    "letter": "cli.letter",  # letters to the complainant (告知书)
    "message": "cli.message",  # SMS/e-mail to the complainant (短信/邮件告知)
    "transfers": "cli.transfers:app",  # the regulator's 12378 transfers in, results out (监管转办)
    "web": "cli.web",  # the browser workspace and the API (uvicorn)
    # ---- end of sub-apps -------------------------------------------------------------------
}


def _load(name: str) -> click.Command:
    module, _, attr = LAZY[name].partition(":")
    found = importlib.import_module(module)
    if not attr:
        return found.command(name)  # type: ignore[no-any-return]
    import typer.main

    cmd = typer.main.get_command(getattr(found, attr))
    # A sub-app built on its own would offer shell completion again: the root does that.
    cmd.params = [p for p in cmd.params if p.name not in ("install_completion", "show_completion")]
    return cmd


# `tousu notify NUMBER ...` is the lifecycle action 告知; `tousu notify dispatch|status|test|
# digest` are the alert outbox's commands (the same as `tousu notifications ...`).
NOTIFY_OUTBOX = frozenset({"dispatch", "status", "test", "digest"})


class RootGroup(TousuGroup):
    """The root group: typer-registered sub-apps plus the lazily built commands of LAZY."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if len(args) > 1 and args[0] == "notify" and args[1] in NOTIFY_OUTBOX:
            outbox = self.get_command(ctx, "notifications")
            return "notify", outbox, args[1:]
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*LAZY, *(n for n in super().list_commands(ctx) if n not in LAZY)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in LAZY:
            found = _load(cmd_name)
            found.name = cmd_name
            self.commands[cmd_name] = found
        return found


app = typer.Typer(
    name="tousu",
    cls=RootGroup,
    no_args_is_help=True,
    rich_markup_mode="rich",
    epilog="身份: --user、环境变量 TOUSU_USER 或配置 general.default_user。"
    "退出码: 0 成功, 2 输入有误, 3 无权/状态不允许, 4 不存在, 5 冲突, 6 配置/数据库错误。",
)


@app.callback()
def main() -> None:
    """投诉处理系统 (消费者权益保护部)。

    示例: [bold]tousu queue --user li.duijie[/bold]
    """


# Sub-apps may still be added eagerly with `app.add_typer(x.app, name="x")`, but every command
# then pays for building them: prefer one line in LAZY above.


def run(*args: Any) -> None:
    """Console-script entry point."""
    app()
