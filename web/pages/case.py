"""The case page (`tousu show` in a browser) and the one route every action's form posts to.

GET /cases/{number}: the complaint, parties masked, deadlines with their warnings, the
timeline, evidence and letters, and a form for each action the user may take now (their
role's moves from the state whose case guards pass, as `tousu show` lists them under "您可执行").
POST /cases/{number}/reveal: the parties unmasked, recorded in the event log exactly like
`tousu show --reveal` (services/lifecycle/queries.py `complaint_view`).
POST /cases/{number}/actions/{trigger}: the form's fields, named as declared on the action's
row, go to `services.lifecycle.actions.take` with the version the page showed
(`expected_version`): a concurrent change is a 409 page, never a lost update. A bad field shows
the page again with the message next to that field and what was typed kept.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from services.lifecycle.queries import complaint_view
from states import lifecycle as lc
from states.casefile import EVIDENCE_KINDS
from states.errors import Forbidden, InvalidInput
from web.pages import forms
from web.pages.common import (
    audited,
    check_csrf,
    ctx_of,
    fmt_time,
    kept,
    macro,
    page_user,
    render,
    role_label,
    state_label,
    urgency,
)
from web.pages.users import OPTIONS_PATH

router = APIRouter()
User = Annotated[dict[str, Any], Depends(page_user)]
CSRF = Depends(check_csrf)

PARTY_FIELDS = (
    ("name", "姓名/名称"),
    ("id_number", "证件号码"),
    ("phone", "电话"),
    ("address", "地址"),
    ("legal_rep", "法定代表人"),
)


def _evidence(
    request: Request, case: dict[str, Any], user: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """The case's evidence and letters, or None where the user's role may not see them."""
    from services.casefile import evidence

    try:
        return evidence.list_of(ctx_of(request), case, user)
    except Forbidden:
        return None


def _forms(
    request: Request,
    view: dict[str, Any],
    failed: str | None = None,
    given: dict[str, Any] | None = None,
    error: InvalidInput | None = None,
) -> list[dict[str, Any]]:
    """One form per action allowed now; the failed one keeps what was typed and its error."""
    from web.auth import csrf_token

    ctx = ctx_of(request)
    case = view["case"]
    # Escaped once for every form; the pieces joined as text (Markup's own `+` escapes and
    # copies at each step, a tenth of the page).
    filled = tuple(str(escape(v)) for v in (case["number"], csrf_token(request), case["version"]))
    out = []
    for trigger in view["allowed_actions"]:
        act = lc.ACTIONS_BY_TRIGGER[trigger]
        mine = trigger == failed
        if not mine:  # untouched: the same form on every page, but for three values
            parts = _blank_form(ctx, trigger)
            pieces: list[str] = [parts[0]]
            for value, part in zip(filled, parts[1:], strict=True):
                pieces += (value, part)
            out.append({"trigger": trigger, "block": Markup("".join(pieces))})
            continue
        items = forms.inputs(act.fields, ctx.config.taxonomy, given)
        problem = ""
        if mine and error is not None:
            field = getattr(error, "field", None)
            target = next((i for i in items if i.name == field), None)
            if target is not None:
                target.error = error.reason
            else:
                problem = error.reason
        out.append(
            {
                "trigger": trigger,
                "label": act.label,
                "help": act.help,
                "inputs": items,
                "error": problem,
                "open": mine,
                "at": (given or {}).get("at") if mine else None,
            }
        )
    return out


# Stand-ins for the three values an untouched form holds (`_blank_form`): characters no
# number, token or version contains and escaping leaves as they are.
_BLANKS = ("\x00number\x00", "\x00csrf\x00", "\x00version\x00")


def _blank_form(ctx: Any, trigger: str) -> tuple[Markup, ...]:
    """An action's untouched form (web/templates/pages/_action_form.html) drawn once per
    process, cut where the case's number, the session's CSRF token and the case's version
    go (in that order): the page fills them in instead of drawing every form again."""

    def draw() -> tuple[Markup, ...]:
        act = lc.ACTIONS_BY_TRIGGER[trigger]
        form = {
            "trigger": trigger,
            "label": act.label,
            "help": act.help,
            "html": _blank_inputs(ctx, trigger),
            "error": "",
            "open": False,
            "at": None,
        }
        drawn = str(macro("pages/_action_form.html", "action_form")(form, *_BLANKS))
        cut = []
        for blank in _BLANKS:
            before, found, drawn = drawn.partition(blank)
            if not found or blank in drawn:  # each value exactly once, in this order
                raise RuntimeError(f"{trigger}: the form must hold {blank!r} once")
            cut.append(Markup(before))
        return (*cut, Markup(drawn))

    return kept(ctx, "blank_forms", trigger, draw, limit=len(lc.ACTIONS_BY_TRIGGER))


def _blank_inputs(ctx: Any, trigger: str) -> Markup:
    """The inputs of an action's form before anything is typed, drawn once per process: they
    follow from the action's declared fields and the taxonomy alone (web/pages/forms.py)."""

    def draw() -> Markup:
        items = forms.inputs(lc.ACTIONS_BY_TRIGGER[trigger].fields, ctx.config.taxonomy)
        return Markup(macro("pages/_inputs.html", "draw")(items, trigger))

    return kept(ctx, "blank_inputs", trigger, draw, limit=len(lc.ACTIONS_BY_TRIGGER))


