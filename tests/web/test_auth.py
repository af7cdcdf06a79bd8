"""Identity on the web (web/auth.py, services/identity.py): login, throttling, logout, session
expiry, CSRF, API tokens, and the audit of each, through the ASGI application."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

import pytest
import time_machine
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from services import identity
from services.access import refusals
from services.lifecycle.queries import actor
from states.errors import Forbidden
from storage.models import User
from storage.schema import table_of
from web.app import create_app
from web.auth import api_user, check_csrf, page_user

pytestmark = pytest.mark.clock

PASSWORD = "correct-horse-42"
OTHER = "battery-staple-77"


def _app(ctx: Any) -> FastAPI:
    """The application plus probes of the dependencies other rooms import."""
    app = create_app(ctx)

    @app.get("/probe")
    def probe(user: Annotated[dict[str, Any], Depends(page_user)]) -> dict[str, str]:
        return {"username": user["username"], "role": user["role"]}

    @app.post("/probe", dependencies=[Depends(check_csrf)])
    def probe_post(user: Annotated[dict[str, Any], Depends(page_user)]) -> dict[str, str]:
        return {"done": user["username"]}

    @app.get("/api/v1/probe")
    def api_probe(user: Annotated[dict[str, Any], Depends(api_user)]) -> dict[str, Any]:
        return {"username": user["username"], "scope": user.get("token_scope")}

    @app.post("/api/v1/probe")
    def api_probe_post(user: Annotated[dict[str, Any], Depends(api_user)]) -> dict[str, Any]:
        return {"done": user["username"]}

    return app


def _client(ctx: Any, host: str = "10.0.0.1") -> TestClient:
    return TestClient(_app(ctx), client=(host, 50000), follow_redirects=False)


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


def _login(client: TestClient, username: str, password: str, next_: str = "/probe") -> Any:
    page = client.get("/login", params={"next": next_})
    assert page.status_code == 200
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": _form_token(page.text),
            "next": next_,
        },
    )


def _actions(ctx: Any, username: str) -> list[str]:
    return [e["action"] for e in reversed(identity.events(ctx, username=username))]


@pytest.fixture
def web(ctx: Any) -> Any:
    identity.reset_password(ctx, "clerk", PASSWORD, actor="admin", must_change=False)
    identity.reset_password(ctx, "supervisor", PASSWORD, actor="admin", must_change=False)
    return ctx


# ---- Login ----------------------------------------------------------------------------------


def test_a_right_password_opens_a_session_in_an_httponly_samesite_cookie(web):
    client = _client(web)
    response = _login(client, "clerk", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/probe"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("tousu_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/probe").json() == {"username": "clerk", "role": "intake_clerk"}
    assert _actions(web, "clerk")[-1] == "login"


def test_the_cookie_is_secure_when_the_configuration_says_so(web, monkeypatch):
    monkeypatch.setitem(web.config.extra["web"], "cookie_secure", True)
    response = _login(_client(web), "clerk", PASSWORD)
    assert "Secure" in response.headers["set-cookie"]


def test_the_session_token_is_stored_only_as_its_hash(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    raw = client.cookies["tousu_session"]
    with web.engine.connect() as conn:
        stored = list(conn.execute(select(identity.SESSION.c.token_hash)).scalars())
    assert raw not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_a_wrong_password_is_refused_audited_and_gives_no_session(web):
    client = _client(web)
    response = _login(client, "clerk", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "tousu_session" not in client.cookies
    assert client.get("/probe").status_code == 303
    assert _actions(web, "clerk")[-1] == "login_failed"
    assert refusals(web, limit=1)[0]["username"] == "clerk"
    assert refusals(web, limit=1)[0]["command"] == "web login"


def test_an_unknown_user_gets_the_same_message_as_a_wrong_password(web):
    response = _login(_client(web), "nobody", PASSWORD)
    assert response.status_code == 401 and "用户名或密码错误" in response.text


def test_a_disabled_user_cannot_log_in(web):
    identity.set_active(web, "clerk", False, actor="admin")
    response = _login(_client(web), "clerk", PASSWORD)
    assert response.status_code == 401 and "停用" in response.text


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_next_after_login_stays_on_this_site(web, target):
    response = _login(_client(web), "clerk", PASSWORD, next_=target)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_an_unauthenticated_page_redirects_to_login_with_next(web):
    response = _client(web).get("/probe", params={"a": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fprobe%3Fa%3D1"


def test_the_login_form_without_its_own_token_is_refused(web):
    client = _client(web)
    client.get("/login")
    response = client.post(
        "/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403 and "tousu_session" not in client.cookies


# ---- Throttling -----------------------------------------------------------------------------


def test_too_many_failures_for_a_username_refuse_even_the_right_password_until_the_window_passes(
    web, now
):
    settings = identity.web_settings(web)
    client = _client(web)
    for _ in range(settings.max_failures):
        assert _login(client, "clerk", "wrong-password").status_code == 401
    blocked = _login(_client(web, host="10.9.9.9"), "clerk", PASSWORD)
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.text
    assert _actions(web, "clerk")[-1] == "login_throttled"
    assert "登录失败次数过多" in refusals(web, limit=1)[0]["reason"]
    with time_machine.travel(now + settings.window + timedelta(seconds=5), tick=False):
        assert _login(_client(web, host="10.9.9.9"), "clerk", PASSWORD).status_code == 303


def test_too_many_failures_from_one_client_refuse_other_usernames_from_it(web):
    settings = identity.web_settings(web)
    client = _client(web, host="10.6.6.6")
    for i in range(settings.max_failures):
        assert _login(client, f"guess{i}", "wrong-password").status_code == 401
    assert _login(client, "supervisor", PASSWORD).status_code == 429
    assert _login(_client(web, host="10.7.7.7"), "supervisor", PASSWORD).status_code == 303


def test_a_successful_login_clears_the_username_s_failures(web):
    settings = identity.web_settings(web)
    for i in range(settings.max_failures - 1):
        _login(_client(web, host=f"10.1.1.{i}"), "clerk", "wrong-password")
    assert _login(_client(web, host="10.2.2.2"), "clerk", PASSWORD).status_code == 303
    _login(_client(web, host="10.3.3.3"), "clerk", "wrong-password")
    assert _login(_client(web, host="10.4.4.4"), "clerk", PASSWORD).status_code == 303


def test_throttling_is_shared_through_the_database_by_separate_applications(web):
    settings = identity.web_settings(web)
    for i in range(settings.max_failures):
        _login(_client(web, host=f"10.5.5.{i}"), "clerk", "wrong-password")  # one app each
    with pytest.raises(identity.TooManyAttempts):
        identity.login(web, "clerk", PASSWORD, client="10.8.8.8")


# ---- Logout and expiry ----------------------------------------------------------------------


def test_logout_ends_the_session(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    raw = client.cookies["tousu_session"]
    token = _form_token(client.get("/account/password").text)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert identity.session_user(web, raw) is None
    client.cookies.set("tousu_session", raw)  # a copy of the cookie kept elsewhere
    assert client.get("/probe").status_code == 303
    assert _actions(web, "clerk")[-2:] == ["login", "logout"]


def test_a_session_idle_longer_than_configured_ends(web, now):
    idle = identity.web_settings(web).session_idle
    client = _client(web)
    with time_machine.travel(now, tick=False) as clock:
        _login(client, "clerk", PASSWORD)
        clock.move_to(now + idle - timedelta(minutes=1))
        assert client.get("/probe").status_code == 200  # activity keeps it alive
        clock.move_to(now + 2 * idle - timedelta(minutes=2))
        assert client.get("/probe").status_code == 200
        clock.move_to(now + 3 * idle)
        response = client.get("/probe")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_session_ends_at_its_absolute_limit_however_active(web, now):
    settings = identity.web_settings(web)
    step = settings.session_idle - timedelta(minutes=1)
    client = _client(web)
    with time_machine.travel(now, tick=False) as clock:
        _login(client, "clerk", PASSWORD)
        at = now
        while at + step < now + settings.session_max:
            at += step
            clock.move_to(at)
            assert client.get("/probe").status_code == 200
        clock.move_to(now + settings.session_max)
        assert client.get("/probe").status_code == 303


def test_disabling_a_user_ends_their_sessions_and_tokens(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    _, raw = identity.create_token(web, username="clerk", name="脚本", actor="clerk")
    identity.set_active(web, "clerk", False, actor="admin")
    assert client.get("/probe").status_code == 303
    bearer = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/probe", headers=bearer).status_code == 401
    assert _actions(web, "clerk")[-1] == "disable"


# ---- CSRF -----------------------------------------------------------------------------------


def test_a_form_post_without_the_csrf_token_is_refused_and_audited(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    missing = client.post("/probe", data={})
    wrong = client.post("/probe", data={"csrf_token": "0" * 40})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "CSRF" in refusals(web, limit=1)[0]["reason"]
    token = _form_token(client.get("/account/password").text)
    assert client.post("/probe", data={"csrf_token": token}).json() == {"done": "clerk"}


def test_the_csrf_token_of_another_session_is_refused(web):
    mine, theirs = _client(web), _client(web, host="10.0.0.2")
    _login(mine, "clerk", PASSWORD)
    _login(theirs, "supervisor", PASSWORD)
    their_token = _form_token(theirs.get("/account/password").text)
    assert mine.post("/probe", data={"csrf_token": their_token}).status_code == 403


def test_logout_without_the_csrf_token_leaves_the_session(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/probe").status_code == 200


def test_a_cookie_authenticated_unsafe_api_call_needs_the_csrf_header(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    token = _form_token(client.get("/account/password").text)
    assert client.get("/api/v1/probe").json()["username"] == "clerk"
    refused = client.post("/api/v1/probe")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    done = client.post("/api/v1/probe", headers={"X-CSRF-Token": token})
    assert done.json() == {"done": "clerk"}


# ---- Passwords ------------------------------------------------------------------------------


def test_changing_one_s_password_on_the_web_ends_other_sessions(web):
    here, elsewhere = _client(web), _client(web, host="10.0.0.3")
    _login(here, "clerk", PASSWORD)
    _login(elsewhere, "clerk", PASSWORD)
    token = _form_token(here.get("/account/password").text)
    form = {"csrf_token": token, "current_password": PASSWORD}
    mismatch = here.post(
        "/account/password", data={**form, "new_password": OTHER, "new_password2": OTHER + "x"}
    )
    assert mismatch.status_code == 400 and "不一致" in mismatch.text
    short = here.post(
        "/account/password", data={**form, "new_password": "abc", "new_password2": "abc"}
    )
    assert short.status_code == 400 and "至少" in short.text
    done = here.post(
        "/account/password", data={**form, "new_password": OTHER, "new_password2": OTHER}
    )
    assert done.status_code == 200 and "密码已修改" in done.text
    assert here.get("/probe").status_code == 200
    assert elsewhere.get("/probe").status_code == 303
    assert _login(_client(web, "10.0.0.4"), "clerk", PASSWORD).status_code == 401
    assert _login(_client(web, "10.0.0.5"), "clerk", OTHER).status_code == 303
    assert "password_change" in _actions(web, "clerk")


def test_a_wrong_current_password_changes_nothing(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    token = _form_token(client.get("/account/password").text)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "guessing-it",
            "new_password": OTHER,
            "new_password2": OTHER,
        },
    )
    assert response.status_code == 403
    assert _login(_client(web, "10.0.0.6"), "clerk", PASSWORD).status_code == 303


def test_after_an_administrator_s_reset_the_user_must_choose_a_new_password(web):
    identity.reset_password(web, "clerk", "temporary-pass-1", actor="admin")
    client = _client(web)
    response = _login(client, "clerk", "temporary-pass-1", next_="/probe")
    assert response.headers["location"] == "/account/password?next=%2Fprobe"
    assert client.get("/probe").headers["location"].startswith("/account/password")
    page = client.get("/account/password")
    assert "请先设置您自己的新密码" in page.text
    done = client.post(
        "/account/password",
        data={
            "csrf_token": _form_token(page.text),
            "current_password": "temporary-pass-1",
            "new_password": OTHER,
            "new_password2": OTHER,
            "next": "/probe",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/probe"
    assert client.get("/probe").status_code == 200
    assert [a for a in _actions(web, "clerk") if a.startswith("password")] == [
        "password_set",
        "password_reset",
        "password_change",
    ]


def test_only_an_administrator_resets_someone_else_s_password(web):
    with pytest.raises(Forbidden):
        identity.reset_password(web, "clerk", OTHER, actor="supervisor")
    assert _login(_client(web), "clerk", PASSWORD).status_code == 303


# ---- API tokens -----------------------------------------------------------------------------


def test_an_api_call_without_credentials_is_401_in_the_error_shape(web):
    response = _client(web).get("/api/v1/probe")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthenticated" and body["exit_code"] == 3 and body["message"]


def test_a_token_acts_until_revoked_and_its_last_use_is_recorded(web, now):
    made, raw = identity.create_token(web, username="clerk", name="呼叫中心脚本", actor="clerk")
    assert made["scope"] == "intake_clerk" and made["last_used_at"] is None
    with web.engine.connect() as conn:
        assert raw not in set(conn.execute(select(identity.TOKEN.c.token_hash)).scalars())
    client = _client(web)
    auth = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/probe", headers=auth).json() == {
        "username": "clerk",
        "scope": "intake_clerk",
    }
    assert client.post("/api/v1/probe", headers=auth).json() == {"done": "clerk"}  # no CSRF
    listed = identity.list_tokens(web, actor="clerk")
    assert [t["id"] for t in listed] == [made["id"]] and listed[0]["last_used_at"] is not None
    identity.revoke_token(web, made["id"], actor="clerk")
    refused = client.get("/api/v1/probe", headers=auth)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthenticated"
    assert _actions(web, "clerk")[-2:] == ["token_create", "token_revoke"]
    assert refusals(web, limit=1)[0]["reason"] == "令牌无效、已过期或已撤销"


def test_a_readonly_token_reads_but_does_not_change(web):
    _, raw = identity.create_token(
        web, username="supervisor", name="看板", actor="supervisor", scope="readonly"
    )
    client = _client(web)
    auth = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/probe", headers=auth).json()["scope"] == "readonly"
    refused = client.post("/api/v1/probe", headers=auth)
    assert refused.status_code == 403 and "只读" in refused.json()["message"]


def test_a_token_never_widens_the_user_s_role(web):
    with pytest.raises(Forbidden):
        identity.create_token(web, username="clerk", name="x", actor="clerk", scope="admin")
    with pytest.raises(Forbidden):  # someone else's token: administrators only
        identity.create_token(web, username="clerk", name="x", actor="supervisor")


def test_a_token_stops_when_the_user_s_role_changes(web):
    _, raw = identity.create_token(web, username="clerk", name="x", actor="clerk")
    with web.engine.begin() as conn:
        user = table_of(User)
        conn.execute(update(user).where(user.c.username == "clerk").values(role="supervisor"))
    response = _client(web).get("/api/v1/probe", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401


def test_an_integration_token_is_made_by_an_administrator_only(web):
    with pytest.raises(Forbidden):
        identity.create_token(
            web, username="clerk", name="核心系统", actor="clerk", kind="integration"
        )
    made, raw = identity.create_token(
        web, username="clerk", name="核心系统", actor="admin", kind="integration"
    )
    assert made["kind"] == "integration" and made["created_by"] == "admin"
    response = _client(web).get("/api/v1/probe", headers={"Authorization": f"Bearer {raw}"})
    assert response.json()["username"] == "clerk"


def test_a_successful_login_forgets_attempts_older_than_a_day(web, now):
    with time_machine.travel(now - timedelta(days=2), tick=False):
        _login(_client(web), "clerk", "wrong-password")
    _login(_client(web), "supervisor", "wrong-password")
    with web.engine.connect() as conn:
        before = list(conn.execute(select(identity.ATTEMPT.c.username)).scalars())
    assert before == ["clerk", "supervisor"]
    _login(_client(web), "supervisor", PASSWORD)
    with web.engine.connect() as conn:
        after = list(conn.execute(select(identity.ATTEMPT.c.username)).scalars())
    assert after == ["supervisor", "supervisor"]
    assert "login_failed" in _actions(web, "clerk")  # the audit keeps it


def test_sessions_tokens_and_throttling_work_on_both_databases(any_ctx, now):
    ctx = any_ctx
    identity.reset_password(ctx, "liaison", PASSWORD, actor="admin", must_change=False)
    user, session = identity.login(ctx, "liaison", PASSWORD, client="10.0.0.1", now=now)
    assert user["username"] == "liaison"
    found = identity.session_info(ctx, session, now=now + timedelta(minutes=5))
    assert found is not None and found.user["username"] == "liaison"
    # Read with the session in one raw statement (storage/db.py `first_row`): the same row,
    # the same types, as the user is read everywhere else.
    assert found.user == actor(ctx, "liaison")
    idle = identity.web_settings(ctx).session_idle
    assert identity.session_user(ctx, session, now=now + 5 * idle) is None
    made, raw = identity.create_token(ctx, username="liaison", name="t", actor="liaison", now=now)
    assert identity.token_user(ctx, raw, now=now)["token_id"] == made["id"]
    identity.revoke_token(ctx, made["id"], actor="admin", now=now)
    assert identity.token_user(ctx, raw, now=now) is None
    for _ in range(identity.web_settings(ctx).max_failures):
        with pytest.raises(Forbidden):
            identity.login(
                ctx, "liaison", "wrong-password", client="10.0.0.2", now=now + timedelta(minutes=1)
            )
    with pytest.raises(identity.TooManyAttempts):
        identity.login(ctx, "liaison", PASSWORD, client="10.0.0.3", now=now + timedelta(minutes=2))


def test_an_invalid_bearer_header_does_not_excuse_a_form_from_its_csrf_token(web):
    client = _client(web)
    _login(client, "clerk", PASSWORD)
    forged = client.post("/probe", data={}, headers={"Authorization": "Bearer tsk_nothing"})
    assert forged.status_code == 403


def test_what_was_typed_is_shown_escaped_on_the_login_page(web):
    response = _login(_client(web), "<script>x</script>", PASSWORD)
    assert "<script>x" not in response.text and "&lt;script&gt;x" in response.text


def test_the_identity_audit_cannot_be_changed_or_deleted(any_ctx):
    from sqlalchemy import delete
    from sqlalchemy.exc import DBAPIError

    identity.reset_password(any_ctx, "clerk", PASSWORD, actor="admin")
    event = identity.EVENT
    with pytest.raises(DBAPIError, match="append-only"), any_ctx.engine.begin() as conn:
        conn.execute(update(event).values(actor="someone"))
    with pytest.raises(DBAPIError, match="append-only"), any_ctx.engine.begin() as conn:
        conn.execute(delete(event))
    assert [e["actor"] for e in identity.events(any_ctx, username="clerk")] == ["admin"]


def test_a_form_posted_after_the_session_ended_returns_to_its_page_after_login(web):
    client = _client(web)
    response = client.post(
        "/probe", data={}, headers={"Referer": "http://testserver/cases/TS1?tab=2"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases%2FTS1%3Ftab%3D2"
    elsewhere = client.post("/probe", data={}, headers={"Referer": "https://evil.example/x"})
    assert elsewhere.headers["location"] == "/login?next=%2F"


def test_a_stored_password_hash_carries_the_configured_argon2_cost(ctx):
    """The Argon2id parameters come from [web] password_hash_* (the suite's are lowered in
    tests/conftest.py; config/tousu.toml ships 3 passes over 64 MiB)."""
    from sqlalchemy import select

    from storage.identity import PasswordCredential

    identity.reset_password(ctx, "clerk", "Cost-check-2026!", actor="admin", must_change=False)
    table = PasswordCredential.__table__
    with ctx.engine.connect() as conn:
        stored = conn.execute(select(table.c.hash).where(table.c.username == "clerk")).scalar()
    web = ctx.config.section("web")
    expected = f"m={web['password_hash_memory_kib']},t={web['password_hash_time_cost']},"
    assert stored.startswith("$argon2id$") and expected in stored, stored
