"""`/register`: the registration form (登记, Art. 13), built from the declared registration
fields (states/intake_fields.py REGISTRATION_FIELDS, grouped as GROUPS) and checked by the same
rules as `tousu register` (services/lifecycle/registration.py): every bad field is shown beside
its input, with what was typed kept, and nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from states import lifecycle as lc
from states.errors import InvalidInput
from states.intake_fields import GROUPS, REGISTRATION_FIELDS
from web.pages import forms
from web.pages.common import audited, check_csrf, ctx_of, page_user, render, require

router = APIRouter()
User = Annotated[dict[str, Any], Depends(page_user)]
PEOPLE_REGISTER = frozenset(lc.REGISTER_ROLES - {lc.Role.system})
WIDGETS = {"received_at": "datetime-local", "regulator_forwarded_on": "date"}
BY_NAME = {f.name: f for f in REGISTRATION_FIELDS}


def _form(
    request: Request,
    user: dict[str, Any],
    given: dict[str, Any] | None = None,
    errors: list[InvalidInput] | None = None,
    status: int = 200,
) -> HTMLResponse:
    taxonomy = ctx_of(request).config.taxonomy
    placed: set[str] = set()
    groups = []
    for _key, heading, names in GROUPS:
        items = forms.inputs([BY_NAME[n] for n in names], taxonomy, given, WIDGETS)
        for item in items:
            for exc in errors or []:
                if exc.field == item.name and not item.error:
                    item.error = exc.reason
                    placed.add(exc.field)
        groups.append({"heading": heading, "inputs": items})
    general = [e.reason for e in errors or [] if e.field not in placed]
    return render(
        request,
        "register.html",
        {"groups": groups, "general": general},
        user=user,
        status=status,
    )


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, user: User) -> HTMLResponse:
    require(ctx_of(request), user, PEOPLE_REGISTER, "登记投诉")
    return _form(request, user)


@router.post("/register", dependencies=[Depends(check_csrf)])
async def register(request: Request, user: User) -> Response:
    form = await request.form()
    # Refusals are written and a registration waits for SQLite's write lock: in a worker
    # thread, never on the event loop that answers everyone else's pages.
    return await run_in_threadpool(_register_now, request, user, form)


def _register_now(request: Request, user: dict[str, Any], form: Any) -> Response:
    from services.intake.form import registration_of
    from services.lifecycle.registration import problems
    from services.lifecycle.registration import register as do_register
    from web.deps import now as request_now

    ctx = ctx_of(request)
    require(ctx, user, PEOPLE_REGISTER, "登记投诉")
    try:
        given = forms.values(REGISTRATION_FIELDS, form)
    except InvalidInput as exc:  # not UTF-8: nothing of it is worth showing again
        return _form(request, user, None, [exc], status=400)
    typed = {k: v for k, v in given.items() if v is not None}
    try:
        reg = registration_of(given, tz=ctx.tz)
        found = problems(ctx, reg, request_now())
        if found:
            return _form(request, user, typed, found, status=400)
        with audited(ctx, user, "register"):
            done = do_register(ctx, reg, actor=user["username"])
    except InvalidInput as exc:
        return _form(request, user, typed, [exc], status=400)
    return RedirectResponse(f"/cases/{done.number}?done=register", status_code=303)
