"""Users and roles (administrators manage them; `system` is the clock-driven actor)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from services.context import Context
from states.errors import InvalidInput, NotFound
from states.lifecycle import Role
from states.validation import text
from storage.models import User
from storage.schema import table_of
from storage.timeutil import to_db, utcnow

USER = table_of(User)
SYSTEM_USER = "system"
USERNAME = re.compile(r"[A-Za-z0-9._]{1,64}")  # the user table's username column is 64 long


def _require_admin(ctx: Context, actor: str | None) -> None:
    if actor is None:  # bootstrap (first administrator, demo, tests)
        return
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(USER.c.role, USER.c.active).where(USER.c.username == actor)
        ).first()
    if row is None or not row.active or row.role != Role.admin:
        from states.errors import Forbidden

        raise Forbidden("只有系统管理员可以管理用户")


def add_user(
    ctx: Context,
    username: str,
    *,
    name: str,
    role: str,
    team: str = "",
    branch: str = "head_office",
    email: str = "",
    employee_no: str = "",
    actor: str | None = None,
    bootstrap: bool = False,
) -> None:
    """`employee_no` is the staff number (工号) the recusal check (Art. 17) matches against the
    employee a complaint is about. `bootstrap`: the first administrator, added without an
    acting user, only while the user table holds no one but the system actor."""
    _require_admin(ctx, actor)
    if role == Role.system and (actor is not None or bootstrap):
        raise InvalidInput("role", "system 是系统自动处理的身份, 不能分配给用户")
    if not USERNAME.fullmatch(username or ""):
        raise InvalidInput("username", "用户名只能包含字母、数字、点和下划线, 最多 64 个字符")
    name = text(name, "name", limit=100, required=True) or ""
    team = text(team, "team", limit=64) or ""
    email = text(email, "email", limit=200, multiline=False) or ""
    employee_no = (employee_no or "").strip()
    if len(employee_no) > 40:
        raise InvalidInput("employee_no", "工号最多 40 个字符")
    try:
        Role(role)
    except ValueError:
        raise InvalidInput("role", f"角色取值: {', '.join(r.value for r in Role)}") from None
    if branch not in ctx.config.taxonomy.branches:
        raise InvalidInput("branch", f"机构取值: {', '.join(ctx.config.taxonomy.branches)}")
    with ctx.engine.begin() as conn:
        if bootstrap:
            _only_bootstrap(conn, role)
        if conn.execute(select(USER.c.id).where(USER.c.username == username)).first():
            raise InvalidInput("username", f"用户 {username} 已存在")
        conn.execute(
            insert(USER).values(
                username=username,
                name=name,
                role=role,
                team=team,
                branch=branch,
                employee_no=employee_no,
                email=email,
                active=True,
                created_at=to_db(utcnow()),
            )
        )


def ensure_system_user(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        if not conn.execute(select(USER.c.id).where(USER.c.username == SYSTEM_USER)).first():
            conn.execute(
                insert(USER).values(
                    username=SYSTEM_USER,
                    name="系统",
                    role=Role.system,
                    team="",
                    branch="head_office",
                    email="",
                    active=True,
                    created_at=to_db(utcnow()),
                )
            )


def _people(conn: Connection) -> int:
    """Users other than the system actor, active or not."""
    return int(
        conn.execute(
            select(func.count()).select_from(USER).where(USER.c.role != Role.system)
        ).scalar()
        or 0
    )


def has_people(ctx: Context) -> bool:
    """Whether anyone but the system actor was ever added (bootstrap is over once so)."""
    with ctx.engine.connect() as conn:
        return _people(conn) > 0


def _only_bootstrap(conn: Connection, role: str) -> None:
    from states.errors import Forbidden

    if _people(conn):
        raise Forbidden("系统中已有用户: 添加用户须由系统管理员操作 (--user)")
    if role != Role.admin:
        raise InvalidInput("role", "第一个用户须是系统管理员 (--role admin)")


def set_active(ctx: Context, username: str, active: bool, *, actor: str | None = None) -> None:
    """Never disables the last active administrator (no one could manage users after)."""
    _require_admin(ctx, actor)
    with ctx.engine.begin() as conn:
        if not active:
            _keep_an_administrator(conn, username)
        done = conn.execute(update(USER).where(USER.c.username == username).values(active=active))
        if done.rowcount == 0:
            raise NotFound(f"用户 {username} 不存在")


def _keep_an_administrator(conn: Connection, username: str) -> None:
    from states.errors import Forbidden

    admins = [
        r.username
        for r in conn.execute(
            select(USER.c.username).where(USER.c.role == Role.admin, USER.c.active.is_(True))
        )
    ]
    if admins == [username]:
        raise Forbidden(f"{username} 是最后一位启用的系统管理员, 不能停用 (请先添加另一位管理员)")


def list_users(ctx: Context, *, actor: str | None = None) -> list[dict[str, Any]]:
    """Every user; when `actor` is given it must be an administrator or a supervisor (who
    needs the names to assign cases). Internal callers (bootstrap, demo) pass no actor."""
    if actor is not None:
        with ctx.engine.connect() as conn:
            row = conn.execute(
                select(USER.c.role, USER.c.active).where(USER.c.username == actor)
            ).first()
        if row is None or not row.active or row.role not in (Role.admin, Role.supervisor):
            from states.errors import Forbidden

            raise Forbidden("只有系统管理员和主管可以查看用户列表")
    with ctx.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(USER).order_by(USER.c.username)).mappings()]


def get_user(ctx: Context, username: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(USER).where(USER.c.username == username)).mappings().first()
    if row is None:
        raise NotFound(f"用户 {username} 不存在")
    return dict(row)


def set_contact(
    ctx: Context,
    username: str,
    *,
    wecom_userid: str | None = None,
    mobile: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Whom WeCom robot alerts @-mention for this user: the WeCom user id, or the work mobile
    (kept encrypted, storage/vault.py; shown masked). An empty string clears a value."""
    from services.privacy import mask_phone
    from states.validation import phone

    _require_admin(ctx, actor)
    values: dict[str, Any] = {}
    if wecom_userid is not None:
        if (
            wecom_userid
            and not wecom_userid.replace("_", "")
            .replace(".", "")
            .replace("-", "")
            .replace("@", "")
            .isalnum()
        ):
            raise InvalidInput("wecom_userid", "企业微信账号只能包含字母、数字和 . _ - @")
        values["wecom_userid"] = wecom_userid
    if mobile is not None:
        values["mobile_token"] = ctx.vault.encrypt(phone(mobile, "mobile")) if mobile else None
    with ctx.engine.begin() as conn:
        if values:
            done = conn.execute(update(USER).where(USER.c.username == username).values(**values))
            if done.rowcount == 0:
                raise NotFound(f"用户 {username} 不存在")
        row = conn.execute(
            select(USER.c.wecom_userid, USER.c.mobile_token).where(USER.c.username == username)
        ).first()
    if row is None:
        raise NotFound(f"用户 {username} 不存在")
    return {
        "username": username,
        "wecom_userid": row.wecom_userid,
        "mobile": mask_phone(ctx.vault.decrypt(row.mobile_token)),
    }
