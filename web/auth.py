"""Login, logout, password change, and the dependencies that prove who a request acts for
(services/identity.py; docs/web.md "身份与登录").

- `page_user(request)`: the user of the `tousu_session` cookie (HttpOnly, SameSite=Lax,
  Secure when `[web] cookie_secure`); no live session → 303 to /login?next=<path>. A user
  whose password an administrator reset is sent to /account/password first.
- `api_user(request)`: `Authorization: Bearer <token>` (an API token) or the session cookie;
  none, invalid, expired or revoked → 401 `{"error": "unauthenticated", ...}`. A "readonly"
  token only reads (GET/HEAD); a cookie-authenticated unsafe call needs `X-CSRF-Token`.
- CSRF: `csrf_token(request)` (a Jinja global: `{{ csrf_token(request) }}` in a hidden
  `csrf_token` field) is bound to the session; `check_csrf` is the dependency of every
  state-changing form POST. The login form, before any session, uses a double-submit
  cookie (`tousu_login`).
- `install(app)`: the router, the 401 handler and the Jinja global (one line in web/app.py).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import identity
from services.context import Context
from states.errors import Forbidden, InvalidInput
from web.deps import now as request_now

SESSION_COOKIE = "tousu_session"
LOGIN_COOKIE = "tousu_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PASSWORD_PATH = "/account/password"

router = APIRouter(include_in_schema=False)


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _refuse(request: Request, username: str, reason: str, role: str | None = None) -> None:
    from services.access import record_refusal

    record_refusal(
        _ctx(request),
        username=username or "(未登录)",
        role=role,
        command=f"web {request.method} {request.url.path}"[:200],
        reason=reason,
    )


def _session(request: Request) -> identity.SessionInfo | None:
    """The live session of this request's cookie (looked up once per request)."""
    if "tousu_session" not in request.scope.setdefault("state", {}):
        info = identity.session_info(
            _ctx(request), request.cookies.get(SESSION_COOKIE), now=request_now()
        )
        request.state.tousu_session = info
    found: identity.SessionInfo | None = request.state.tousu_session
    return found


async def _session_async(request: Request) -> identity.SessionInfo | None:
    """`_session` for an async route: the session is read on the event loop (one indexed
    read, no lock to wait for) and only a write it owes (ending the session or moving
    last_seen_at on, at most every TOUCH_SECONDS) goes to a worker thread, where waiting for
    SQLite's write lock stalls no other request."""
    if "tousu_session" not in request.scope.setdefault("state", {}):
        found = identity.look_up_session(
            _ctx(request), request.cookies.get(SESSION_COOKIE), now=request_now()
        )
        if found.owed is not None:
            await run_in_threadpool(found.owed)
        request.state.tousu_session = found.info
    info: identity.SessionInfo | None = request.state.tousu_session
    return info


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this site only (never another host), else /."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _referring_path(request: Request) -> str:
    """The path of the page that sent this request when it is of this site, else /."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def _redirect(location: str) -> HTTPException:
    return HTTPException(status_code=303, headers={"Location": location})


def _to_login(request: Request) -> HTTPException:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in SAFE_METHODS:  # a form posted after the session ended:
        here = _referring_path(request)  # back to the page it was on, not to the POST
    return _redirect("/login?next=" + quote(here, safe=""))


# ---- The dependencies other rooms import ----------------------------------------------------


def page_user(request: Request) -> dict[str, Any]:
    """The logged-in user (the row `services.lifecycle.queries.actor` returns); without a live
    session a 303 to /login?next=<this path>."""
    return _page_user_of(request, _session(request))


async def page_user_async(request: Request) -> dict[str, Any]:
    """`page_user` without a trip to a worker thread (see `_session_async`): the pages'
    dependency (web/pages/common.py)."""
    return _page_user_of(request, await _session_async(request))


def _page_user_of(request: Request, info: identity.SessionInfo | None) -> dict[str, Any]:
    if info is None:
        raise _to_login(request)
    if info.must_change and request.url.path not in (PASSWORD_PATH, "/logout"):
        raise _redirect(PASSWORD_PATH + "?next=" + quote(request.url.path, safe=""))
    request.state.user = info.user
    return info.user


def csrf_token(request: Request) -> str:
    """The CSRF token for this request's forms: the session's, or before login the login
    form's double-submit value."""
    info = _session(request)
    if info is not None:
        return info.csrf
    return str(getattr(request.state, "login_csrf", "") or request.cookies.get(LOGIN_COOKIE, ""))


