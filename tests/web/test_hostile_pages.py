"""Hostile use of the workspace (web/pages/, web/auth.py): script in what people type and in
query parameters, open redirects after login, forged and replayed form posts, session
fixation, logout, throttling, users who lost their rights, and form bodies no browser sends.
Every answer is a page or a redirect of this site, never a 500; nothing is written on a
refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services import identity, users
from services.casefile import evidence
from services.context import Context
from services.lifecycle.registration import Person
from storage import records
from tests.conftest import ROLE_USERS
from tests.factories import accepted, registered
from web.app import create_app

pytestmark = pytest.mark.clock

PASSWORD = "Tousu-hostile-2026!"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'


@pytest.fixture
def web_ctx(ctx: Context) -> Context:
    ctx.config.extra["dashboard"] = {"cache_seconds": 0}
    users.add_user(ctx, "sh.liaison", name="沪对接", role="liaison", team="沪组", branch="shanghai")
    users.add_user(
        ctx, "sh.super", name="沪主管", role="supervisor", team="沪组", branch="shanghai"
    )
    for name in [*ROLE_USERS, "sh.liaison", "sh.super"]:
        identity.reset_password(ctx, name, PASSWORD, actor="admin", must_change=False)
    return ctx


def new_client(ctx: Context, host: str = "10.1.1.1") -> TestClient:
    return TestClient(
        create_app(ctx), client=(host, 40000), follow_redirects=False, raise_server_exceptions=False
    )


@pytest.fixture
def client(web_ctx: Context) -> Iterator[TestClient]:
    with new_client(web_ctx) as c:
        yield c


def token_of(text: str) -> str:
    found = CSRF.search(text)
    assert found, text[:500]
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next_: str = "/") -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": token_of(page.text),
            "next": next_,
        },
    )


def logged_in(ctx: Context, username: str, host: str = "10.1.1.1") -> TestClient:
    c = new_client(ctx, host)
    assert login(c, username).status_code == 303
    return c


def events(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records.EVENT)).scalar_one())


def complaints(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records.COMPLAINT)).scalar_one())


def no_script(text: str) -> None:
    assert "<script>alert" not in text and "<img src=x" not in text


# ---- Script in what people type and in the address ------------------------------------------


def test_script_typed_into_a_complaint_is_shown_as_text_everywhere(web_ctx, client, now, tmp_path):
    person = Person(name=XSS, phone="13800138000", address=XSS)
    number = accepted(
        web_ctx,
        now - timedelta(days=1),
        complainant=person,
        claim=XSS,
        facts=XSS,
        employee_name=XSS[:30],
        policy_no="P<b>1</b>",
    )
    path = tmp_path / f"{XSS[:20].replace('/', '_')}.txt"
    path.write_text("证据")
    evidence.attach(web_ctx, number, [path], actor="liaison", note=XSS)
    login(client, "liaison")
    for page in (
        client.get(f"/cases/{number}"),
        client.post(f"/cases/{number}/reveal", data={"csrf_token": token_of(client.get("/").text)}),
        client.get("/"),
    ):
        assert page.status_code == 200, page.text
        no_script(page.text)
    revealed = page.text
    assert (
        "&lt;script&gt;"
        in client.post(f"/cases/{number}/reveal", data={"csrf_token": token_of(revealed)}).text
    )


@pytest.mark.parametrize(
    "path",
    [
        "/?team=" + quote(XSS),
        "/?handler=" + quote(XSS) + "&scope=all",
        "/?category=" + quote(XSS),
        "/?branch=" + quote(XSS),
        "/?scope=" + quote(XSS),
        "/?focus=" + quote(XSS),
        "/?state=" + quote(XSS),
        "/cases/" + quote(XSS, safe=""),
        "/dashboard?branch=" + quote(XSS),
        "/dashboard/figures?branch=" + quote(XSS),
        "/reports/download?period=" + quote(XSS),
        "/reports/download?quarter=" + quote(XSS),
        "/ledger/export?status=" + quote(XSS),
        "/account/password?next=" + quote("/" + XSS),
    ],
)
def test_script_in_a_query_parameter_is_never_echoed_as_markup(web_ctx, client, path):
    login(client, "supervisor")
    response = client.get(path)
    assert response.status_code < 500, response.text
    no_script(response.text)


def test_script_in_done_is_text(web_ctx, client, now):
    number = registered(web_ctx, now - timedelta(hours=1))
    login(client, "clerk")
    page = client.get(f"/cases/{number}", params={"done": XSS})
    assert page.status_code == 200
    no_script(page.text)


# ---- Where login leads ----------------------------------------------------------------------

HOSTILE_NEXT = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    "///evil.example",
    " //evil.example",
    "/.//evil.example",  # a path of this site: harmless, but must stay relative
    "\u3000//evil.example",
    "data:text/html,<script>alert(1)</script>",
]


def stays_here(location: str) -> bool:
    return location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_leads_to_another_site(web_ctx, client, target):
    response = login(client, "clerk", next_=target)
    assert response.status_code == 303
    assert stays_here(response.headers["location"]), response.headers["location"]
    again = client.get("/login", params={"next": target})  # already logged in
    assert again.status_code == 303 and stays_here(again.headers["location"])


def test_the_login_page_keeps_a_hostile_next_out_of_its_markup(web_ctx, client):
    page = client.get("/login", params={"next": '/"><script>alert(1)</script>'})
    assert page.status_code == 200
    no_script(page.text)


def test_a_request_for_a_double_slash_path_comes_back_to_this_site(web_ctx, client):
    response = client.get("//evil.example/x")
    if response.status_code == 303:
        assert stays_here(response.headers["location"])
    done = login(client, "clerk", next_="//evil.example/x")
    assert stays_here(done.headers["location"])


# ---- Forged and replayed posts --------------------------------------------------------------


def test_a_post_without_or_with_another_sessions_token_changes_nothing(web_ctx, now):
    number = accepted(web_ctx, now - timedelta(days=1))
    victim = logged_in(web_ctx, "liaison")
    attacker = logged_in(web_ctx, "clerk", host="10.9.9.9")
    theirs = token_of(attacker.get("/").text)
    before = events(web_ctx)
    url = f"/cases/{number}/actions/investigate"
    for data in ({}, {"csrf_token": ""}, {"csrf_token": theirs}, {"csrf_token": "x" * 5000}):
        assert victim.post(url, data=data).status_code == 403
    # the token in the address, not the form, counts for nothing
    assert victim.post(url + "?csrf_token=" + token_of(victim.get("/").text)).status_code == 403
    assert victim.post(f"/cases/{number}/reveal").status_code == 403
    assert events(web_ctx) == before


def test_a_bogus_bearer_header_does_not_switch_off_the_csrf_check_of_a_page(web_ctx, now):
    number = accepted(web_ctx, now - timedelta(days=1))
    victim = logged_in(web_ctx, "liaison")
    before = events(web_ctx)
    response = victim.post(
        f"/cases/{number}/actions/investigate", headers={"Authorization": "Bearer nothing"}
    )
    assert response.status_code == 403
    assert events(web_ctx) == before


def test_an_api_write_with_the_session_cookie_needs_the_csrf_header(web_ctx, client, now):
    number = accepted(web_ctx, now - timedelta(days=1))
    login(client, "liaison")
    before = events(web_ctx)
    url = f"/api/v1/complaints/{number}/investigate"
    assert client.post(url, json={}).status_code == 403
    assert client.post(url, json={}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    form = client.post(url, data={"csrf_token": token_of(client.get("/").text)})
    assert form.status_code in (400, 403)  # a form field is no header
    assert events(web_ctx) == before
    done = client.post(url, json={}, headers={"X-CSRF-Token": token_of(client.get("/").text)})
    assert done.status_code == 200, done.text


def test_a_login_form_posted_from_elsewhere_logs_nobody_in(web_ctx, client):
    """Login CSRF: without the login page's own cookie the victim is not logged in as the
    attacker."""
    response = client.post(
        "/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": "guess"}
    )
    assert response.status_code == 403 and "tousu_session" not in response.cookies
    assert client.get("/").status_code == 303


# ---- Sessions -------------------------------------------------------------------------------


def test_a_session_id_planted_before_login_is_never_adopted(web_ctx, client):
    client.cookies.set("tousu_session", "planted-by-the-attacker", domain="testserver.local")
    response = login(client, "clerk")
    assert response.status_code == 303
    issued = re.search(r"tousu_session=([^;]+)", response.headers["set-cookie"])
    assert issued and issued.group(1) != "planted-by-the-attacker"
    attacker = new_client(web_ctx, "10.9.9.9")
    attacker.cookies.set("tousu_session", "planted-by-the-attacker")
    assert attacker.get("/").status_code == 303


def test_logout_ends_the_session_for_a_copy_of_the_cookie_too(web_ctx, client):
    login(client, "clerk")
    stolen = client.cookies.get("tousu_session")
    copy = new_client(web_ctx, "10.9.9.9")
    copy.cookies.set("tousu_session", stolen)
    assert copy.get("/").status_code == 200
    assert (
        client.post("/logout", data={"csrf_token": token_of(client.get("/").text)}).status_code
        == 303
    )
    assert copy.get("/").status_code == 303
    assert copy.get("/api/v1/queue").status_code == 401


def test_a_logout_without_its_token_is_refused_and_the_session_lives(web_ctx, client):
    login(client, "clerk")
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200


def test_the_session_cookie_is_httponly_samesite_and_site_wide(web_ctx, client):
    response = login(client, "clerk")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("tousu_session=")
    ).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "max-age=" in cookie
    page = new_client(web_ctx).get("/login")
    login_cookie = page.headers["set-cookie"].lower()
    assert "httponly" in login_cookie and "samesite=lax" in login_cookie


def test_a_disabled_users_open_page_session_ends_at_once(web_ctx, now):
    c = logged_in(web_ctx, "liaison")
    number = accepted(web_ctx, now - timedelta(days=1))
    token = token_of(c.get("/").text)
    identity.set_active(web_ctx, "liaison", False, actor="admin")
    assert c.get("/").status_code == 303
    before = events(web_ctx)
    response = c.post(f"/cases/{number}/actions/investigate", data={"csrf_token": token})
    assert response.status_code in (303, 403)
    assert events(web_ctx) == before
    assert c.get("/api/v1/queue").status_code == 401


@pytest.mark.parametrize("cookie", ["x" * 5000, "%FF%FE", "a;b", "", " ", "%00", "tsk_" + "A" * 40])
def test_a_garbage_session_cookie_is_no_session(web_ctx, client, cookie):
    client.cookies.set("tousu_session", cookie)
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/queue").status_code == 401


# ---- Throttling -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["clerk", " clerk", "clerk ", "\tclerk\n"])
def test_throttling_holds_across_whitespace_and_client_addresses(web_ctx, variant):
    for i in range(5):
        c = new_client(web_ctx, f"10.2.0.{i}")
        assert login(c, "clerk", password="wrong-password").status_code == 401
    for i in range(3):
        c = new_client(web_ctx, f"10.3.0.{i}")
        response = login(c, variant)
        assert response.status_code == 429, response.text
        assert "tousu_session" not in response.cookies


def test_a_username_in_another_case_is_not_the_user(web_ctx):
    for variant in ("CLERK", "Clerk", "ｃｌｅｒｋ"):
        response = login(new_client(web_ctx, "10.4.0.1"), variant)
        assert response.status_code == 401 and "tousu_session" not in response.cookies


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(web_ctx):
    wrong = login(new_client(web_ctx, "10.5.0.1"), "clerk", password="wrong-password")
    unknown = login(new_client(web_ctx, "10.5.0.2"), "nobody-here", password="wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'<p class="form-error" role="alert">([^<]*)</p>')
    assert message.search(wrong.text).group(1) == message.search(unknown.text).group(1)


def test_an_unknown_user_costs_a_password_hash_like_a_known_one(web_ctx, monkeypatch):
    """No timing oracle: the hasher runs for a username without a password as for one with."""
    hasher = identity._hasher(web_ctx)
    calls: list[str] = []
    real = hasher.verify_and_update

    def counting(password: str, hashed: str) -> Any:
        calls.append(hashed[:10])
        return real(password, hashed)

    monkeypatch.setattr(hasher, "verify_and_update", counting)
    login(new_client(web_ctx, "10.6.0.1"), "nobody-here", password="wrong-password")
    login(new_client(web_ctx, "10.6.0.2"), "clerk", password="wrong-password")
    assert len(calls) == 2 and calls[0][:7] == calls[1][:7] == "$argon2"


# ---- Access: cases outside one's scope ------------------------------------------------------


def test_revealing_or_acting_on_a_case_of_another_branch_is_refused_and_unrecorded(web_ctx, now):
    number = accepted(web_ctx, now - timedelta(days=1), branch="beijing")
    c = logged_in(web_ctx, "sh.liaison")
    token = token_of(c.get("/").text)
    before = events(web_ctx)
    assert c.post(f"/cases/{number}/reveal", data={"csrf_token": token}).status_code == 403
    act = c.post(f"/cases/{number}/actions/investigate", data={"csrf_token": token})
    assert act.status_code == 403
    api = c.get(f"/api/v1/complaints/{number}?reveal=true")
    assert api.status_code == 403
    assert events(web_ctx) == before


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard",
        "/dashboard/figures",
        "/?focus=overdue",
        "/?level=1",
        "/?scope=all",
        "/?scope=branch&branch=beijing",
        "/?handler=liaison2",
        "/reports",
        "/reports/download?period=2026-10",
        "/ledger/export",
    ],
)
def test_a_handler_cannot_open_what_supervisors_see(web_ctx, path):
    c = logged_in(web_ctx, "liaison")
    response = c.get(path)
    assert response.status_code == 403, (path, response.status_code)


# ---- Form bodies no browser sends -----------------------------------------------------------


REGISTER_FORM = {
    "name": "赵六",
    "phone": "13800138000",
    "claim": "要求赔付",
    "facts": "三十日未获答复",
    "channel": "hotline",
    "branch": "beijing",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "赵\x00六"),
        ("claim", "x" * 10_000_000),
        ("amount", "-1"),
        ("amount", "1e400"),
        ("amount", "NaN"),
        ("received_at", "0001-01-01T00:00"),
        ("received_at", "9999-12-31T23:59"),
        ("channel", "<script>"),
    ],
)
def test_a_hostile_registration_form_is_a_400_page_and_writes_nothing(
    web_ctx, client, field, value
):
    login(client, "clerk")
    token = token_of(client.get("/register").text)
    response = client.post("/register", data={**REGISTER_FORM, field: value, "csrf_token": token})
    # A body over [web] max_body_bytes is refused unread (413, web/guard.py); the rest is a
    # 400 page naming the field.
    big = (
        len(str(value).encode("utf-8", "surrogatepass"))
        > web_ctx.config.section("web")["max_body_bytes"]
    )
    assert response.status_code == (413 if big else 400), response.text[:300]
    no_script(response.text)
    assert complaints(web_ctx) == 0


def test_a_form_in_another_encoding_is_refused_not_stored_as_mojibake(web_ctx, client):
    """A form posted as GBK (a page saved and edited elsewhere, accept-charset) carries bytes
    that are not UTF-8: refused, never registered with U+FFFD in the complainant's name."""
    login(client, "clerk")
    token = token_of(client.get("/register").text)
    body = "&".join(
        f"{k}={quote(v.encode('gbk'))}" for k, v in {**REGISTER_FORM, "csrf_token": token}.items()
    )
    response = client.post(
        "/register",
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text[:300]
    assert complaints(web_ctx) == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"expected_version": str(10**30)},
        {"expected_version": "-5"},
        {"expected_version": "1.5"},
        {"at": "0001-01-01T00:00"},
        {"at": "9999-12-31T23:59"},
        {"at": "2026-02-30T10:00"},
        {"at": "nonsense"},
    ],
)
def test_a_hostile_action_form_is_a_4xx_page_and_writes_nothing(web_ctx, client, now, extra):
    number = accepted(web_ctx, now - timedelta(days=1))
    login(client, "liaison")
    token = token_of(client.get(f"/cases/{number}").text)
    before = events(web_ctx)
    response = client.post(
        f"/cases/{number}/actions/investigate", data={"csrf_token": token, **extra}
    )
    assert 400 <= response.status_code < 500, response.text[:300]
    assert events(web_ctx) == before


