"""The workspace's pages (web/pages/) through the ASGI app, logged in through /login as each
role: who may open what (refusals are a 403 page and recorded), the queue, the case page and
its forms (the same fields, errors and version check as the CLI), registration, the
dashboard's numbers and the cases behind them, downloads and the lifecycle diagram."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta

import httpx
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services import identity
from services.access import refusals
from services.context import Context
from services.lifecycle import actions as a
from services.lifecycle.queries import deadlines_of, get_complaint
from services.lifecycle.registration import Person
from storage.records import COMPLAINT
from storage.timeutil import local
from tests.conftest import ROLE_USERS
from tests.factories import accepted, notified, registered
from web.app import create_app

pytestmark = pytest.mark.clock

PASSWORD = "Tousu-web-2026!"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW = re.compile(r'<tr class="([a-z]*)" data-number="(TS\d+)">')


_SEQ = itertools.count(1)


def someone() -> Person:
    """A complainant of their own (the same person twice is a repeat complaint, merged)."""
    i = next(_SEQ)
    return Person(name=f"客户{i:03d}", phone=f"1390000{i:04d}", address=f"北京市海淀区{i}号")


def login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    done = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def csrf(page_text: str) -> str:
    found = CSRF.search(page_text)
    assert found, "no CSRF field on the page"
    return found.group(1)


def queue_rows(page_text: str) -> list[tuple[str, str]]:
    """(urgency class, number) of each queue row, in order."""
    return [(cls, number) for cls, number in ROW.findall(page_text)]


def state_of(ctx: Context, number: str) -> tuple[str, int]:
    case = get_complaint(ctx, number)["case"]
    return case["state"], case["version"]


def post_form(
    client: TestClient, ctx: Context, number: str, trigger: str, page: str, **fields: str
) -> httpx.Response:
    """An action's form posted as the case page `page` sends it: with its CSRF token and
    the version the case has now."""
    _, version = state_of(ctx, number)
    return client.post(
        f"/cases/{number}/actions/{trigger}",
        data={"csrf_token": csrf(page), "expected_version": str(version), **fields},
        follow_redirects=False,
    )


@pytest.fixture
def web_ctx(ctx: Context) -> Context:
    for name in ROLE_USERS:
        identity.reset_password(ctx, name, PASSWORD, actor="admin", must_change=False)
    return ctx


@pytest.fixture
def client(web_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(web_ctx)) as c:
        yield c


def as_user(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    login(client, username)
    return client


# ---- Who may open what ----------------------------------------------------------------------

ALLOWED = {
    "/register": {"clerk", "liaison", "liaison2", "supervisor"},
    "/dashboard": {"supervisor", "committee"},
    "/dashboard/figures": {"supervisor", "committee"},
    "/reports": {"supervisor", "committee", "coordinator", "admin"},
    "/ledger/export": {"supervisor", "committee", "coordinator", "admin"},
    "/?focus=overdue": {"supervisor", "committee"},
    "/?scope=all": {"supervisor", "committee"},
    "/": set(ROLE_USERS),
    "/lifecycle": set(ROLE_USERS),
    "/cases/{number}": set(ROLE_USERS),
}


@pytest.mark.parametrize("username", sorted(ROLE_USERS))
def test_every_page_opens_for_the_roles_allowed_and_is_a_recorded_403_page_for_others(
    client, web_ctx, now, username
):
    number = accepted(web_ctx, now - timedelta(hours=3), complainant=someone())
    as_user(client, username)
    for path, allowed in ALLOWED.items():
        before = len(refusals(web_ctx, limit=1000))
        response = client.get(path.format(number=number), follow_redirects=False)
        if username in allowed:
            assert response.status_code == 200, (path, response.text[:500])
        else:
            assert response.status_code == 403, (path, response.status_code)
            assert "text/html" in response.headers["content-type"]
            assert "不允许" in response.text and "Traceback" not in response.text
            recorded = refusals(web_ctx, limit=1000)
            assert len(recorded) == before + 1
            assert recorded[0]["username"] == username
            assert recorded[0]["command"].startswith("web ")


def test_without_a_session_every_page_sends_to_the_login(client, web_ctx, now):
    number = registered(web_ctx, now - timedelta(hours=1), complainant=someone())
    for path in ("/", f"/cases/{number}", "/register", "/dashboard", "/reports", "/lifecycle"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    posted = client.post(f"/cases/{number}/actions/accept", data={}, follow_redirects=False)
    assert posted.status_code in (303, 403)
    assert state_of(web_ctx, number)[0] == "registered"


# ---- The queue -------------------------------------------------------------------------------


def _expected_urgency(ctx: Context, number: str, now: datetime) -> str:
    running = [d for d in deadlines_of(ctx, number) if d["status"] == "running"]
    due = min(d["due"] for d in running)
    if due < now:
        return "overdue"
    tomorrow = local(now, ctx.tz).date() + timedelta(days=1)
    return "today" if due <= datetime.combine(tomorrow, time(0), tzinfo=ctx.tz) else ""


def test_my_queue_lists_my_cases_nearest_deadline_first_overdue_red(client, web_ctx, now):
    old = accepted(web_ctx, now - timedelta(days=60), complainant=someone())
    fresh = accepted(web_ctx, now - timedelta(hours=3), complainant=someone())
    someone_elses = registered(web_ctx, now - timedelta(hours=2), complainant=someone())
    a.accept(
        web_ctx,
        someone_elses,
        actor="clerk",
        category="claims",
        product="medical",
        owner="liaison2",
    )
    rows = queue_rows(as_user(client, "liaison").get("/").text)
    assert [number for _, number in rows] == [old, fresh]
    assert rows[0][0] == "overdue" == _expected_urgency(web_ctx, old, now)
    assert rows[1][0] == _expected_urgency(web_ctx, fresh, now)
    assert 'class="overdue"' in client.get("/").text


def test_a_clerks_queue_holds_the_registered_cases_and_a_due_today_one_is_yellow(
    client, web_ctx, now
):
    number = registered(web_ctx, now - timedelta(hours=23, minutes=30), complainant=someone())
    rows = queue_rows(as_user(client, "clerk").get("/").text)
    assert rows == [(_expected_urgency(web_ctx, number, now), number)]


def test_queue_filters_are_query_parameters_and_bad_ones_are_a_400_page(client, web_ctx, now):
    first = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    second = accepted(web_ctx, now - timedelta(hours=4), complainant=someone())
    a.investigate(web_ctx, second, actor="liaison")
    as_user(client, "liaison")
    only = queue_rows(client.get("/?state=investigating").text)
    assert [n for _, n in only] == [second]
    both = queue_rows(client.get("/?state=accepted&state=investigating").text)
    assert {n for _, n in both} == {first, second}
    bad = client.get("/?state=nonsense")
    assert bad.status_code == 400 and "state" in bad.text


def test_supervisors_choose_team_branch_and_all_scopes(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    as_user(client, "supervisor")
    assert queue_rows(client.get("/").text) == []
    for scope in ("team", "branch", "all"):
        listed = [n for _, n in queue_rows(client.get(f"/?scope={scope}").text)]
        assert listed == [number], scope
    handler = [n for _, n in queue_rows(client.get("/?scope=all&handler=liaison2").text)]
    assert handler == []


# ---- The case page ---------------------------------------------------------------------------


def test_the_case_page_masks_the_parties_and_a_reveal_is_logged_like_the_cli(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5))
    page = as_user(client, "liaison").get(f"/cases/{number}")
    assert "13800138000" not in page.text and "11010519491231002X" not in page.text
    assert "已脱敏" in page.text and f"/cases/{number}/reveal" in page.text
    events_before = len(get_complaint(web_ctx, number)["events"])
    shown = client.post(f"/cases/{number}/reveal", data={"csrf_token": csrf(page.text)})
    assert shown.status_code == 200
    assert "13800138000" in shown.text and "11010519491231002X" in shown.text
    events = get_complaint(web_ctx, number)["events"]
    assert len(events) == events_before + 1
    assert (events[-1]["action"], events[-1]["actor"]) == ("view_pii", "liaison")
    assert events[-1]["details"] == {"parties": ["complainant"]}


def test_a_role_that_may_not_see_personal_data_has_no_reveal_and_is_refused(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5))
    page = as_user(client, "investigator").get(f"/cases/{number}")
    assert f"/cases/{number}/reveal" not in page.text
    refused = client.post(f"/cases/{number}/reveal", data={"csrf_token": csrf(page.text)})
    assert refused.status_code == 403 and "13800138000" not in refused.text
    assert refusals(web_ctx)[0]["username"] == "investigator"
    assert all(e["action"] != "view_pii" for e in get_complaint(web_ctx, number)["events"])


def test_the_case_page_shows_deadlines_with_warnings_and_the_timeline(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    page = as_user(client, "liaison").get(f"/cases/{number}").text
    labels = {
        d["name"]: web_ctx.config.deadlines[d["name"]].label for d in deadlines_of(web_ctx, number)
    }
    for label in labels.values():
        assert label in page
    assert "时限过半提醒" in page  # the first rung of the escalation ladder ([escalation])
    assert 'data-action="register"' in page and 'data-action="accept"' in page
    assert "受理" in page and "登记" in page


def test_the_case_page_lists_evidence_and_letters_to_the_roles_that_may_see_them(
    client, web_ctx, now, tmp_path
):
    from services.casefile import evidence

    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    scan = tmp_path / "in" / "住院病历.pdf"
    scan.parent.mkdir()
    scan.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    evidence.attach(web_ctx, number, [scan], actor="liaison", kind="letter", note="受理告知书")
    page = as_user(client, "liaison").get(f"/cases/{number}").text
    listed = page[
        page.index('id="evidence"') : page.index("</section>", page.index('id="evidence"'))
    ]
    assert "住院病历.pdf" in listed and "书面函件" in listed and "受理告知书" in listed
    page = as_user(client, "admin").get(f"/cases/{number}").text  # not a case-file role
    assert 'id="evidence"' not in page
    assert "<td>住院病历.pdf</td>" not in page  # (the timeline still says it was attached)


def test_each_allowed_action_has_a_form_built_from_its_declared_fields(client, web_ctx, now):
    number = registered(web_ctx, now - timedelta(hours=1), complainant=someone())
    page = as_user(client, "clerk").get(f"/cases/{number}").text
    form = page[
        page.index('id="action-accept"') : page.index(
            "</details>", page.index('id="action-accept"')
        )
    ]
    assert f'action="/cases/{number}/actions/accept"' in form
    assert '<select id="accept-category" name="category" required>' in form
    for code in web_ctx.config.taxonomy.categories:
        assert f'value="{code}"' in form
    assert 'name="owner"' in form and 'list="users"' in form
    assert '<select id="accept-priority" name="priority">' in form  # optional: no mark
    assert 'name="expected_version" value="1"' in form
    assert "负责到底的投诉对接人用户名" in form  # the field's help text
    # Only what this role may do now: the clerk cannot assign, the investigator sees no accept.
    assert 'id="action-assign"' not in page
    page = as_user(client, "investigator").get(f"/cases/{number}").text
    assert 'id="action-accept"' not in page


def test_an_action_through_its_form_changes_the_case_and_the_timeline(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    page = as_user(client, "liaison").get(f"/cases/{number}").text
    _, version = state_of(web_ctx, number)
    done = post_form(client, web_ctx, number, "investigate", page, note="调取病历")
    assert done.status_code == 303 and done.headers["location"].startswith(f"/cases/{number}")
    assert state_of(web_ctx, number) == ("investigating", version + 1)
    after = client.get(done.headers["location"]).text
    assert 'data-action="investigate"' in after and "调查中" in after
    events = get_complaint(web_ctx, number)["events"]
    assert (events[-1]["action"], events[-1]["details"]["note"]) == ("investigate", "调取病历")


def test_a_bad_field_is_shown_beside_its_input_with_what_was_typed_and_changes_nothing(
    client, web_ctx, now
):
    number = registered(web_ctx, now - timedelta(hours=1), complainant=someone())
    page = as_user(client, "clerk").get(f"/cases/{number}").text
    before = state_of(web_ctx, number)
    events = len(get_complaint(web_ctx, number)["events"])
    bad = client.post(
        f"/cases/{number}/actions/accept",
        data={
            "csrf_token": csrf(page),
            "expected_version": "1",
            "category": "claims",
            "product": "medical",
            "owner": "liaison",
            "priority": "urgent",
            "priority_reason": "媒体关注",
        },
    )
    assert bad.status_code == 400
    form = bad.text[bad.text.index('id="action-accept"') :]
    field = form[
        form.index('id="accept-priority"') : form.index(
            "</div>", form.index('id="accept-priority"')
        )
    ]
    assert 'class="field-error"' in field and "urgent" in html.unescape(field)
    assert ">媒体关注</textarea>" in form and 'value="liaison"' in form  # kept as typed
    assert '<details class="action" id="action-accept" open>' in bad.text
    assert state_of(web_ctx, number) == before
    assert len(get_complaint(web_ctx, number)["events"]) == events


def test_a_missing_required_field_names_it(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    a.investigate(web_ctx, number, actor="liaison")
    page = as_user(client, "liaison").get(f"/cases/{number}").text
    bad = client.post(
        f"/cases/{number}/actions/negotiate",
        data={"csrf_token": csrf(page), "expected_version": "3", "findings": "  "},
    )
    assert bad.status_code == 400
    form = bad.text[bad.text.index('id="action-negotiate"') :]
    assert 'class="field-error"' in form[: form.index("</form>")]
    assert state_of(web_ctx, number)[0] == "investigating"


def test_a_form_posted_after_someone_else_changed_the_case_is_a_409_page(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    page = as_user(client, "liaison").get(f"/cases/{number}").text
    seen = state_of(web_ctx, number)[1]
    a.investigate(web_ctx, number, actor="supervisor")  # meanwhile, in another window
    late = client.post(
        f"/cases/{number}/actions/consult",
        data={"csrf_token": csrf(page), "expected_version": str(seen), "reason": "疑难"},
    )
    assert late.status_code == 409 and "冲突" in late.text
    assert state_of(web_ctx, number) == ("investigating", seen + 1)


def test_a_form_without_its_csrf_token_is_refused_and_recorded(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5))
    as_user(client, "liaison").get(f"/cases/{number}")
    for token in (None, "forged"):
        data = {"expected_version": "2", "note": "x"} | ({"csrf_token": token} if token else {})
        refused = client.post(f"/cases/{number}/actions/investigate", data=data)
        assert refused.status_code == 403 and "CSRF" in refused.text
        assert refusals(web_ctx)[0]["username"] == "liaison"
    assert state_of(web_ctx, number) == ("accepted", 2)
    revealed = client.post(f"/cases/{number}/reveal", data={})
    assert revealed.status_code == 403 and "13800138000" not in revealed.text


def test_an_action_the_role_may_not_take_is_a_recorded_403(client, web_ctx, now):
    number = registered(web_ctx, now - timedelta(hours=1), complainant=someone())
    page = as_user(client, "investigator").get(f"/cases/{number}").text
    refused = client.post(
        f"/cases/{number}/actions/accept",
        data={
            "csrf_token": csrf(page),
            "category": "claims",
            "product": "medical",
            "owner": "liaison",
        },
    )
    assert refused.status_code == 403 and "调查员" in refused.text
    assert refusals(web_ctx)[0]["command"] == f"web accept {number}"
    assert state_of(web_ctx, number)[0] == "registered"


def test_supervisors_assign_a_case_through_its_form(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5), complainant=someone())
    page = as_user(client, "supervisor").get(f"/cases/{number}").text
    assert 'id="action-assign"' in page and 'list="users"' in page
    assert '<option value="liaison2">' in client.get("/users/options").text  # offered
    done = client.post(
        f"/cases/{number}/actions/assign",
        data={
            "csrf_token": csrf(page),
            "expected_version": "2",
            "owner": "liaison2",
            "reason": "休假交接",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert get_complaint(web_ctx, number)["case"]["owner"] == "liaison2"
    assert [n for _, n in queue_rows(as_user(client, "liaison2").get("/").text)] == [number]


# ---- Registration ----------------------------------------------------------------------------

GOOD = {
    "name": "钱七",
    "phone": "13900139000",
    "id_number": "11010519491231002X",
    "claim": "要求退还保费",
    "facts": "销售时未说明犹豫期",
    "channel": "hotline",
    "branch": "head_office",
    "amount": "1200",
    "heir": "",
}


def _complaints(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(COMPLAINT)).scalar())


def test_the_registration_form_registers_a_complaint_like_the_cli(client, web_ctx):
    page = as_user(client, "clerk").get("/register").text
    for name in ("name", "phone", "claim", "facts", "channel", "received_at", "media_involved"):
        assert f'name="{name}"' in page
    assert '<select id="reg-channel" name="channel" required>' in page
    done = client.post("/register", data={**GOOD, "csrf_token": csrf(page)}, follow_redirects=False)
    assert done.status_code == 303
    number = done.headers["location"].split("/")[2].split("?")[0]
    case = get_complaint(web_ctx, number)["case"]
    assert (case["state"], case["registered_by"], case["amount"]) == ("registered", "clerk", 1200)
    shown = client.get(done.headers["location"]).text
    assert number in shown and "13900139000" not in shown


def test_bad_registration_fields_are_all_shown_and_nothing_is_registered(client, web_ctx):
    page = as_user(client, "clerk").get("/register").text
    before = _complaints(web_ctx)
    bad = client.post(
        "/register",
        data={**GOOD, "phone": "12345", "claim": "", "amount": "-5", "csrf_token": csrf(page)},
    )
    assert bad.status_code == 400
    for name in ("phone", "claim", "amount"):
        start = bad.text.index(f'id="reg-{name}"')
        assert 'class="field-error"' in bad.text[start : bad.text.index("</div>", start)], name
    assert 'value="钱七"' in bad.text and 'value="12345"' in bad.text
    assert _complaints(web_ctx) == before


def test_registration_by_a_role_that_may_not_register_is_a_recorded_403(client, web_ctx):
    token = csrf(as_user(client, "investigator").get("/").text)
    refused = client.post("/register", data={**GOOD, "csrf_token": token})
    assert refused.status_code == 403 and "调查员" in refused.text
    assert refusals(web_ctx)[0]["username"] == "investigator"
    assert _complaints(web_ctx) == 0


def test_a_move_only_the_system_makes_has_no_form_route(client, web_ctx, now):
    number = registered(web_ctx, now - timedelta(hours=1), complainant=someone())
    page = as_user(client, "supervisor").get(f"/cases/{number}").text
    refused = client.post(
        f"/cases/{number}/actions/link", data={"csrf_token": csrf(page), "master": number}
    )
    assert refused.status_code == 400
    unknown = client.post(f"/cases/{number}/actions/nonsense", data={"csrf_token": csrf(page)})
    assert unknown.status_code == 400
    assert state_of(web_ctx, number) == ("registered", 1)


def test_a_form_not_in_utf8_is_refused_and_nothing_is_written(client, web_ctx, now):
    from urllib.parse import quote

    page = as_user(client, "clerk").get("/register").text
    body = "&".join(
        f"{k}={quote(v.encode('gbk'))}" for k, v in {**GOOD, "csrf_token": csrf(page)}.items()
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = client.post("/register", content=body.encode(), headers=form)
    assert refused.status_code == 400 and "UTF-8" in refused.text
    assert _complaints(web_ctx) == 0
    number = registered(web_ctx, now - timedelta(hours=1), complainant=someone())
    page = client.get(f"/cases/{number}").text
    body = f"csrf_token={csrf(page)}&category=claims&product=medical&owner=liaison" + (
        "&priority_reason=" + quote("媒体关注".encode("gbk"))
    )
    refused = client.post(f"/cases/{number}/actions/accept", content=body.encode(), headers=form)
    assert refused.status_code == 400 and "UTF-8" in refused.text
    assert state_of(web_ctx, number) == ("registered", 1)


def test_a_file_posted_where_text_is_declared_is_refused(client, web_ctx):
    page = as_user(client, "clerk").get("/register").text
    data = {k: v for k, v in GOOD.items() if k != "claim"}
    refused = client.post(
        "/register", data={**data, "csrf_token": csrf(page)}, files={"claim": ("x.txt", b"abc")}
    )
    assert refused.status_code == 400 and "不能上传文件" in refused.text
    assert _complaints(web_ctx) == 0


def test_pages_are_not_cached_and_load_their_assets_from_this_site(client, web_ctx, now):
    number = accepted(web_ctx, now - timedelta(hours=5))
    page = as_user(client, "supervisor").get(f"/cases/{number}", headers={"Host": "evil.example"})
    assert page.headers["cache-control"] == "no-store"
    assert "evil.example" not in page.text and 'href="/static/tousu.css"' in page.text
    shown = client.post(f"/cases/{number}/reveal", data={"csrf_token": csrf(page.text)})
    assert "13800138000" in shown.text and shown.headers["cache-control"] == "no-store"
    dashboard = client.get("/dashboard", headers={"Host": "evil.example"}).text
    assert 'src="/static/tousu.js"' in dashboard and "evil.example" not in dashboard


def test_registration_without_csrf_is_refused(client, web_ctx):
    as_user(client, "clerk").get("/register")
    refused = client.post("/register", data=GOOD)
    assert refused.status_code == 403
    assert _complaints(web_ctx) == 0


# ---- The dashboard ---------------------------------------------------------------------------

FIGURE = re.compile(r'href="([^"]+)" data-figure="([a-z0-9_-]+)">(?:<span class="n">)?(\d+)')


def figures_of(page_text: str) -> dict[str, tuple[int, str]]:
    return {key: (int(n), html.unescape(href)) for href, key, n in FIGURE.findall(page_text)}


def test_dashboard_numbers_match_the_cases_and_their_links_list_them(client, web_ctx, now):
    overdue = accepted(web_ctx, now - timedelta(days=60), complainant=someone())
    fresh = accepted(web_ctx, now - timedelta(hours=3), complainant=someone())
    waiting = registered(web_ctx, now - timedelta(hours=1), complainant=someone())
    soon = registered(web_ctx, now - timedelta(hours=23, minutes=30), complainant=someone())
    consulted = accepted(web_ctx, now - timedelta(hours=4), complainant=someone())
    closed = accepted(web_ctx, now - timedelta(hours=6), complainant=someone())
    a.withdraw(web_ctx, closed, actor="liaison", reason="投诉人撤回")
    page = as_user(client, "liaison").get(f"/cases/{consulted}").text
    client.post(
        f"/cases/{consulted}/actions/consult",
        data={"csrf_token": csrf(page), "reason": "疑难", "departments": "理赔\n法务"},
    )
    assert state_of(web_ctx, consulted)[0] == "consulting"

    as_user(client, "supervisor")
    got = figures_of(client.get("/dashboard").text)
    expected_lists = {
        "open": {overdue, fresh, waiting, soon, consulted},
        "state-registered": {waiting, soon},
        "state-accepted": {overdue, fresh},
        "state-consulting": {consulted},
        "state-investigating": set(),
        "overdue": {
            n
            for n in (overdue, fresh, waiting, soon, consulted)
            if _expected_urgency(web_ctx, n, now) == "overdue"
        },
        "today": {
            n
            for n in (overdue, fresh, waiting, soon, consulted)
            if _expected_urgency(web_ctx, n, now) == "today"
        },
        "consultation": {consulted},
        "mediation": set(),
        "ledger": set(),
        "callback": set(),
        "level-0": {
            n
            for n in (overdue, fresh, waiting, soon, consulted)
            if get_complaint(web_ctx, n)["case"]["escalation_level"] == 0
        },
    }
    assert overdue in expected_lists["overdue"]
    for key, numbers in expected_lists.items():
        if key == "level-0" and not numbers:
            continue
        count, href = got[key]
        assert count == len(numbers), key
        listed = {n for _, n in queue_rows(client.get(href).text)}
        assert listed == numbers, key
    fragment = client.get("/dashboard/figures").text
    assert figures_of(fragment)["open"][0] == 5 and "<html" not in fragment
    assert fragment.count("<svg") == 3


def test_ledger_matters_and_callbacks_due_link_to_their_cases(client, web_ctx, now):
    from services.automatic import ledger
    from services.reporting.dashboard import CALLBACK

    person = someone()
    first = accepted(web_ctx, now - timedelta(days=3), complainant=person)
    again = registered(web_ctx, now - timedelta(hours=2), complainant=person)  # a repeat
    called = notified(web_ctx, now - timedelta(days=10))
    masters = {m["master"] for m in ledger.list_matters(web_ctx, status="open")}
    with web_ctx.engine.connect() as conn:
        due = conn.execute(
            select(CALLBACK.c.complaint_id, CALLBACK.c.due_at).where(
                CALLBACK.c.status == "scheduled"
            )
        ).all()
    end_of_today = datetime.combine(
        local(now, web_ctx.tz).date() + timedelta(days=1), time(0), tzinfo=web_ctx.tz
    )
    calls = {
        get_complaint(web_ctx, called)["case"]["id"]: called,
        get_complaint(web_ctx, first)["case"]["id"]: first,
    }
    callbacks = {calls[cid] for cid, at in due if at <= end_of_today}
    assert masters == {first} and callbacks == {called}  # the data this test means to have
    assert state_of(web_ctx, again)[0] == "merged"
    got = figures_of(as_user(client, "committee").get("/dashboard").text)
    for key, numbers in (("ledger", masters), ("callback", callbacks)):
        count, href = got[key]
        assert count == len(numbers), key
        assert {n for _, n in queue_rows(client.get(href).text)} == numbers, key


def test_the_dashboard_changes_when_a_case_closes(client, web_ctx, now):
    # Counting this small database is quick; how quick depends on the machine and its load,
    # and a count slower than fresh_below_ms (10 ms) would be reused (the test below).
    web_ctx.config.extra["dashboard"] = {"fresh_below_ms": 60_000}
    number = accepted(web_ctx, now - timedelta(hours=3), complainant=someone())
    as_user(client, "supervisor")
    assert figures_of(client.get("/dashboard").text)["state-accepted"][0] == 1
    a.withdraw(web_ctx, number, actor="liaison", reason="投诉人撤回")
    after = figures_of(client.get("/dashboard/figures").text)
    assert after["state-accepted"][0] == 0 and after["open"][0] == 0


def test_slow_dashboard_figures_are_reused_for_cache_seconds_and_say_when_counted(
    client, web_ctx, now
):
    # As at a million complaints: counting takes longer than fresh_below_ms (here any time).
    web_ctx.config.extra["dashboard"] = {"cache_seconds": 60, "fresh_below_ms": 0}
    number = accepted(web_ctx, now - timedelta(hours=3), complainant=someone())
    as_user(client, "supervisor")
    first = client.get("/dashboard").text
    counted = re.search(r"统计于 ([0-9: -]+)", first)
    assert counted and figures_of(first)["state-accepted"][0] == 1
    a.withdraw(web_ctx, number, actor="liaison", reason="投诉人撤回")
    again = client.get("/dashboard/figures").text
    assert figures_of(again)["state-accepted"][0] == 1  # counted a moment ago
    assert re.search(r"统计于 ([0-9: -]+)", again).group(1) == counted.group(1)
    with time_machine.travel(now + timedelta(seconds=600), tick=True):
        later = client.get("/dashboard/figures").text
    assert figures_of(later)["state-accepted"][0] == 0
    assert re.search(r"统计于 ([0-9: -]+)", later).group(1) != counted.group(1)


# ---- Downloads and the diagram ---------------------------------------------------------------


def test_reports_and_the_ledger_download_as_files(client, web_ctx, now):
    accepted(web_ctx, now - timedelta(hours=3), complainant=someone())
    as_user(client, "supervisor")
    page = client.get("/reports")
    assert "/reports/download" in page.text and "/ledger/export" in page.text
    month = local(now, web_ctx.tz).strftime("%Y-%m")
    excel = client.get(f"/reports/download?period={month}&fmt=xlsx")
    assert excel.status_code == 200 and excel.content[:2] == b"PK"
    assert "spreadsheetml" in excel.headers["content-type"]
    assert "attachment" in excel.headers["content-disposition"]
    page_html = client.get(f"/reports/download?period={month}&fmt=html")
    assert page_html.status_code == 200 and "<svg" in page_html.text
    ledger = client.get("/ledger/export")
    assert ledger.status_code == 200 and ledger.content[:2] == b"PK"
    bad = client.get("/reports/download?period=2026-13")
    assert bad.status_code == 400


def test_the_lifecycle_page_draws_every_state_and_lists_the_actions(client):
    from states.lifecycle import ACTIONS, State

    page = as_user(client, "investigator").get("/lifecycle").text
    assert "<svg" in page
    for s in State:
        assert s.value in page
    for act in ACTIONS:
        assert f"<code>{act.trigger}</code>" in page
