"""`tousu users add/list/disable/enable`: administrators manage who may act and in which role."""

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
        if as_json:
            from cli.output import emit_json

            emit_json(
                {
                    "user": {
                        "username": username,
                        "name": name,
                        "role": role,
                        "team": team,
                        "branch": branch,
                        "employee_no": employee_no,
                        "active": True,
                    }
                },
                ctx.tz,
            )
        else:
            typer.echo(f"已添加用户 {username} ({name}, {role})")
    finally:
        ctx.close()


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
    from services import users as svc

    ctx = open_ctx()
    try:
        svc.set_active(ctx, username, active, actor=resolve_user(ctx, user)["username"])
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
    """停用用户 (历史记录保留, 停用后不能再操作)。"""
    _set_active(username, False, user, as_json)


@app.command("enable", epilog="示例: tousu users enable li.duijie --user admin")
def enable(
    username: Annotated[str, typer.Argument(help="用户名")],
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """重新启用用户。"""
    _set_active(username, True, user, as_json)


def command(name: str) -> Any:
    """This sub-app as a click group (cli.main builds commands on first use)."""
    import typer.main

    return typer.main.get_command(app)
