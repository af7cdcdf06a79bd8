"""The lifecycle actions as commands, built from their rows in states/lifecycle.py ACTIONS.

Each row with a `command` becomes `tousu <command> NUMBER --<field> ...`: its options, their
help and the example come from the row's declared fields, and the command calls the service
`services.lifecycle.actions.take` with the row's trigger. Roles, states, guards and deadlines
are checked there; this module turns flags into field values and prints the result. Nothing here is
written per action: a new row is a new command.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli.common import AtOpt, JsonOpt, UserOpt, VersionOpt, build, parse_at, session
from states.fields import Field, Kind
from states.lifecycle import ACTIONS, Action, Role

EX = "TS202603020000001"
# Who runs each example: a user of the first role the row names (the demo's staff).
EXAMPLE_USERS = {
    Role.intake_clerk: "zhang.shouli",
    Role.investigator: "chen.diaocha",
    Role.coordinator: "zhou.xietiao",
    Role.liaison: "li.duijie",
    Role.supervisor: "wang.zhuguan",
    Role.committee: "sun.weiyuan",
}
GROUP_HELP = {
    "appraisal": "外部鉴定/检测/评估 (第十八条第二款: 期间不计入处理时限)。",
    "review": "核查 (第二十条: 分支机构处理决定的复核)。",
}


def commands() -> dict[str, Action]:
    """Command path (e.g. "appraisal start") → its row, for every action people take."""
    return {a.command: a for a in ACTIONS if a.command}


def top_level() -> list[str]:
    """The names `tousu` lists: single commands and the groups of two-word commands."""
    return list(dict.fromkeys(path.split()[0] for path in commands()))


def example(act: Action) -> str:
    parts = [f"tousu {act.command} {EX}"]
    for f in act.fields:
        if f.required and f.default is None:
            value = f.example or f.label
            parts.append(f"{f.flag_name} {value}")
    user = next((EXAMPLE_USERS[r] for r in act.roles if r in EXAMPLE_USERS), "li.duijie")
    parts.append(f"--user {user}")
    return " ".join(parts)


def _annotation(f: Field) -> tuple[Any, Any]:
    """(annotation, default) of the function parameter Typer turns into the field's option."""
    label = f.help or f.label
    if f.kind is Kind.integer:  # the declared range, checked before the command runs
        option = typer.Option(f.flag_name, help=label, min=f.low, max=f.high)
    else:
        option = typer.Option(f.flag_name, help=label)
    if f.kind is Kind.flag:
        return Annotated[bool, option], False
    if f.kind is Kind.many:
        return Annotated[list[str] | None, option], None
    base: Any = int if f.kind is Kind.integer else str
    if isinstance(f.default, str):
        return Annotated[base, option], f.default
    if f.required:
        return Annotated[base, option], inspect.Parameter.empty
    return Annotated[base | None, option], None


COMMON: tuple[tuple[str, Any, Any], ...] = (
    ("at", AtOpt, None),
    ("expect_version", VersionOpt, None),
    ("user", UserOpt, None),
    ("as_json", JsonOpt, False),
)


def function(act: Action) -> Callable[..., None]:
    """A function whose signature Typer reads as the row's command: NUMBER, one option per
    declared field, then --at, --expect-version, --user and --json."""

    def run(
        number: str,
        at: str | None = None,
        expect_version: int | None = None,
        user: str | None = None,
        as_json: bool = False,
        **given: Any,
    ) -> None:
        fields = act.complete(given)
        _run(act, number, user, at, expect_version, as_json, fields)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter(
            "number",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help="投诉编号")],
        )
    ]
    for f in act.fields:
        annotation, default = _annotation(f)
        params.append(inspect.Parameter(f.name, keyword, annotation=annotation, default=default))
    for name, annotation, default in COMMON:
        params.append(inspect.Parameter(name, keyword, annotation=annotation, default=default))
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__doc__ = act.help or act.label
    run.__name__ = act.trigger
    return run


def _run(
    act: Action,
    number: str,
    user: str | None,
    at: str | None,
    expect: int | None,
    as_json: bool,
    fields: dict[str, Any],
) -> None:
    from services.lifecycle.actions import take
    from services.lifecycle.queries import deadlines_of

    with session(user) as s:
        tz = s.ctx.tz
        result = take(
            s.ctx,
            number,
            act.trigger,
            actor=s.username,
            fields=fields,
            at=parse_at(at, tz),
            expected_version=expect,
        )
        deadlines = deadlines_of(s.ctx, number)
        if as_json:
            from cli.output import emit_json

            emit_json(
                {
                    "number": result.number,
                    "action": result.action,
                    "from_state": result.from_state,
                    "state": result.state,
                    "version": result.version,
                    "event_id": result.event_id,
                    "deadlines": deadlines,
                },
                tz,
            )
            return
        from cli.output import DEADLINE_STATUS, fmt_due
        from states.lifecycle import State

        move = (
            f"{State(result.from_state).label} → {State(result.state).label}"
            if result.from_state != result.state
            else f"状态不变: {State(result.state).label}"
        )
        typer.echo(f"投诉 {result.number}: {act.label}完成 ({move}, 版本 {result.version})")
        for d in deadlines:
            if d["status"] in ("running", "paused"):
                rule = s.ctx.config.deadlines[d["name"]]
                typer.echo(
                    f"  {rule.label}: {fmt_due(d['due'], tz)} ({DEADLINE_STATUS[d['status']]})"
                )


def command(name: str) -> Any:
    """The click command `name` (cli.main builds commands on first use)."""
    import typer.main

    rows = commands()
    if name in rows:
        return build(function(rows[name]), name, f"示例: {example(rows[name])}")
    subs = {path.split()[1]: act for path, act in rows.items() if path.split()[0] == name}
    if not subs:
        raise KeyError(name)
    first = next(iter(subs.values()))
    group = typer.Typer(
        add_completion=False,
        help=f"{GROUP_HELP.get(name, '')}\n\n示例: {example(first)}",
        no_args_is_help=True,
    )
    for sub, act in subs.items():
        group.command(sub, epilog=f"示例: {example(act)}")(function(act))
    return typer.main.get_command(group)