async def _given_csrf(request: Request) -> str:
    given = request.headers.get(CSRF_HEADER, "")
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else ""
    return given


async def check_csrf(request: Request) -> None:
    """For every state-changing form POST: the form's `csrf_token` field (or the
    `X-CSRF-Token` header) must be this session's token; bearer-token calls need none.
    A mismatch is refused (403) and recorded."""
    if request.method in SAFE_METHODS:
        return
    raw = _bearer(request)
    if raw is not None:
        bearer = await run_in_threadpool(identity.token_user, _ctx(request), raw, now=request_now())
        if bearer is not None:
            return  # a bearer token is no ambient credential: no cross-site request carries it
    info = await _session_async(request)
    if info is None:  # no session: nothing a forged request could use; log in first
        raise _to_login(request)
    expected = info.csrf if info is not None else ""
    given = await _given_csrf(request)
    if not expected or not given or not hmac.compare_digest(given, expected):
        reason = "表单已过期或来源不明 (CSRF 校验失败): 请刷新页面后重试"
        who = str(info.user["username"]) if info is not None else ""
        role = str(info.user["role"]) if info is not None else None
        await run_in_threadpool(_refuse, request, who, reason, role)
        raise Forbidden(reason)


def api_user(request: Request) -> dict[str, Any]:
    """The user of an API call: a bearer token, else the session cookie (whose unsafe calls
    need `X-CSRF-Token`). None valid → 401; a readonly token on an unsafe call → 403."""
    raw = _bearer(request)
    if raw is not None:
        user = identity.token_user(_ctx(request), raw, now=request_now())
        if user is None:
            reason = "令牌无效、已过期或已撤销"
            _refuse(request, "(令牌)", reason)
            raise identity.Unauthenticated(reason)
        if user["token_scope"] == identity.READONLY and request.method not in SAFE_METHODS:
            reason = "只读令牌 (readonly) 不能执行修改操作"
            _refuse(request, str(user["username"]), reason, role=str(user["role"]))
            raise Forbidden(reason)
        request.state.user = user
        return user
    info = _session(request)
    if info is None:
        raise identity.Unauthenticated(
            "未登录: 请使用 Authorization: Bearer <令牌> 或先登录 (/login)"
        )
    if info.must_change:  # a temporary password an administrator set opens no API
        reason = "请先在网页上修改管理员设置的临时密码 (/account/password)"
        _refuse(request, str(info.user["username"]), reason, role=str(info.user["role"]))
        raise Forbidden(reason)
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not given or not hmac.compare_digest(given, info.csrf):
            reason = f"以登录会话调用 API 的修改操作须带 {CSRF_HEADER} 请求头 (CSRF 校验失败)"
            _refuse(request, str(info.user["username"]), reason, role=str(info.user["role"]))
            raise Forbidden(reason)
    request.state.user = info.user
    return info.user


