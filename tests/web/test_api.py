"""The HTTP API under /api/v1 (web/api/v1.py) through the ASGI app, with real API tokens
(services/identity.py): every route for an allowed and a refused role, the error shapes, and
the idempotent registration."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services import access, identity
from services.lifecycle.queries import get_complaint
from storage import records
from tests.factories import accepted, registered
from web.app import create_app

REGISTER_BODY: dict[str, Any] = {
    "name": "赵六",
    "phone": "13800138000",
    "id_number": "11010519491231002X",
    "claim": "要求按合同赔付医疗费用",
    "facts": "住院后申请理赔, 30 日未获答复",
    "channel": "hotline",
    "policy_no": "P2026000123",
    "amount": "8600",
    "branch": "beijing",
}


class Api:
    """A test client whose calls carry one user's bearer token."""

    def __init__(self, client: TestClient, ctx: Any) -> None:
        self.client = client
        self.ctx = ctx
        self.tokens: dict[str, str] = {}

    def token(self, username: str, scope: str | None = None) -> str:
        key = f"{username}:{scope}"
        if key not in self.tokens:
            _, raw = identity.create_token(
                self.ctx, username=username, name="测试", actor=username, scope=scope
            )
            self.tokens[key] = raw
        return self.tokens[key]

    def call(
        self, method: str, path: str, user: str | None, *, scope: str | None = None, **kw: Any
    ) -> Any:
        headers = dict(kw.pop("headers", {}))
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user, scope)}"
        return self.client.request(method, path, headers=headers, **kw)

    def get(self, path: str, user: str | None, **kw: Any) -> Any:
        return self.call("GET", path, user, **kw)

    def post(self, path: str, user: str | None, **kw: Any) -> Any:
        return self.call("POST", path, user, **kw)


@pytest.fixture
def api(ctx: Any) -> Iterator[Api]:
    with TestClient(create_app(ctx)) as client:
        yield Api(client, ctx)


def complaints(ctx: Any) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records.COMPLAINT)).scalar_one())


def refusals_of(ctx: Any, username: str) -> list[dict[str, Any]]:
    return [r for r in access.refusals(ctx) if r["username"] == username]


def assert_error(response: Any, status: int, kind: str, exit_code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["error"], body["exit_code"]) == (kind, exit_code)
    assert body["message"]
    return body  # type: ignore[no-any-return]


# ---- Authentication -------------------------------------------------------------------------

