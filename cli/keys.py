"""`tousu key new/rotate/status`: the personal-data key (services/keys.py).

Cheap to import: services are imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import JsonOpt

app = typer.Typer(
    add_completion=False,
    help="个人信息密钥: 生成、轮换、查看状态 (密钥本身从不显示)。\n\n示例: tousu key status",
    no_args_is_help=True,
)


@app.command(
    "new", epilog="示例: tousu key new\n\nTOUSU_KEY_FILE=/etc/tousu/tousu.key tousu key new"
)
def new(
    print_: Annotated[
        bool,
        typer.Option("--print", help="只把新密钥打印到标准输出 (放入密钥管理服务或 TOUSU_KEY)"),
    ] = False,
) -> None:
    """生成新密钥文件 (权限 0600; 已存在则拒绝, 绝不覆盖)。"""
    from config import load_config
    from services import keys

    if print_:
        typer.echo(keys.new_key().decode())
        return
    path = keys.new_key_file(load_config())
    typer.echo(f"已生成个人信息密钥 {path} (权限 0600): 请立即备份到安全位置")


@app.command(
    "rotate",
    epilog="示例: tousu key rotate\n\n"
    "TOUSU_KEY=新密钥,旧密钥 tousu key rotate --batch 1000 (密钥由环境提供时)",
)
def rotate(
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="每个事务重新加密的行数")] = 500,
    as_json: JsonOpt = False,
) -> None:
    """轮换密钥: 生成新密钥放在密钥文件最前 (旧密钥保留用于解密), 分批重新加密全部个人信息;
    中断后再次运行从中断处继续。"""
    from config import load_config
    from services import keys
    from services.context import open_context

    ctx = open_context(load_config())
    try:

        def progress(r: Any) -> None:
            if not as_json:
                typer.echo(f"已重新加密 {r.rewritten} 行 (第 {r.batches} 批)", err=True)

        from services.casefile.evidence import reseal_files

        result = keys.rotate(ctx, batch=batch, on_batch=progress, reseal=reseal_files)
    finally:
        ctx.close()
    if as_json:
        from cli.output import emit_json

        emit_json({"rotation": vars(result)}, None)
        return
    typer.echo(
        f"密钥轮换完成: 当前密钥指纹 {result.fingerprint[:8]}…, 重新加密 {result.rewritten} 行, "
        f"证据文件 {result.files} 个。"
        "旧密钥仍在密钥文件 (或 TOUSU_KEY) 后面几行, 仅用于解密; 确认备份无误后可删去"
    )


@app.command("status", epilog="示例: tousu key status --json")
def status(as_json: JsonOpt = False) -> None:
    """密钥来源、指纹及是否与数据库登记的一致 (不显示密钥本身)。"""
    from config import load_config
    from services import keys
    from services.context import open_context

    ctx = open_context(load_config())
    try:
        st = keys.status(ctx)
    finally:
        ctx.close()
    if as_json:
        from cli.output import emit_json

        emit_json({"key": st}, None)
    else:
        typer.echo(f"密钥来源: {st['source'] or '-'}, 指纹 {st['fingerprint'] or '-'}…")
        for k in st["known"]:
            typer.echo(f"数据库登记: {k['fingerprint']}… ({k['state']})")
        if st["problem"]:
            typer.echo(st["problem"], err=True)
    if not st["ok"]:
        raise typer.Exit(6)


def command(name: str) -> Any:
    import typer.main

    return typer.main.get_command(app)
