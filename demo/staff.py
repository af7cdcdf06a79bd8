"""The demo's people, shared by every step (each step seeds them, so any one runs alone)."""

from __future__ import annotations

from services import users
from services.context import Context

CLERK, HANDLER, BOSS = "zhang.shouli", "li.duijie", "wang.zhuguan"
STAFF = [
    (CLERK, "张受理", "intake_clerk", "北京消保组"),
    ("chen.diaocha", "陈调查", "investigator", "北京消保组"),
    (HANDLER, "李对接", "liaison", "北京消保组"),
    (BOSS, "王主管", "supervisor", "北京消保组"),
    ("sun.weiyuan", "孙委员", "committee", "消委会"),
    ("admin", "系统管理员", "admin", ""),
]


def seed(ctx: Context) -> None:
    """The system actor and the staff above (Beijing branch), those not yet there."""
    users.ensure_system_user(ctx)
    existing = {u["username"] for u in users.list_users(ctx)}
    for username, name, role, team in STAFF:
        if username not in existing:
            users.add_user(ctx, username, name=name, role=role, team=team, branch="beijing")
