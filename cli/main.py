"""The `tousu` Typer app and its entry point `run()` (pyproject: tousu = "cli.main:run").

Owns the command tree only. Every sub-app module must be cheap to import: it imports typer
and cli helpers at the top, and services, Prefect, Apprise, openpyxl inside its commands,
so that `tousu show` never pays for `tousu report` (bench/cli_latency.py measures this).
Errors become exit codes in one place: cli/errors.py (TousuGroup wraps every command).
"""

from __future__ import annotations

import typer

from cli.errors import TousuGroup

app = typer.Typer(
    name="tousu", cls=TousuGroup, no_args_is_help=True, rich_markup_mode="rich",
    help="投诉处理系统 (消费者权益保护部)。\n\n示例: [bold]tousu queue --user li.duijie[/bold]",
    epilog="身份: --user、环境变量 TOUSU_USER 或配置 general.default_user。"
           "退出码: 0 成功, 2 输入有误, 3 无权/状态不允许, 4 不存在, 5 冲突, 6 配置/数据库错误。",
)

# ---- Sub-apps and commands: one line each (keep imports cheap; import heavy things lazily) --
from cli import actions, cases, db, users  # noqa: E402

cases.register_commands(app)      # register, show, queue
actions.register_commands(app)    # accept, assign, investigate, ... (one per lifecycle action)
app.add_typer(users.app, name="users")
app.add_typer(db.app, name="db")
# app.add_typer(notifications.app, name="notifications")  # ("notify" is the lifecycle action)
from cli import attention, callback, ledger  # noqa: E402

app.add_typer(ledger.app, name="ledger")      # ledger (台账)
app.add_typer(callback.app, name="callback")  # callbacks (回访)
app.add_typer(attention.app, name="attention")  # special-attention list (特别关注客户)
from cli import serve  # noqa: E402
serve.register_commands(app)      # serve (flows/serve.py; Prefect imported lazily)
# app.add_typer(report.app, name="report")      # reports
# app.add_typer(imports.app, name="import")     # bulk import
# ---- end of sub-apps ------------------------------------------------------------------------


def run() -> None:
    """Console-script entry point."""
    app()
