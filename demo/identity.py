"""Demo step: identity. The demo's people get a web password (the demo's own, printed here and
in the README: a demo database only), one of them logs in and out, a read-only API token is
made and revoked, and the audit of it all is shown (services/identity.py)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from demo import staff
from services import identity
from services.context import Context
from storage.timeutil import local

# The demo's password for every demo person (README "What `make demo` shows"). Never a real
# installation's: there an administrator sets each with `tousu users passwd USERNAME`.
DEMO_PASSWORD = "tousu-demo-2026"


def run(ctx: Context, console: Console) -> None:
    console.rule("[bold]身份与登录: 网页密码、登录会话、API 令牌与审计")
    staff.seed(ctx)
    table = Table("用户名", "姓名", "角色", "网页密码")
    for username, name, role, _team in staff.STAFF:
        if not identity.has_password(ctx, username):
            identity.reset_password(
                ctx, username, DEMO_PASSWORD, actor="admin", must_change=False, client="demo"
            )
        table.add_row(username, name, role, DEMO_PASSWORD)
    console.print(table)
    console.print(
        "网页工作台: TOUSU_DATABASE_URL=sqlite:///data/demo.db tousu web, "
        "浏览器打开 http://127.0.0.1:8000/ 以上述用户登录"
    )
    user, session = identity.login(ctx, staff.BOSS, DEMO_PASSWORD, client="demo")
    console.print(f"{user['name']} 登录成功; 会话有效至 {_expiry(ctx, session)}")
    identity.logout(ctx, session, client="demo")
    made, raw = identity.create_token(
        ctx, username=staff.BOSS, name="演示看板", actor=staff.BOSS, scope=identity.READONLY
    )
    console.print(f"只读 API 令牌 #{made['id']} {made['prefix']}… (只显示一次, 数据库只存摘要)")
    assert identity.token_user(ctx, raw) is not None
    identity.revoke_token(ctx, made["id"], actor=staff.BOSS)
    console.print(f"令牌 #{made['id']} 已撤销: 再用它调用 API 得到 401")
    audit = Table("时间", "动作", "用户", "操作人")
    for event in reversed(identity.events(ctx, username=staff.BOSS, limit=6)):
        audit.add_row(
            local(event["at"], ctx.tz).strftime("%m-%d %H:%M:%S"),
            event["label"],
            event["username"],
            event["actor"],
        )
    console.print(audit)


def _expiry(ctx: Context, session: str) -> str:
    found = identity.session_info(ctx, session)
    if found is None:
        return "-"
    return local(found.expires_at, ctx.tz).strftime("%Y-%m-%d %H:%M")
