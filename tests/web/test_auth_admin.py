"""The account pages (web/auth.py): one's own API tokens, and administrators' password resets
and disabling, each audited and behind CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services import identity
from services.access import refusals
from services.users import get_user
from tests.web.test_auth import PASSWORD, _app, _form_token, _login

pytestmark = pytest.mark.clock

NEW = "fresh-secret-99"


@pytest.fixture
def web(ctx: Any) -> Any:
    for name in ("clerk", "admin", "supervisor"):
        identity.reset_password(ctx, name, PASSWORD, actor="admin", must_change=False)
    return ctx


def _as(ctx: Any, username: str, host: str = "10.0.0.1") -> TestClient:
    client = TestClient(_app(ctx), client=(host, 50000), follow_redirects=False)
    assert _login(client, username, PASSWORD).status_code == 303
    return client


def test_a_person_makes_a_token_on_the_web_sees_it_once_and_revokes_it(web):
    client = _as(web, "clerk")
    page = client.get("/account/tokens")
    assert page.status_code == 200 and "暂无有效令牌" in page.text
    made = client.post(
        "/account/tokens", data={"csrf_token": _form_token(page.text), "name": "我的脚本"}
    )
    raw = re.search(r'id="new-token">(tsk_[^<]+)<', made.text).group(1)
    api = TestClient(_app(web))
    assert api.get("/api/v1/probe", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    again = client.get("/account/tokens")
    assert raw not in again.text and "我的脚本" in again.text
    token_id = identity.list_tokens(web, actor="clerk")[0]["id"]
    revoked = client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": _form_token(again.text)}
    )
    assert revoked.status_code == 303
    assert api.get("/api/v1/probe", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_a_token_wider_than_the_role_is_refused_on_the_web(web):
    client = _as(web, "clerk")
    token = _form_token(client.get("/account/tokens").text)
    refused = client.post(
        "/account/tokens", data={"csrf_token": token, "name": "x", "scope": "admin"}
    )
    assert refused.status_code == 403 and identity.list_tokens(web, actor="clerk") == []
    assert refusals(web, limit=1)[0]["username"] == "clerk"


def test_someone_else_s_token_cannot_be_revoked_on_the_web(web):
    made, _ = identity.create_token(web, username="supervisor", name="看板", actor="supervisor")
    client = _as(web, "clerk")
    token = _form_token(client.get("/account/tokens").text)
    response = client.post(f"/account/tokens/{made['id']}/revoke", data={"csrf_token": token})
    assert response.status_code == 403
    assert identity.list_tokens(web, actor="supervisor")[0]["revoked_at"] is None
    assert refusals(web, limit=1)[0]["username"] == "clerk"


def test_an_administrator_resets_a_password_on_the_web(web):
    victim = _as(web, "clerk", host="10.0.0.9")
    admin = _as(web, "admin")
    page = admin.get("/account/users")
    assert page.status_code == 200 and 'id="user-clerk"' in page.text
    short = admin.post(
        "/account/users/clerk/password",
        data={"csrf_token": _form_token(page.text), "new_password": "short"},
    )
    assert short.status_code == 400 and "至少" in short.text
    done = admin.post(
        "/account/users/clerk/password",
        data={"csrf_token": _form_token(page.text), "new_password": NEW, "must_change": "1"},
    )
    assert done.status_code == 200 and "已设置 clerk 的密码" in done.text
    assert victim.get("/probe").status_code == 303  # their sessions ended
    fresh = TestClient(_app(web), client=("10.0.0.8", 1), follow_redirects=False)
    assert _login(fresh, "clerk", NEW).headers["location"].startswith("/account/password")
    assert identity.events(web, username="clerk")[0]["action"] == "login"
    assert "password_reset" in [e["action"] for e in identity.events(web, username="clerk")]


def test_an_administrator_disables_and_enables_a_user_on_the_web(web):
    victim = _as(web, "clerk", host="10.0.0.9")
    admin = _as(web, "admin")
    token = _form_token(admin.get("/account/users").text)
    off = admin.post("/account/users/clerk/active", data={"csrf_token": token, "active": "0"})
    assert off.status_code == 200 and get_user(web, "clerk")["active"] is False
    assert victim.get("/probe").status_code == 303
    on = admin.post("/account/users/clerk/active", data={"csrf_token": token, "active": "1"})
    assert on.status_code == 200 and get_user(web, "clerk")["active"] is True
    actions = [e["action"] for e in identity.events(web, username="clerk")]
    assert actions[:2] == ["enable", "disable"]


def test_the_user_pages_are_for_administrators_only_and_refusals_are_recorded(web):
    client = _as(web, "supervisor")
    assert client.get("/account/users").status_code == 403
    token = _form_token(client.get("/account/password").text)
    reset = client.post(
        "/account/users/clerk/password", data={"csrf_token": token, "new_password": NEW}
    )
    off = client.post("/account/users/clerk/active", data={"csrf_token": token, "active": "0"})
    assert reset.status_code == 403 and off.status_code == 403
    assert get_user(web, "clerk")["active"] is True
    assert [r["username"] for r in refusals(web, limit=3)] == ["supervisor"] * 3


def test_the_account_forms_need_the_csrf_token(web):
    admin = _as(web, "admin")
    assert admin.post("/account/users/clerk/active", data={"active": "0"}).status_code == 403
    assert admin.post("/account/tokens", data={"name": "x"}).status_code == 403
    assert get_user(web, "clerk")["active"] is True
    assert identity.list_tokens(web, actor="admin") == []