# ---- Pages ---------------------------------------------------------------------------------


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    from web.app import templates

    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = identity.web_settings(_ctx(request))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_max.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def _login_page(
    request: Request, *, next_: str, error: str = "", username: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    request.state.login_csrf = token
    response = _render(
        request,
        "login.html",
        {"next": safe_next(next_), "error": error, "username": username},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=identity.web_settings(_ctx(request)).cookie_secure,
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query's name
    if _session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_=next)


@router.post("/login")
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002 - the form field's name
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(csrf_token, expected):
        reason = "登录表单已过期或来源不明, 请重新输入"
        _refuse(request, username[:64], reason)
        return _login_page(
            request, next_=next, error=reason, username=username[:64], status_code=403
        )
    try:
        user, token = identity.login(
            _ctx(request), username, password, client=_client(request), now=request_now()
        )
    except identity.TooManyAttempts as exc:
        return _login_page(
            request, next_=next, error=str(exc), username=username[:64], status_code=429
        )
    except Forbidden as exc:
        return _login_page(
            request, next_=next, error=str(exc), username=username[:64], status_code=401
        )
    target = safe_next(next)
    if _must_change(request, str(user["username"])):
        target = PASSWORD_PATH + "?next=" + quote(target, safe="")
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _must_change(request: Request, username: str) -> bool:
    from sqlalchemy import select

    from storage.db import read_only

    with read_only(_ctx(request).engine) as conn:
        return bool(
            conn.execute(
                select(identity.CREDENTIAL.c.must_change).where(
                    identity.CREDENTIAL.c.username == username
                )
            ).scalar()
        )


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    identity.logout(
        _ctx(request),
        request.cookies.get(SESSION_COOKIE),
        now=request_now(),
        client=_client(request),
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(PASSWORD_PATH)
def password_form(
    request: Request,
    user: Annotated[dict[str, Any], Depends(page_user)],
    next: str = "/",  # noqa: A002 - the query's name
) -> Response:
    info = _session(request)
    return _render(
        request,
        "account/password.html",
        {
            "account": user,
            "next": safe_next(next),
            "error": "",
            "done": False,
            "must_change": bool(info and info.must_change),
            "min_length": identity.web_settings(_ctx(request)).password_min_length,
        },
    )


@router.post(PASSWORD_PATH, dependencies=[Depends(check_csrf)])
def password_submit(
    request: Request,
    user: Annotated[dict[str, Any], Depends(page_user)],
    current_password: Annotated[str, Form(max_length=2048)] = "",
    new_password: Annotated[str, Form(max_length=2048)] = "",
    new_password2: Annotated[str, Form(max_length=2048)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002 - the form field's name
) -> Response:
    ctx = _ctx(request)
    info = _session(request)
    target = safe_next(next)
    page: dict[str, Any] = {
        "account": user,
        "next": target,
        "done": False,
        "must_change": bool(info and info.must_change),
        "min_length": identity.web_settings(ctx).password_min_length,
    }
    status, error = 200, ""
    try:
        if new_password != new_password2:
            raise InvalidInput("new_password2", "两次输入的新密码不一致")
        identity.change_password(
            ctx,
            str(user["username"]),
            current_password,
            new_password,
            now=request_now(),
            client=_client(request),
            keep_session=info.token if info else None,
        )
    except InvalidInput as exc:
        status, error = 400, exc.reason
    except Forbidden as exc:
        status, error = 403, str(exc)
    if error:
        return _render(
            request, "account/password.html", {**page, "error": error}, status_code=status
        )
    if page["must_change"]:
        return RedirectResponse(target, status_code=303)
    return _render(request, "account/password.html", {**page, "done": True, "must_change": False})


# ---- One's own API tokens; administrators: passwords and disabling -------------------------

TOKENS_PATH = "/account/tokens"
USERS_PATH = "/account/users"


def _tokens_page(
    request: Request,
    user: dict[str, Any],
    *,
    created: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    ctx = _ctx(request)
    return _render(
        request,
        "account/tokens.html",
        {
            "account": user,
            "tokens": identity.list_tokens(ctx, actor=str(user["username"])),
            "created": created,
            "error": error,
            "readonly": identity.READONLY,
            "tz": ctx.tz,
        },
        status_code=status_code,
    )


@router.get(TOKENS_PATH)
def tokens_page(request: Request, user: Annotated[dict[str, Any], Depends(page_user)]) -> Response:
    return _tokens_page(request, user)


@router.post(TOKENS_PATH, dependencies=[Depends(check_csrf)])
def token_create(
    request: Request,
    user: Annotated[dict[str, Any], Depends(page_user)],
    name: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[str, Form(max_length=24)] = "",
    expires_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        days = int(expires_days) if expires_days.strip() else None
    except ValueError:
        return _tokens_page(request, user, error="有效天数须为整数", status_code=400)
    try:
        _, raw = identity.create_token(
            _ctx(request),
            username=str(user["username"]),
            name=name,
            actor=str(user["username"]),
            scope=scope or None,
            expires_days=days,
            now=request_now(),
            client=_client(request),
        )
    except InvalidInput as exc:
        return _tokens_page(request, user, error=exc.reason, status_code=400)
    except Forbidden as exc:
        _refuse(request, str(user["username"]), str(exc), role=str(user["role"]))
        return _tokens_page(request, user, error=str(exc), status_code=403)
    return _tokens_page(request, user, created=raw)


@router.post(TOKENS_PATH + "/{token_id}/revoke", dependencies=[Depends(check_csrf)])
def token_revoke(
    request: Request, token_id: int, user: Annotated[dict[str, Any], Depends(page_user)]
) -> Response:
    with _audited(request, user):
        identity.revoke_token(
            _ctx(request),
            token_id,
            actor=str(user["username"]),
            now=request_now(),
            client=_client(request),
        )
    return RedirectResponse(TOKENS_PATH, status_code=303)


class _audited:
    """A Forbidden inside the block is recorded (services/access.py), then shown as the 403
    page (web/app.py)."""

    def __init__(self, request: Request, user: dict[str, Any]) -> None:
        self.request, self.user = request, user

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if isinstance(exc, Forbidden):
            _refuse(self.request, str(self.user["username"]), str(exc), str(self.user["role"]))
        return False


def _admin_only(request: Request, user: dict[str, Any]) -> None:
    if user["role"] != "admin" or user.get("token_scope"):
        reason = "只有系统管理员可以管理用户的密码和启用状态"
        _refuse(request, str(user["username"]), reason, role=str(user["role"]))
        raise Forbidden(reason)


def _users_page(
    request: Request,
    user: dict[str, Any],
    *,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    ctx = _ctx(request)
    return _render(
        request,
        "account/users.html",
        {
            "account": user,
            "people": identity.accounts(ctx, actor=str(user["username"])),
            "notice": notice,
            "error": error,
            "min_length": identity.web_settings(ctx).password_min_length,
            "tz": ctx.tz,
        },
        status_code=status_code,
    )


@router.get(USERS_PATH)
def users_page(request: Request, user: Annotated[dict[str, Any], Depends(page_user)]) -> Response:
    _admin_only(request, user)
    return _users_page(request, user)


@router.post(USERS_PATH + "/{username}/password", dependencies=[Depends(check_csrf)])
def user_password(
    request: Request,
    username: str,
    user: Annotated[dict[str, Any], Depends(page_user)],
    new_password: Annotated[str, Form(max_length=2048)] = "",
    must_change: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _admin_only(request, user)
    try:
        with _audited(request, user):
            identity.reset_password(
                _ctx(request),
                username,
                new_password,
                actor=str(user["username"]),
                now=request_now(),
                client=_client(request),
                must_change=bool(must_change),
            )
    except InvalidInput as exc:
        return _users_page(request, user, error=f"{username}: {exc.reason}", status_code=400)
    return _users_page(request, user, notice=f"已设置 {username} 的密码; 其登录会话已全部退出")


@router.post(USERS_PATH + "/{username}/active", dependencies=[Depends(check_csrf)])
def user_active(
    request: Request,
    username: str,
    user: Annotated[dict[str, Any], Depends(page_user)],
    active: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _admin_only(request, user)
    enable = active == "1"
    with _audited(request, user):
        identity.set_active(
            _ctx(request),
            username,
            enable,
            actor=str(user["username"]),
            now=request_now(),
            client=_client(request),
        )
    return _users_page(request, user, notice=f"已{'启用' if enable else '停用'}用户 {username}")


# ---- Wiring (web/app.py) --------------------------------------------------------------------


async def _unauthenticated(request: Request, exc: Exception) -> Response:
    from web.app import error_body

    assert isinstance(exc, identity.Unauthenticated)
    body = {**error_body(exc), "error": "unauthenticated"}
    if request.url.path.startswith("/api/"):
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return RedirectResponse("/login?next=" + quote(request.url.path, safe=""), status_code=303)


def install(app: FastAPI) -> None:
    """The login routes, the 401 of `api_user` in web/app.py's error shape, and
    `csrf_token` for every template."""
    from web.app import templates

    templates.env.globals["csrf_token"] = csrf_token
    app.include_router(router)
    app.add_exception_handler(identity.Unauthenticated, _unauthenticated)
