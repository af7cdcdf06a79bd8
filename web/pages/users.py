"""The people a form may name (a case's new owner, an investigator): offered in a datalist."""

from __future__ import annotations

from services import users
from services.context import Context
from states import lifecycle as lc

OFFERED = frozenset(r.value for r in lc.OWNER_ROLES) | {lc.Role.coordinator.value}


def user_choices(ctx: Context) -> list[tuple[str, str]]:
    """(username, "name · role") of the active people who handle cases."""
    return [
        (u["username"], f"{u['name']} · {lc.Role(u['role']).label}")
        for u in users.list_users(ctx)
        if u["active"] and u["role"] in OFFERED
    ]
