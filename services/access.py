"""Access: who may act on which complaint, and the audit of every refusal.

- Every refused attempt (an unknown or disabled user, a role outside its rights, a case
  outside the user's scope, the system actor named by a person) is written to
  `access_refusal` with who, what and when, in a transaction of its own, so the refusal
  stays on record although the refused work rolled back.
- Scope (`[access]` in config/tousu.toml): the roles listed in `handler_roles` act on cases
  of their own branch and the institutions below it in config/taxonomy.toml
  (`handler_scope = "branch"`), of their own team (`"team"`: the owner is in their team), or
  only their own (`"own"`); a case assigned to them is always theirs.
  Supervisors act within `supervisor_scope` ("branch" or "all"). A user of the head office
  (`head_office_branch`) sees every branch when `head_office_sees_all`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from services.context import Context
from states.errors import Forbidden
from storage.access_refusal import AccessRefusal
from storage.models import User
from storage.schema import table_of
from storage.timeutil import to_db, utcnow

REFUSAL = table_of(AccessRefusal)
USER = table_of(User)


def record_refusal(
    ctx: Context, *, username: str, command: str, reason: str, role: str | None = None
) -> None:
    """One refused attempt, in its own transaction (the refused work itself rolled back)."""
    with ctx.engine.begin() as conn:
        if role is None:
            role = conn.execute(select(USER.c.role).where(USER.c.username == username)).scalar()
        conn.execute(
            insert(REFUSAL).values(
                at=to_db(utcnow()),
                username=username[:64],
                role=role,
                command=command[:200],
                reason=reason,
            )
        )


def _option(argv: Sequence[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def command_of(argv: Sequence[str]) -> str:
    """The command words and positional arguments (a complaint number, a username) before
    the first option: what was attempted, without the values of its fields."""
    words: list[str] = []
    for arg in argv:
        if arg.startswith("-"):
            break
        words.append(arg)
    return " ".join(words) or "tousu"


def record_cli_refusal(argv: Sequence[str], reason: str, environ: Mapping[str, str]) -> None:
    """For the CLI's error handler: who (--user, TOUSU_USER or the configured default user),
    what (`command_of`) and why. A database that cannot take the record does not hide the
    refusal itself, which the caller has already reported."""
    from sqlalchemy.exc import SQLAlchemyError

    from config import ConfigError, load_config
    from services.context import open_context

    try:
        config = load_config()
    except ConfigError:
        return
    who = _option(argv, "--user", "-u") or environ.get("TOUSU_USER") or config.default_user
    ctx = open_context(config)
    try:
        record_refusal(ctx, username=who or "(未指定)", command=command_of(argv), reason=reason)
    except SQLAlchemyError as exc:
        # The refusal stands (already reported); the lost audit record goes to the log.
        logging.getLogger(__name__).warning("拒绝记录未能写入数据库 (%s): %s", who, exc)
    finally:
        ctx.close()


def record_pii_access(ctx: Context, *, username: str, role: str, what: str, detail: str) -> None:
    """Personal data shown in full outside a complaint's history (who, when, what, where)."""
    from storage.pii_access import PiiAccess

    with ctx.engine.begin() as conn:
        conn.execute(
            insert(table_of(PiiAccess)).values(
                at=to_db(utcnow()), username=username, role=role, what=what, detail=detail
            )
        )


def may_reveal(role: str) -> bool:
    """Whether a role may see personal data unmasked (states/lifecycle.py PII_ROLES)."""
    from states.lifecycle import PII_ROLES

    return role in {r.value for r in PII_ROLES}


def refusals(ctx: Context, *, limit: int = 100) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(REFUSAL).order_by(REFUSAL.c.id.desc()).limit(limit))
        return [dict(r) for r in rows.mappings()]


# ---- Scope ------------------------------------------------------------------------------------


def scope_settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("access")
    return {
        "handler_roles": tuple(
            raw.get("handler_roles", ("investigator", "coordinator", "liaison"))
        ),
        "handler_scope": str(raw.get("handler_scope", "branch")),
        "supervisor_scope": str(raw.get("supervisor_scope", "branch")),
        "head_office_branch": str(raw.get("head_office_branch", "head_office")),
        "head_office_sees_all": bool(raw.get("head_office_sees_all", True)),
    }


def check_scope(
    ctx: Context, conn: Connection, case: Mapping[str, Any], username: str, role: str
) -> None:
    """Forbidden when the case lies outside the user's scope (see the module's docstring)."""
    if case.get("owner") == username:
        return  # one's own case (the common path of every action: nothing to read)
    cfg = scope_settings(ctx)
    if role == "supervisor":
        scope = cfg["supervisor_scope"]
    elif role in cfg["handler_roles"]:
        scope = cfg["handler_scope"]
    else:
        return
    if scope == "all":
        return
    me = conn.execute(select(USER.c.team, USER.c.branch).where(USER.c.username == username)).first()
    if me is None:
        return  # the caller refuses unknown users itself
    if cfg["head_office_sees_all"] and me.branch == cfg["head_office_branch"]:
        return
    # A branch covers the institutions below it (config/taxonomy.toml): a 分公司 acts on its
    # 中心支公司's cases, e.g. to review their decisions (Art. 20).
    branch = str(case.get("branch") or "")
    if scope == "branch" and (
        branch == me.branch or me.branch in ctx.config.taxonomy.above(branch)
    ):
        return
    if scope == "team" and case.get("owner"):
        owner_team = conn.execute(
            select(USER.c.team).where(USER.c.username == case["owner"])
        ).scalar()
        if owner_team and owner_team == me.team:
            return
    where = {"branch": "本机构", "team": "本小组", "own": "本人负责"}.get(scope, scope)
    raise Forbidden(
        f"投诉 {case.get('number', '')} 不在您的办理范围 ({where}的投诉或分配给您的投诉): "
        f"所属机构 {case.get('branch') or '-'}, 负责人 {case.get('owner') or '未分配'}"
    )