def _page(
    request: Request,
    number: str,
    user: dict[str, Any],
    *,
    reveal: bool = False,
    failed: str | None = None,
    given: dict[str, Any] | None = None,
    error: InvalidInput | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = ctx_of(request)
    with audited(ctx, user, f"show {number}" + (" --reveal" if reveal else "")):
        view = complaint_view(ctx, number, actor=user, reveal=reveal)
    from web.deps import now as request_now

    at = request_now()
    deadlines = [
        {**d, "urgency": urgency(d["due"], at, ctx.tz) if d["status"] == "running" else ""}
        for d in view["deadlines"]
    ]
    tax = ctx.config.taxonomy
    return render(
        request,
        "case.html",
        {
            "view": view,
            "case": view["case"],
            "deadlines": deadlines,
            "rules": ctx.config.deadlines,
            "parties": view["parties"],
            "party_fields": PARTY_FIELDS,
            "capacities": _capacities(),
            "forms": _forms(request, view, failed, given, error),
            "evidence": _evidence(request, view["case"], user),
            "user_options_path": OPTIONS_PATH,
            "tax": tax,
            "may_reveal": user["role"] in {r.value for r in lc.PII_ROLES},
            "warning_labels": {lv.code: lv.label for lv in ctx.config.escalation},
            "evidence_kinds": EVIDENCE_KINDS,
            "timeline": _timeline(ctx, view["events"], masked=view["masked"]),
        },
        user=user,
        status=status,
    )


# Timeline items kept drawn per process (a few hundred bytes each): the events of every case
# a handler's queue holds, at forty events a case, several times over.
EVENTS_KEPT = 65536


def _timeline(ctx: Any, events: list[dict[str, Any]], *, masked: bool) -> list[Markup]:
    """The timeline's items, a masked one drawn once per process (`_event_item`); a revealed
    view's are drawn for it alone and not kept."""
    draw = _event_item if masked else _event_item.__wrapped__
    return [
        draw(
            ctx.tz,
            e["id"],
            e["at"],
            e["action"],
            e["from_state"],
            e["to_state"],
            e["actor"],
            e["role"],
            e.get("reason"),
        )
        for e in events
    ]


@lru_cache(maxsize=EVENTS_KEPT)
def _event_item(
    tz: Any,
    event_id: int,
    at: datetime,
    action: str,
    from_state: str | None,
    to_state: str | None,
    actor: str,
    role: str | None,
    reason: str | None,
) -> Markup:
    """One item of the timeline, markupsafe's `escape` on every value as autoescape would.
    An event is only ever appended and its arguments are every value the item shows (a
    masked and a revealed reason are two items), so a kept item is never stale."""
    from services.lifecycle.audit import event_label

    move = (
        Markup('<span class="move">{} → {}</span>').format(
            state_label(from_state), state_label(to_state)
        )
        if from_state != to_state
        else ""
    )
    return Markup(
        '<li data-action="{}"><time>{}</time> <strong>{}</strong> {}'
        ' <span class="actor">{} ({})</span> {}</li>'
    ).format(
        action,
        fmt_time(at, tz),
        event_label(action),
        move,
        actor,
        role_label(role),
        Markup("<p>{}</p>").format(reason) if reason else "",
    )


def _capacities() -> dict[str, str]:
    from services.lifecycle.registration import CAPACITIES

    return CAPACITIES


@router.get("/cases/{number}", response_class=HTMLResponse)
async def case_page(request: Request, number: str, user: User) -> HTMLResponse:
    """Masked, the page only reads (nothing is written and nobody refused: the reveal is a
    POST), so it is answered on the event loop without a trip to a worker thread."""
    return _page(request, number, user)


@router.post("/cases/{number}/reveal", response_class=HTMLResponse, dependencies=[CSRF])
def reveal(request: Request, number: str, user: User) -> HTMLResponse:
    return _page(request, number, user, reveal=True)


@router.post("/cases/{number}/actions/{trigger}", dependencies=[CSRF])
async def act(request: Request, number: str, trigger: str, user: User) -> Response:
    from services.lifecycle.actions import take

    ctx = ctx_of(request)
    action = lc.action(trigger)  # an unknown trigger is a 400 page
    if not action.command:  # a move only the system makes (as the CLI has no command for it)
        raise InvalidInput("action", f"「{action.label}」由系统自动执行, 不能在页面上操作")
    form = await request.form()
    try:
        given = forms.values(action.fields, form)
    except InvalidInput as exc:  # not UTF-8: nothing of it is worth showing again
        return _page(request, number, user, failed=trigger, given={}, error=exc, status=400)
    typed = {**given, "at": form.get("at") or None}

    def act_now() -> None:
        version = _version(forms.text_of(form.get("expected_version"), "expected_version"))
        when = _when(forms.text_of(form.get("at"), "at"), ctx.tz)
        with audited(ctx, user, f"{action.command or trigger} {number}"):
            take(
                ctx,
                number,
                trigger,
                actor=user["username"],
                fields=action.complete(given),
                at=when,
                expected_version=version,
            )

    try:
        # A unit of work waits for SQLite's write lock: in a worker thread, never on the
        # event loop that answers everyone else's pages.
        await run_in_threadpool(act_now)
    except InvalidInput as exc:
        return _page(request, number, user, failed=trigger, given=typed, error=exc, status=400)
    return RedirectResponse(f"/cases/{number}?done={trigger}", status_code=303)


def _version(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise InvalidInput("expected_version", "版本号须为整数") from None


def _when(value: Any, tz: Any) -> datetime | None:
    """The optional time the action happened (a datetime-local input, local time)."""
    if value in (None, ""):
        return None
    from states.validation import iso_datetime

    when = iso_datetime(str(value), "at")
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)
