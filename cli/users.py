"""`tousu users add/list/disable/enable/passwd/link/unlink/token`: administrators manage who
may act and in which role; everyone changes their own password and makes their own tokens
(services/identity.py; docs/web.md "身份与登录")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import JsonOpt, UserOpt, open_ctx, resolve_user

if TYPE_CHECKING:  # services are imported inside the commands (cli/main.py: start-up cost)
    from services.context import Context

app = typer.Typer(
    add_completion=False,
    help="用户与角色管理 (系统管理员)。\n\n示例: tousu users list --user admin",
    no_args_is_help=True,
)

ROLE_HELP = (
    "角色: intake_clerk(受理员) investigator(调查员) coordinator(协调员) "
    "liaison(投诉对接人) supervisor(主管) committee(消委会委员) admin(系统管理员)"
)


def _actor(ctx: Context, user: str | None) -> str | None:
    """The administrator acting; None only to bootstrap the very first administrator."""
    from services import users as svc

    if not user and not ctx.config.default_user and not svc.has_people(ctx):
        return None
    return str(resolve_user(ctx, user)["username"])


@app.command(
    "add",
    epilog="示例: tousu users add li.duijie --name 李对接 --role liaison "
    "--team 北京消保组 --branch beijing --user admin",
)
def add(
    username: Annotated[str, typer.Argument(help="用户名 (字母、数字、点、下划线)")],
    name: Annotated[str, typer.Option(help="姓名")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    team: Annotated[str, typer.Option(help="所在小组")] = "",
    branch: Annotated[str, typer.Option(help="所属机构代码, 如 beijing")] = "head_office",
    email: Annotated[str, typer.Option(help="电子邮件")] = "",
    employee_no: Annotated[
        str, typer.Option(help="工号 (回避检查: 被投诉员工不得负责或调查, 第十七条)")
    ] = "",
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """添加用户。系统中还没有管理员时, 可不带 --user 创建第一个管理员。"""
    from services import users as svc

    ctx = open_ctx()
    try:
        actor = _actor(ctx, user)
        svc.add_user(
            ctx,
            username,
            name=name,
            role=role,
            team=team,
            branch=branch,
            email=email,
            employee_no=employee_no,
            actor=actor,
            bootstrap=actor is None,
        )
        linked = _link_first_administrator(ctx, username) if actor is None else None
        if as_json:
            from cli.output import emit_json

            emit_json(
                {
                    "linked_os_account": linked,
                    "user": {
                        "username": username,
                        "name": name,
                        "role": role,
                        "team": team,
                        "branch": branch,
                        "employee_no": employee_no,
                        "active": True,
                    },
                },
                ctx.tz,
            )
        else:
            typer.echo(f"已添加用户 {username} ({name}, {role})")
            if linked:
                typer.echo(
                    f"已将操作系统账户 {linked} 关联到 {username}: 此后在该账户下运行的命令"
                    f"以 {username} 的身份执行 (tousu users link/unlink 可更改)"
                )
    finally:
        ctx.close()


def _link_first_administrator(ctx: Context, username: str) -> str | None:
    """The first administrator is linked to the OS account that created them, so that they
    can prove who they are afterwards (none yet is linked to anyone else). A single-user
    local setup proves no one and links no one."""
    from services import identity

    if identity.single_user(ctx):
        return None
    account = identity.current_os_account()
    if identity.linked_user(ctx, account) is not None:
        return None
    identity.link_os_account(ctx, username, account, actor=None)
    return account


@app.command("list", epilog="示例: tousu users list --user admin --json")
def list_(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """列出全部用户及其角色 (系统管理员、主管)。"""
    from cli import output
    from services import users as svc
    from states.lifecycle import Role

    ctx = open_ctx()
    try:
        rows = svc.list_users(ctx, actor=str(resolve_user(ctx, user)["username"]))
        keys = ("username", "name", "role", "team", "branch", "employee_no", "email", "active")
        if as_json:
            output.emit_json({"users": [{k: r[k] for k in keys} for r in rows]}, ctx.tz)
            return
        t = output.Table("用户", ["用户名", "姓名", "角色", "小组", "机构", "工号", "状态"])
        for r in rows:
            t.add_row(
                r["username"],
                r["name"],
                Role(r["role"]).label,
                r["team"],
                r["branch"],
                r["employee_no"] or "-",
                "启用" if r["active"] else "停用",
            )
        t.print()
    finally:
        ctx.close()


@app.command(
    "contact",
    epilog="示例: tousu users contact wang.zhuguan --wecom-id WangZhuGuan --user admin\n\n"
    "tousu users contact li.duijie --mobile 13800138000 --user admin",
)
def contact(
    username: Annotated[str, typer.Argument(help="用户名")],
    wecom_id: Annotated[
        str | None, typer.Option("--wecom-id", help="企业微信账号 (群机器人提醒 @ 此人)")
    ] = None,
    mobile: Annotated[
        str | None, typer.Option(help="工作手机号 (无企业微信账号时按手机号 @; 加密保存)")
    ] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """设置群机器人提醒 @ 此用户的方式: 企业微信账号或工作手机号 (空字符串清除)。"""
    from services import users as svc

    ctx = open_ctx()
    try:
        shown = svc.set_contact(
            ctx,
            username,
            wecom_userid=wecom_id,
            mobile=mobile,
            actor=resolve_user(ctx, user)["username"],
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"user": shown}, ctx.tz)
        else:
            typer.echo(
                f"{username}: 企业微信账号 {shown['wecom_userid'] or '未设置'}, "
                f"工作手机 {shown['mobile'] or '未设置'}"
            )
    finally:
        ctx.close()


def _set_active(username: str, active: bool, user: str | None, as_json: bool) -> None:
    from services import identity

    ctx = open_ctx()
    try:
        identity.set_active(ctx, username, active, actor=resolve_user(ctx, user)["username"])
        if as_json:
            from cli.output import emit_json

            emit_json({"user": {"username": username, "active": active}}, ctx.tz)
        else:
            typer.echo(f"已{'启用' if active else '停用'}用户 {username}")
    finally:
        ctx.close()


@app.command("disable", epilog="示例: tousu users disable li.duijie --user admin")
def disable(
    username: Annotated[str, typer.Argument(help="用户名")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """停用用户 (历史记录保留, 停用后不能再操作; 其网页登录随即失效, 令牌不再可用)。"""
    _set_active(username, False, user, as_json)


@app.command("enable", epilog="示例: tousu users enable li.duijie --user admin")
def enable(
    username: Annotated[str, typer.Argument(help="用户名")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """重新启用用户。"""
    _set_active(username, True, user, as_json)


# ---- Passwords, OS-account links, tokens (services/identity.py) ----------------------------


@app.command(
    "passwd",
    epilog="示例: tousu users passwd  (修改自己的密码)\n\n"
    "tousu users passwd li.duijie --user admin  (管理员重置他人密码)",
)
def passwd(
    username: Annotated[
        str | None, typer.Argument(help="用户名; 省略则修改自己的密码", show_default=False)
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--no-force-change", help="重置他人密码时不要求其下次登录后修改"),
    ] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """修改自己的网页登录密码 (需输入当前密码), 或由系统管理员设置/重置他人的密码。

    密码在提示符下输入两次, 不显示、不写入命令历史。"""
    from services import identity

    ctx = open_ctx()
    try:
        me = str(resolve_user(ctx, user)["username"])
        target = username or me
        if target == me and identity.has_password(ctx, me):
            current = typer.prompt("当前密码", hide_input=True)
            new = _new_password()
            identity.change_password(ctx, me, current, new)
            done = f"已修改 {me} 的密码; 其他网页登录已退出"
        else:
            new = _new_password()
            identity.reset_password(ctx, target, new, actor=me, must_change=not keep)
            done = f"已设置 {target} 的密码" + (
                "; 该用户下次登录后须修改密码" if target != me and not keep else ""
            )
        if as_json:
            from cli.output import emit_json

            emit_json({"password": {"username": target, "set": True}}, ctx.tz)
        else:
            typer.echo(done)
    finally:
        ctx.close()


def _new_password() -> str:
    from states.errors import InvalidInput

    first = typer.prompt("新密码", hide_input=True)
    again = typer.prompt("再次输入新密码", hide_input=True)
    if first != again:
        raise InvalidInput("password", "两次输入的新密码不一致; 未作任何修改")
    return str(first)


@app.command(
    "link",
    epilog="示例: tousu users link li.duijie --os-account lidj --user admin",
)
def link(
    username: Annotated[str, typer.Argument(help="tousu 用户名")],
    os_account: Annotated[
        str | None,
        typer.Option("--os-account", help="操作系统账户名; 默认为运行此命令的账户"),
    ] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """关联操作系统账户: 此后在该账户下运行 tousu 即以此用户身份操作 (系统管理员)。"""
    from services import identity

    ctx = open_ctx()
    try:
        account = os_account or identity.current_os_account()
        identity.link_os_account(
            ctx, username, account, actor=str(resolve_user(ctx, user)["username"])
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"link": {"os_account": account, "username": username}}, ctx.tz)
        else:
            typer.echo(f"已将操作系统账户 {account} 关联到用户 {username}")
    finally:
        ctx.close()


@app.command("unlink", epilog="示例: tousu users unlink lidj --user admin")
def unlink(
    os_account: Annotated[str, typer.Argument(help="操作系统账户名")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """解除操作系统账户与 tousu 用户的关联 (系统管理员)。"""
    from services import identity

    ctx = open_ctx()
    try:
        was = identity.unlink_os_account(
            ctx, os_account, actor=str(resolve_user(ctx, user)["username"])
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"unlinked": {"os_account": os_account, "username": was}}, ctx.tz)
        else:
            typer.echo(f"已解除操作系统账户 {os_account} 与用户 {was} 的关联")
    finally:
        ctx.close()


@app.command("links", epilog="示例: tousu users links --user admin")
def links(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """列出操作系统账户与 tousu 用户的关联 (系统管理员)。"""
    from cli import output
    from services import identity

    ctx = open_ctx()
    try:
        rows = identity.list_links(ctx, actor=str(resolve_user(ctx, user)["username"]))
        if as_json:
            output.emit_json({"links": rows}, ctx.tz)
            return
        t = output.Table("操作系统账户关联", ["操作系统账户", "用户名", "关联人"])
        for r in rows:
            t.add_row(r["os_account"], r["username"], r["created_by"])
        t.print()
    finally:
        ctx.close()


token_app = typer.Typer(
    add_completion=False,
    help="API 令牌 (Authorization: Bearer, 或命令行的 TOUSU_TOKEN): 创建、列出、撤销。\n\n"
    "示例: tousu users token create --name 我的脚本",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")


@token_app.command(
    "create",
    epilog="示例: tousu users token create --name 我的脚本\n\n"
    "tousu users token create --for callcenter --name 呼叫中心 --kind integration --user admin",
)
def token_create(
    name: Annotated[str, typer.Option("--name", help="令牌用途 (便于识别)")],
    for_user: Annotated[
        str | None, typer.Option("--for", help="令牌所属用户 (默认本人; 他人须系统管理员)")
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(help="权限: 默认为该用户的角色; readonly 只读 (只能缩小, 不能扩大)"),
    ] = None,
    kind: Annotated[
        str, typer.Option(help="personal (个人) 或 integration (对接系统, 系统管理员创建)")
    ] = "personal",
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", help="有效天数; 默认不过期 (可随时撤销)")
    ] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """创建 API 令牌。令牌只显示这一次, 请立即妥善保存 (数据库只保存其摘要)。"""
    from services import identity

    ctx = open_ctx()
    try:
        me = str(resolve_user(ctx, user)["username"])
        made, raw = identity.create_token(
            ctx,
            username=for_user or me,
            name=name,
            actor=me,
            scope=scope,
            kind=kind,
            expires_days=expires_days,
        )
        if as_json:
            from cli.output import emit_json

            emit_json({"token": {**made, "token": raw}}, ctx.tz)
        else:
            typer.echo(
                f"已创建令牌 #{made['id']} ({made['username']}, {made['scope']}): {raw}\n"
                "此令牌只显示这一次。API: Authorization: Bearer <令牌>; 命令行: TOUSU_TOKEN=<令牌>"
            )
    finally:
        ctx.close()


@token_app.command("list", epilog="示例: tousu users token list --all")
def token_list(
    for_user: Annotated[
        str | None, typer.Option("--for", help="此用户的令牌 (他人须系统管理员)")
    ] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="包括已撤销的令牌")] = False,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """列出令牌 (本人的; 系统管理员: 全部)。不显示令牌本身。"""
    from cli import output
    from services import identity
    from storage.timeutil import local

    ctx = open_ctx()
    try:
        rows = identity.list_tokens(
            ctx,
            actor=str(resolve_user(ctx, user)["username"]),
            username=for_user,
            include_revoked=include_revoked,
        )
        if as_json:
            output.emit_json({"tokens": rows}, ctx.tz)
            return

        def when(value: Any) -> str:
            return local(value, ctx.tz).strftime("%Y-%m-%d %H:%M") if value else "-"

        t = output.Table(
            "API 令牌", ["编号", "开头", "用途", "类型", "用户", "权限", "创建", "最近使用", "状态"]
        )
        for r in rows:
            t.add_row(
                str(r["id"]),
                r["prefix"] + "…",
                r["name"],
                r["kind"],
                r["username"],
                r["scope"],
                when(r["created_at"]),
                when(r["last_used_at"]),
                "已撤销" if r["revoked_at"] else "有效",
            )
        t.print()
    finally:
        ctx.close()


@token_app.command("revoke", epilog="示例: tousu users token revoke 3")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="令牌编号 (tousu users token list)", min=1)],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """撤销令牌 (本人的; 系统管理员: 任何人的), 立即失效。"""
    from services import identity

    ctx = open_ctx()
    try:
        done = identity.revoke_token(ctx, token_id, actor=str(resolve_user(ctx, user)["username"]))
        if as_json:
            from cli.output import emit_json

            emit_json({"token": done}, ctx.tz)
        else:
            typer.echo(f"已撤销令牌 #{token_id} ({done['name']}, {done['username']})")
    finally:
        ctx.close()


@app.command("whoami", epilog="示例: tousu users whoami")
def whoami(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """显示命令行以谁的身份操作, 以及身份如何确认 (令牌、操作系统账户或单用户本地模式)。"""
    import os

    from services import identity

    ctx = open_ctx()
    try:
        me = resolve_user(ctx, user)
        account = identity.current_os_account()
        linked = identity.linked_user(ctx, account)
        if os.environ.get("TOUSU_TOKEN"):
            proof = "令牌 TOUSU_TOKEN"
        elif linked is not None:
            proof = f"操作系统账户 {account} (关联用户 {linked})"
        else:
            proof = "单用户本地模式 ([cli] single_user)"
        if as_json:
            from cli.output import emit_json

            emit_json(
                {
                    "user": {k: me[k] for k in ("username", "name", "role", "branch")},
                    "proven_by": proof,
                    "os_account": account,
                },
                ctx.tz,
            )
        else:
            typer.echo(f"{me['name']} ({me['username']}, {me['role']}); 身份确认: {proof}")
    finally:
        ctx.close()


def command(name: str) -> Any:
    """This sub-app as a click group (cli.main builds commands on first use)."""
    import typer.main

    return typer.main.get_command(app)