@pytest.mark.parametrize("trigger", ["nope", "__class__", "x" * 300, "%00"])
def test_an_unknown_action_is_a_4xx_page(web_ctx, client, now, trigger):
    number = accepted(web_ctx, now - timedelta(days=1))
    login(client, "liaison")
    token = token_of(client.get(f"/cases/{number}").text)
    response = client.post(f"/cases/{number}/actions/{trigger}", data={"csrf_token": token})
    assert 400 <= response.status_code < 500


def test_a_file_sent_in_a_text_field_is_refused_or_read_as_text(web_ctx, client, now):
    number = accepted(web_ctx, now - timedelta(days=1))
    login(client, "liaison")
    token = token_of(client.get(f"/cases/{number}").text)
    response = client.post(
        f"/cases/{number}/actions/negotiate",
        data={"csrf_token": token},
        files={"findings": ("x.txt", b"<script>alert(1)</script>")},
    )
    assert response.status_code < 500, response.text[:300]
    no_script(response.text)


# ---- Downloads ------------------------------------------------------------------------------


def test_downloads_are_attachments_named_in_utf8(web_ctx, client):
    login(client, "supervisor")
    ledger = client.get("/ledger/export")
    assert ledger.status_code == 200
    disposition = ledger.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "\r" not in disposition and "\n" not in disposition
    report = client.get("/reports/download", params={"period": "2026-10", "fmt": "html"})
    assert report.status_code == 200 and report.headers["content-disposition"].startswith(
        "attachment;"
    )
