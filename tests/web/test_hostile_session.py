"""What a hostile page on another site can make a logged-in browser do, and what a session
that should be limited can still reach: GET requests through the session cookie that write
to the audit trail, pages that can be framed or stay in the browser's cache, a password an
administrator set that was never changed, and the API's error shape for a route that does
not exist."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from services import identity
from tests.factories import accepted
from tests.web import test_hostile_pages as pages
from tests.web.test_hostile_pages import PASSWORD, events, logged_in, login, new_client, token_of

web_ctx = pages.web_ctx  # the fixtures: every user with a password, two of Shanghai
client = pages.client

pytestmark = pytest.mark.clock


def test_a_reveal_through_the_session_cookie_needs_the_csrf_header(web_ctx, now):
    """GET /api/v1/complaints/N?reveal=true records a view of personal data in the user's
    name. With the session cookie a link on another site (a top-level navigation carries a
    SameSite=Lax cookie) would record a view the user never chose: the page asks for it by a
    form with its token, the API by the X-CSRF-Token header."""
    number = accepted(web_ctx, now - timedelta(days=1))
    c = logged_in(web_ctx, "supervisor")
    before = events(web_ctx)
    forged = c.get(f"/api/v1/complaints/{number}", params={"reveal": "true"})
    assert forged.status_code == 403, forged.text
    assert forged.json()["error"] == "forbidden"
    assert events(web_ctx) == before
    token = token_of(c.get("/").text)
    asked = c.get(
        f"/api/v1/complaints/{number}", params={"reveal": "true"}, headers={"X-CSRF-Token": token}
    )
    assert asked.status_code == 200 and asked.json()["parties"]["complainant"]["name"] == "赵六"
    assert events(web_ctx) == before + 1
    masked = c.get(f"/api/v1/complaints/{number}")  # the masked view writes nothing
    assert masked.status_code == 200 and events(web_ctx) == before + 1


def test_a_search_through_the_session_cookie_needs_the_csrf_header(web_ctx, now):
    """Each complaint a search finds records the search in its history, in the user's name."""
    accepted(web_ctx, now - timedelta(days=1))
    c = logged_in(web_ctx, "supervisor")
    before = events(web_ctx)
    forged = c.get("/api/v1/search", params={"phone": "13800138000"})
    assert forged.status_code == 403, forged.text
    assert events(web_ctx) == before
    token = token_of(c.get("/").text)
    asked = c.get(
        "/api/v1/search", params={"phone": "13800138000"}, headers={"X-CSRF-Token": token}
    )
    assert asked.status_code == 200 and len(asked.json()["complaints"]) == 1
    assert events(web_ctx) > before


