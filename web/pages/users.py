"""The people a form may name (a case's new owner, an investigator): offered in a datalist.

The case page holds an empty `<datalist id="users" data-src="/users/options">`: the list (every
handler of the company, often most of the page) is fetched by web/static/tousu.js the first
time a user-field is focused, and the browser keeps it for REUSE_SECONDS. Without script the
field is a plain text input; the action checks the name typed either way.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from services import users
from services.context import Context
from states import lifecycle as lc
from web.pages.common import ctx_of, page_user

router = APIRouter()
OPTIONS_PATH = "/users/options"

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


@router.get(OPTIONS_PATH, response_class=HTMLResponse)
async def user_options(
    request: Request, user: Annotated[dict[str, Any], Depends(page_user)]
) -> HTMLResponse:
    """The `<option>`s of the datalist, for a logged-in user (staff names and roles, no
    complainant's data): kept by the browser for the minute they are reused here."""
    return HTMLResponse(
        str(user_datalist(ctx_of(request))),
        headers={"Cache-Control": f"private, max-age={int(REUSE_SECONDS)}"},
    )
