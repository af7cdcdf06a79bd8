"""The people a form may name (a case's new owner, an investigator): offered in a datalist."""

from __future__ import annotations

import time

from markupsafe import Markup, escape

from services import users
from services.context import Context
from states import lifecycle as lc

OFFERED = frozenset(r.value for r in lc.OWNER_ROLES) | {lc.Role.coordinator.value}
# The list only suggests names: the action checks the user it is given (active, role), so a
# user added or disabled a moment ago may be missing from it or still offered for this long,
# never wrongly accepted. Read on every case page it cost as much as the rest of the page.
REUSE_SECONDS = 60.0


def user_choices(ctx: Context) -> list[tuple[str, str]]:
    """(username, "name · role") of the active people who handle cases."""
    return [
        (u["username"], f"{u['name']} · {lc.Role(u['role']).label}")
        for u in users.list_users(ctx)
        if u["active"] and u["role"] in OFFERED
    ]


def user_datalist(ctx: Context) -> Markup:
    """The `<option>`s of the case page's `<datalist id="users">`, read at most once every
    REUSE_SECONDS per process."""
    now = time.monotonic()
    hit = ctx.memo.get("user_datalist")
    if hit is not None and now - hit[0] < REUSE_SECONDS:
        return hit[1]  # type: ignore[no-any-return]
    options = Markup("").join(
        Markup('<option value="{}">{}</option>').format(escape(name), escape(label))
        for name, label in user_choices(ctx)
    )
    ctx.memo["user_datalist"] = (now, options)
    return options