def test_a_bearer_token_reveals_without_the_csrf_header(web_ctx, now):
    number = accepted(web_ctx, now - timedelta(days=1))
    _, raw = identity.create_token(web_ctx, username="supervisor", name="脚本", actor="supervisor")
    c = new_client(web_ctx)
    response = c.get(
        f"/api/v1/complaints/{number}",
        params={"reveal": "true"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200, response.text


def test_a_temporary_password_opens_no_api_through_the_cookie(web_ctx):
    identity.reset_password(web_ctx, "clerk", PASSWORD, actor="admin", must_change=True)
    c = new_client(web_ctx)
    done = login(c, "clerk")
    assert done.status_code == 303 and done.headers["location"].startswith("/account/password")
    assert c.get("/").status_code == 303  # the pages send them to change it first
    assert c.get("/api/v1/queue").status_code in (401, 403)


def test_pages_cannot_be_framed_by_another_site(web_ctx, client, now):
    number = accepted(web_ctx, now - timedelta(days=1))
    login(client, "supervisor")
    for path in ("/login", "/", f"/cases/{number}", "/dashboard"):
        headers = client.get(path).headers
        framing = headers.get("x-frame-options", "").upper()
        csp = headers.get("content-security-policy", "")
        assert framing in ("DENY", "SAMEORIGIN") or "frame-ancestors" in csp, path


def test_a_page_with_revealed_personal_data_is_not_kept_in_the_browsers_cache(web_ctx, client, now):
    number = accepted(web_ctx, now - timedelta(days=1))
    login(client, "supervisor")
    token = token_of(client.get(f"/cases/{number}").text)
    revealed = client.post(f"/cases/{number}/reveal", data={"csrf_token": token})
    assert revealed.status_code == 200 and "11010519491231002X" in revealed.text
    assert "no-store" in revealed.headers.get("cache-control", "")


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/v1/nope"), ("DELETE", "/api/v1/queue")])
def test_an_unknown_api_route_answers_in_the_apis_error_shape(web_ctx, client, method, path):
    _, raw = identity.create_token(web_ctx, username="clerk", name="脚本", actor="clerk")
    response = client.request(method, path, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code in (404, 405)
    assert set(response.json()) >= {"error", "exit_code", "message"}


def test_guessing_the_current_password_on_the_account_page_is_throttled(web_ctx):
    c = logged_in(web_ctx, "clerk")
    token = token_of(c.get("/").text)
    new = {"new_password": "Another-pass-2026", "new_password2": "Another-pass-2026"}
    for i in range(6):
        wrong = c.post(
            "/account/password",
            data={"csrf_token": token, "current_password": f"guess-{i}-xyz", **new},
        )
        assert wrong.status_code == 403
    right = c.post(
        "/account/password", data={"csrf_token": token, "current_password": PASSWORD, **new}
    )
    assert right.status_code in (403, 429)
    assert login(new_client(web_ctx, "10.8.0.1"), "clerk").status_code == 303  # still PASSWORD


PAGE_PROBES = [
    "/?focus=bogus",
    "/?focus=level",
    "/?focus=overdue&branch=nope",
    "/reports/download?period=0001-01",
    "/reports/download?period=9999-12",
    "/reports/download?quarter=0001Q1",
    "/reports/download?quarter=9999Q4",
    "/reports/download?period=2026-00",
    "/reports/download?period=2026-10&fmt=pdf",
    "/ledger/export?status=bogus",
    "/?scope=team&team=" + "x" * 5000,
    "/?handler=%00&scope=all",
    "/cases/%00",
    "/cases/" + "9" * 5000,
    "/?state=closed&state=registered",
    "/dashboard?branch=%00",
    "/?limit=100000",
    "/?level=-1",
]
API_PROBES = [
    "/api/v1/ledger?status=bogus",
    "/api/v1/ledger?kind=%00",
    "/api/v1/ledger/export?status=bogus",
    "/api/v1/ledger/%00",
    "/api/v1/reports/" + "x" * 300,
    "/api/v1/search",
    "/api/v1/search?phone=%00",
    "/api/v1/search?id_number=" + "1" * 5000,
    "/api/v1/queue?handler=" + "x" * 5000,
    "/api/v1/complaints/TS1?reveal=maybe",
]


def test_hostile_addresses_are_answered_without_a_server_error(web_ctx, client):
    login(client, "supervisor")
    for path in PAGE_PROBES:
        response = client.get(path)
        assert response.status_code < 500, (path, response.text[:200])
        assert "Traceback" not in response.text
    _, raw = identity.create_token(web_ctx, username="supervisor", name="探测", actor="supervisor")
    for path in API_PROBES:
        response = client.get(path, headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code < 500, (path, response.text[:200])
        if response.status_code >= 400:
            assert response.json().get("exit_code") in (2, 3, 4), (path, response.text[:200])
    # an encoded slash leaves the route (404, in FastAPI's shape: see the xfail above)
    escape = client.get(
        "/api/v1/reports/..%2F..%2Fetc%2Fpasswd", headers={"Authorization": f"Bearer {raw}"}
    )
    assert escape.status_code == 404 and "root:" not in escape.text


def test_script_in_a_token_name_or_a_persons_name_is_text_on_the_account_pages(web_ctx, client):
    script = "<script>alert(1)</script>"
    identity.create_token(web_ctx, username="admin", name=script, actor="admin")
    with web_ctx.engine.begin() as conn:
        from sqlalchemy import update

        from services.access import USER

        conn.execute(update(USER).where(USER.c.username == "clerk").values(name=script))
    login(client, "admin")
    for path in ("/account/tokens", "/account/users"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert script not in page.text and "&lt;script&gt;" in page.text, path


def test_pages_never_load_their_assets_from_the_host_a_request_names(web_ctx, client):
    page = client.get("/login", headers={"Host": "evil.example"})
    assert page.status_code in (200, 400)
    assert "evil.example" not in page.text


def test_concurrent_wrong_passwords_get_no_more_guesses_than_the_limit(web_ctx, monkeypatch):
    """Each guess's answer is counted before the next is judged: ten guesses sent at once are
    not all weighed against a count that none of them has raised yet (max_failures = 5)."""
    import threading
    import time

    hasher = identity._hasher(web_ctx)
    real = hasher.verify_and_update

    def slow(password: str, hashed: str) -> Any:
        time.sleep(1.0)  # an Argon2 of a busy server: every guess is in flight at once
        return real(password, hashed)

    monkeypatch.setattr(hasher, "verify_and_update", slow)
    pages_ = [new_client(web_ctx, f"10.20.0.{i}") for i in range(10)]
    forms = [token_of(c.get("/login").text) for c in pages_]
    answers: list[int] = []

    def guess(i: int) -> None:
        response = pages_[i].post(
            "/login",
            data={"username": "clerk", "password": f"guess-{i}", "csrf_token": forms[i]},
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    weighed = [a for a in answers if a == 401]
    assert len(answers) == 10 and len(weighed) <= 5, sorted(answers)


def test_an_api_token_opens_no_page(web_ctx):
    """Tokens are for the API: a page asked with one is asked by nobody (to the login)."""
    _, raw = identity.create_token(web_ctx, username="supervisor", name="脚本", actor="supervisor")
    c = new_client(web_ctx)
    for path in ("/", "/dashboard", "/account/tokens"):
        response = c.get(path, headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_file_posted_in_a_text_field_registers_nothing(web_ctx, client):
    login(client, "clerk")
    token = token_of(client.get("/register").text)
    data = {k: v for k, v in pages.REGISTER_FORM.items() if k != "claim"}
    response = client.post(
        "/register", data={**data, "csrf_token": token}, files={"claim": ("x.txt", b"abc")}
    )
    assert response.status_code == 400
    assert pages.complaints(web_ctx) == 0


def test_the_api_docs_page_loads_no_script_from_another_site(web_ctx, client):
    page = client.get("/api/docs")
    assert page.status_code in (200, 404)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page.text)
    assert all(s.startswith("/") and not s.startswith("//") for s in scripts), scripts