ROUTES = [
    ("POST", "/api/v1/complaints"),
    ("POST", "/api/v1/complaints/TS1/accept"),
    ("GET", "/api/v1/complaints/TS1"),
    ("GET", "/api/v1/queue"),
    ("GET", "/api/v1/search?phone=13800138000"),
    ("GET", "/api/v1/ledger"),
    ("GET", "/api/v1/ledger/export"),
    ("GET", "/api/v1/ledger/TZ000001"),
    ("GET", "/api/v1/reports"),
    ("GET", "/api/v1/reports/x.xlsx"),
    ("POST", "/api/v1/transfers/12378"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_answers_401_without_a_token(api, method, path):
    response = api.call(method, path, None, json={})
    body = assert_error(response, 401, "unauthenticated", 3)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "令牌" in body["message"] or "登录" in body["message"]


def test_a_revoked_token_is_401_and_a_readonly_token_cannot_register(api, ctx):
    listing, raw = identity.create_token(ctx, username="clerk", name="临时", actor="clerk")
    identity.revoke_token(ctx, listing["id"], actor="clerk")
    revoked = api.client.get("/api/v1/queue", headers={"Authorization": f"Bearer {raw}"})
    assert_error(revoked, 401, "unauthenticated", 3)
    refused = api.post("/api/v1/complaints", "clerk", scope="readonly", json=REGISTER_BODY)
    assert_error(refused, 403, "forbidden", 3)
    assert complaints(ctx) == 0
    assert api.get("/api/v1/queue", "clerk", scope="readonly").status_code == 200


# ---- Registration ---------------------------------------------------------------------------


def test_a_clerk_registers_and_gets_the_number_state_and_deadlines(api, ctx):
    response = api.post("/api/v1/complaints", "clerk", json=REGISTER_BODY)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["number"].startswith("TS") and body["state"] == "registered"
    assert body["deadlines"] and all("+08:00" in d["due"] for d in body["deadlines"])
    case = get_complaint(ctx, body["number"])["case"]
    assert (case["registered_by"], case["branch"], case["amount"]) == ("clerk", "beijing", 8600)


def test_an_investigator_may_not_register_and_the_refusal_is_recorded(api, ctx):
    response = api.post("/api/v1/complaints", "investigator", json=REGISTER_BODY)
    assert_error(response, 403, "forbidden", 3)
    assert complaints(ctx) == 0
    (refusal,) = refusals_of(ctx, "investigator")
    assert refusal["command"] == "API POST /api/v1/complaints"
    assert refusal["role"] == "investigator"


def test_registration_errors_name_the_field_as_the_cli_does(api, ctx):
    missing = api.post("/api/v1/complaints", "clerk", json={**REGISTER_BODY, "phone": None})
    body = assert_error(missing, 400, "invalid_input", 2)
    assert body["field"] == "phone" and "联系方式" in body["message"]
    bad_id = api.post("/api/v1/complaints", "clerk", json={**REGISTER_BODY, "id_number": "123"})
    assert assert_error(bad_id, 400, "invalid_input", 2)["field"] == "id_number"
    unknown = api.post("/api/v1/complaints", "clerk", json={**REGISTER_BODY, "nmae": "x"})
    body = assert_error(unknown, 400, "invalid_input", 2)
    assert body["field"] == "nmae" and "未知字段" in body["message"]
    wrong_type = api.post("/api/v1/complaints", "clerk", json={**REGISTER_BODY, "group_size": "x"})
    assert assert_error(wrong_type, 400, "invalid_input", 2)["field"] == "group_size"
    assert complaints(ctx) == 0


def test_a_retry_with_the_same_key_and_body_replays_the_first_response(api, ctx):
    key = {"Idempotency-Key": "7d1c1f1e-3b7a-4a53-9d2e-5d0e8c9b1a01"}
    first = api.post("/api/v1/complaints", "clerk", json=REGISTER_BODY, headers=key)
    again = api.post(
        "/api/v1/complaints",
        "clerk",
        json=dict(reversed(list(REGISTER_BODY.items()))),  # same content, other key order
        headers=key,
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert complaints(ctx) == 1


def test_the_same_key_with_another_body_is_refused_and_registers_nothing(api, ctx):
    key = {"Idempotency-Key": "order-42"}
    first = api.post("/api/v1/complaints", "clerk", json=REGISTER_BODY, headers=key)
    assert first.status_code == 201
    other = api.post(
        "/api/v1/complaints", "clerk", json={**REGISTER_BODY, "claim": "要求退保"}, headers=key
    )
    body = assert_error(other, 409, "conflict", 5)
    assert "order-42" in body["message"] and "另一内容" in body["message"]
    assert complaints(ctx) == 1


def test_keys_are_per_user_and_expire(api, ctx, now):
    key = {"Idempotency-Key": "same-key"}
    mine = api.post("/api/v1/complaints", "clerk", json=REGISTER_BODY, headers=key)
    theirs = api.post("/api/v1/complaints", "liaison", json=REGISTER_BODY, headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["number"] != theirs.json()["number"]
    with time_machine.travel(now + timedelta(hours=24, minutes=1)):  # idempotency_hours = 24
        later = api.post("/api/v1/complaints", "clerk", json=REGISTER_BODY, headers=key)
    assert later.status_code == 201 and later.json()["number"] != mine.json()["number"]
    assert complaints(ctx) == 3


def test_a_refused_body_frees_its_key_for_the_corrected_retry(api, ctx):
    key = {"Idempotency-Key": "fix-and-retry"}
    bad = api.post("/api/v1/complaints", "clerk", json={**REGISTER_BODY, "phone": "1"}, headers=key)
    assert_error(bad, 400, "invalid_input", 2)
    good = api.post("/api/v1/complaints", "clerk", json=REGISTER_BODY, headers=key)
    assert good.status_code == 201
    bad_key = api.post(
        "/api/v1/complaints", "clerk", json=REGISTER_BODY, headers={"Idempotency-Key": "has space"}
    )
    assert assert_error(bad_key, 400, "invalid_input", 2)["field"] == "Idempotency-Key"
    assert complaints(ctx) == 1


# ---- Actions --------------------------------------------------------------------------------


def test_an_action_moves_the_case_and_answers_as_the_cli_json(api, ctx, now):
    number = registered(ctx, now - timedelta(hours=3))
    body = {"category": "claims", "product": "medical", "owner": "liaison"}
    response = api.post(f"/api/v1/complaints/{number}/accept", "clerk", json=body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["number"], out["action"], out["from_state"], out["state"]) == (
        number,
        "accept",
        "registered",
        "accepted",
    )
    assert out["version"] == get_complaint(ctx, number)["case"]["version"]
    assert get_complaint(ctx, number)["case"]["owner"] == "liaison"


def test_a_role_the_row_does_not_name_is_refused_with_403_and_recorded(api, ctx, now):
    number = registered(ctx, now - timedelta(hours=3))
    body = {"category": "claims", "product": "medical", "owner": "liaison"}
    response = api.post(f"/api/v1/complaints/{number}/accept", "investigator", json=body)
    assert_error(response, 403, "forbidden", 3)
    assert get_complaint(ctx, number)["case"]["state"] == "registered"
    (refusal,) = refusals_of(ctx, "investigator")
    assert refusal["command"] == f"API POST /api/v1/complaints/{number}/accept"


def test_a_stale_expected_version_is_409_and_changes_nothing(api, ctx, now):
    number = accepted(ctx, now - timedelta(hours=5))
    version = get_complaint(ctx, number)["case"]["version"]
    stale = api.post(
        f"/api/v1/complaints/{number}/investigate",
        "liaison",
        json={"note": "调取病历", "expected_version": version - 1},
    )
    assert_error(stale, 409, "conflict", 5)
    assert get_complaint(ctx, number)["case"]["version"] == version
    fresh = api.post(
        f"/api/v1/complaints/{number}/investigate",
        "liaison",
        json={"note": "调取病历", "expected_version": version},
    )
    assert fresh.status_code == 200 and fresh.json()["version"] == version + 1


def test_action_bodies_are_checked_against_the_rows_fields(api, ctx, now):
    number = registered(ctx, now - timedelta(hours=3))
    path = f"/api/v1/complaints/{number}/accept"
    missing = api.post(path, "clerk", json={"category": "claims", "product": "medical"})
    body = assert_error(missing, 400, "invalid_input", 2)
    assert body["field"] == "owner" and "必填" in body["message"]
    unknown = api.post(
        path, "clerk", json={"category": "claims", "product": "medical", "owner": "liaison", "x": 1}
    )
    assert assert_error(unknown, 400, "invalid_input", 2)["field"] == "x"
    bad_choice = api.post(
        path, "clerk", json={"category": "没有", "product": "medical", "owner": "liaison"}
    )
    assert assert_error(bad_choice, 400, "invalid_input", 2)["field"] == "category"
    assert get_complaint(ctx, number)["case"]["state"] == "registered"


def test_an_unknown_complaint_is_404_json(api):
    body = {"category": "claims", "product": "medical", "owner": "liaison"}
    response = api.post("/api/v1/complaints/TS209901010000001/accept", "clerk", json=body)
    assert "TS209901010000001" in assert_error(response, 404, "not_found", 4)["message"]
    shown = api.get("/api/v1/complaints/TS209901010000001", "clerk")
    assert_error(shown, 404, "not_found", 4)


def test_the_openapi_schema_lists_every_actions_own_fields(api):
    from states.lifecycle import ACTIONS

    schema = api.client.get("/api/v1/openapi.json").json()
    models = schema["components"]["schemas"]
    for act in (a for a in ACTIONS if a.command):
        path = f"/api/v1/complaints/{{number}}/{act.command.replace(' ', '-')}"
        operation = schema["paths"][path]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        model = models[ref.rsplit("/", 1)[1]]
        declared = {f.name for f in act.fields}
        assert set(model["properties"]) == declared | {"at", "expected_version"}, act.trigger
        required = {f.name for f in act.fields if f.required and f.default is None}
        assert set(model.get("required", [])) == required, act.trigger
        for f in act.fields:
            assert model["properties"][f.name]["title"] == f.label
    reg = schema["paths"]["/api/v1/complaints"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in reg["parameters"])
    ref = reg["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    required = set(models[ref.rsplit("/", 1)[1]]["required"])
    assert required == {"name", "claim", "facts", "channel"}  # a phone or an address: a rule


# ---- Reading --------------------------------------------------------------------------------


def test_a_complaint_is_shown_masked_and_revealed_only_to_roles_that_may(api, ctx, now):
    number = accepted(ctx, now - timedelta(hours=5))
    masked = api.get(f"/api/v1/complaints/{number}", "investigator")
    assert masked.status_code == 200
    body = masked.json()
    assert body["masked"] is True and body["complaint"]["number"] == number
    assert body["parties"]["complainant"]["phone"] != "13800138000"
    refused = api.get(f"/api/v1/complaints/{number}?reveal=true", "investigator")
    assert_error(refused, 403, "forbidden", 3)
    revealed = api.get(f"/api/v1/complaints/{number}?reveal=true", "liaison")
    assert revealed.json()["parties"]["complainant"]["phone"] == "13800138000"
    assert revealed.json()["masked"] is False


def test_the_queue_is_the_users_own_and_wider_scopes_are_supervisors(api, ctx, now):
    number = accepted(ctx, now - timedelta(hours=5))
    mine = api.get("/api/v1/queue", "liaison")
    assert mine.status_code == 200
    assert [i["number"] for i in mine.json()["items"]] == [number]
    assert "days_without_contact" in mine.json()["items"][0]
    other = api.get("/api/v1/queue", "liaison2")
    assert other.json()["items"] == []
    refused = api.get("/api/v1/queue?scope=all", "liaison")
    assert_error(refused, 403, "forbidden", 3)
    everyone = api.get("/api/v1/queue?scope=all&state=accepted", "supervisor")
    assert [i["number"] for i in everyone.json()["items"]] == [number]
    bad = api.get("/api/v1/queue?scope=everything", "supervisor")
    assert assert_error(bad, 400, "invalid_input", 2)["field"] == "scope"


def test_search_finds_by_phone_for_the_roles_that_may_and_logs_it(api, ctx, now):
    number = registered(ctx, now - timedelta(hours=3))
    found = api.get("/api/v1/search?phone=13800138000", "clerk")
    assert found.status_code == 200
    (item,) = found.json()["complaints"]
    assert item["number"] == number and item["matched"] == ["complainant"]
    events = get_complaint(ctx, number)["events"]
    assert events[-1]["action"] == "find_pii" and events[-1]["actor"] == "clerk"
    refused = api.get("/api/v1/search?phone=13800138000", "investigator")
    assert_error(refused, 403, "forbidden", 3)
    nothing = api.get("/api/v1/search", "clerk")
    assert_error(nothing, 400, "invalid_input", 2)


def test_the_ledger_lists_shows_and_exports(api, ctx, now):
    listed = api.get("/api/v1/ledger", "supervisor")
    assert listed.status_code == 200 and listed.json() == {"matters": []}
    bad = api.get("/api/v1/ledger?status=whatever", "supervisor")
    assert assert_error(bad, 400, "invalid_input", 2)["field"] == "status"
    missing = api.get("/api/v1/ledger/TZ000009", "supervisor")
    assert_error(missing, 404, "not_found", 4)
    exported = api.get("/api/v1/ledger/export", "supervisor")
    assert exported.status_code == 200
    assert exported.content[:2] == b"PK"  # an .xlsx is a zip
    assert "attachment" in exported.headers["content-disposition"]


def test_report_files_are_listed_and_downloaded_by_the_report_roles_only(api, ctx):
    from services.reporting import reports

    folder = reports.output_dir(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tousu-report-2026-10.xlsx").write_bytes(b"PK\x03\x04 workbook")
    (folder / "tousu-report-2026-10.html").write_text("<h1>报告</h1>", encoding="utf-8")
    listed = api.get("/api/v1/reports", "supervisor")
    assert listed.status_code == 200
    names = [r["name"] for r in listed.json()["reports"]]
    assert sorted(names) == ["tousu-report-2026-10.html", "tousu-report-2026-10.xlsx"]
    got = api.get("/api/v1/reports/tousu-report-2026-10.xlsx", "supervisor")
    assert got.status_code == 200 and got.content == b"PK\x03\x04 workbook"
    assert_error(api.get("/api/v1/reports", "clerk"), 403, "forbidden", 3)
    assert_error(api.get("/api/v1/reports/tousu-report-2026-10.xlsx", "clerk"), 403, "forbidden", 3)
    assert api.get("/api/v1/reports/..%2F..%2Fconfig%2Ftousu.toml", "supervisor").status_code == 404
    assert_error(api.get("/api/v1/reports/tousu.toml", "supervisor"), 404, "not_found", 4)
    assert_error(api.get("/api/v1/reports/nothing.xlsx", "supervisor"), 404, "not_found", 4)


def test_an_actions_time_without_an_offset_is_local_time_as_on_the_cli(api, ctx, now):
    from storage.timeutil import from_db

    number = accepted(ctx, now - timedelta(hours=5))
    local = (now - timedelta(hours=1)).astimezone(ctx.tz).replace(tzinfo=None, microsecond=0)
    response = api.post(
        f"/api/v1/complaints/{number}/investigate",
        "liaison",
        json={"at": local.isoformat(timespec="minutes")},
    )
    assert response.status_code == 200, response.text
    event = get_complaint(ctx, number)["events"][-1]
    assert event["action"] == "investigate"
    assert from_db(event["at"]) == local.replace(second=0).replace(tzinfo=ctx.tz)
    future = api.post(
        f"/api/v1/complaints/{number}/negotiate",
        "liaison",
        json={"findings": "核实", "at": "2099-01-01T09:00"},
    )
    assert assert_error(future, 400, "invalid_input", 2)["field"] == "at"


def test_an_action_no_row_declares_is_a_404_naming_the_actions(api, ctx, now):
    number = registered(ctx, now - timedelta(hours=3))
    response = api.post(f"/api/v1/complaints/{number}/approve", "clerk", json={})
    body = assert_error(response, 404, "not_found", 4)
    assert "approve" in body["message"] and "appraisal-start" in body["message"]
    assert_error(
        api.post(f"/api/v1/complaints/{number}/approve", None, json={}), 401, "unauthenticated", 3
    )
