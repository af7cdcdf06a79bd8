"""Hostile calls to the HTTP API (web/api/v1.py, web/auth.py api_user): what a careless
integrator or an attacker sends. Each answer must be a clear 4xx in the API's error shape with
nothing written, never a 500 or a traceback; tokens that should not work do not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from services import identity
from services.access import USER
from storage import records
from tests.factories import accepted, registered
from tests.web.test_api import REGISTER_BODY, Api, assert_error, complaints
from web.app import create_app


@pytest.fixture
def api(ctx: Any) -> Iterator[Api]:
    # raise_server_exceptions=False: a 500 is an answer to assert on, not a test crash
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield Api(client, ctx)


def raw_post(api: Api, path: str, user: str, content: bytes, **headers: str) -> Any:
    sent = {
        k: v.encode() for k, v in {"Authorization": f"Bearer {api.token(user)}", **headers}.items()
    }
    return api.client.post(path, content=content, headers=sent)


def post_json(api: Api, path: str, user: str, body: Any, **headers: str) -> Any:
    """`body` as JSON text the way Python writes it: lone surrogates escaped (\\ud800), NaN
    and Infinity as bare words (which json.loads accepts)."""
    content = json.dumps(body).encode()
    return raw_post(api, path, user, content, **{"Content-Type": "application/json", **headers})


def events(ctx: Any) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records.EVENT)).scalar_one())


# ---- Bodies a hostile or careless caller sends ----------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "赵\x00六"),  # a NUL byte
        ("claim", "要求赔付\ud800"),  # a lone surrogate (valid JSON "\ud800", not encodable)
        ("name", "\udfff"),
        ("facts", "x" * 10_000_000),  # a 10 MB field
        ("amount", -1),
        ("amount", 10**30),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", [1, 2]),
        ("name", {"$ne": 1}),
        ("name", 12),
        ("received_at", "0001-01-01T00:00:00"),
        ("received_at", "9999-12-31T23:59:59"),
        ("received_at", "2026-13-45"),
        ("channel", "hotline\x00"),
        ("branch", "../../etc"),
    ],
)
def test_a_hostile_registration_field_is_a_400_and_writes_nothing(api, ctx, field, value):
    body = {**REGISTER_BODY, field: value}
    response = post_json(api, "/api/v1/complaints", "clerk", body)
    if (
        len(str(value).encode("utf-8", "surrogatepass"))
        > ctx.config.section("web")["max_body_bytes"]
    ):
        assert_error(response, 413, "too_large", 2)  # refused unread (web/guard.py)
    else:
        assert_error(response, 400, "invalid_input", 2)
    assert complaints(ctx) == 0


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b"null",
        b'"a string"',
        b"\xff\xfe\x00\x00",
        '{"name": "赵六"}'.encode("gbk"),  # not UTF-8
        b'{"name": NaN}',
        b"{" * 100_000,  # deeply nested
        json.dumps({**REGISTER_BODY, "amount": 1e400}).encode(),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api, ctx, content):
    response = raw_post(
        api, "/api/v1/complaints", "clerk", content, **{"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_input", 2)
    assert complaints(ctx) == 0


def test_a_duplicated_key_in_the_json_body_does_not_slip_past_the_check(api, ctx):
    """`{"branch": "beijing", "branch": "x"}`: the last one counts (json), and it is checked."""
    text = json.dumps(REGISTER_BODY)[:-1] + ', "branch": "../nowhere"}'
    response = raw_post(
        api, "/api/v1/complaints", "clerk", text.encode(), **{"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_input", 2)
    assert complaints(ctx) == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"at": "0001-01-01T00:00:00"},
        {"at": "9999-12-31T23:59:59+14:00"},
        {"at": "-infinity"},
        {"at": 12345},
        {"expected_version": -1},
        {"expected_version": 2**63},
        {"expected_version": "1; drop table complaint"},
        {"category": "claims\x00"},
        {"owner": "liaison\ud800"},
        {"owner": "system"},
    ],
)
def test_a_hostile_action_body_is_a_4xx_and_writes_nothing(api, ctx, now, extra):
    number = registered(ctx, now)
    before = events(ctx)
    body = {"category": "claims", "product": "medical", "owner": "liaison", **extra}
    response = post_json(api, f"/api/v1/complaints/{number}/accept", "clerk", body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["exit_code"] in (2, 3)
    assert events(ctx) == before


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=99999999999999999999",
        "scope=mine&scope=all",  # duplicated: the refusal must still apply
        "state=nope",
        "priority=%00",
        "category=%ED%A0%80",  # an encoded lone surrogate
        "branch=%FF%FE",  # not UTF-8
    ],
)
def test_hostile_queue_parameters_are_a_4xx(api, query):
    response = api.get(f"/api/v1/queue?{query}", "clerk")
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["exit_code"] in (2, 3)


@pytest.mark.parametrize(
    "number", ["%00", "TS%ED%A0%80", "x" * 40, "..%2F..%2Fetc", "TS1%27%20OR%201=1"]
)
def test_a_hostile_complaint_number_is_a_4xx(api, number):
    response = api.get(f"/api/v1/complaints/{number}", "clerk")
    assert 400 <= response.status_code < 500, response.text


# ---- Tokens that must not work --------------------------------------------------------------


def test_a_disabled_users_token_stops_at_once(api, ctx):
    token = api.token("clerk")
    assert api.get("/api/v1/queue", "clerk").status_code == 200
    identity.set_active(ctx, "clerk", False, actor="admin")
    response = api.client.get("/api/v1/queue", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, "unauthenticated", 3)


def test_a_token_of_a_user_whose_role_changed_stops(api, ctx):
    token = api.token("liaison")
    with ctx.engine.begin() as conn:  # an administrator changed the role (no service for it yet)
        conn.execute(update(USER).where(USER.c.username == "liaison").values(role="supervisor"))
    response = api.client.get(
        "/api/v1/queue?scope=all", headers={"Authorization": f"Bearer {token}"}
    )
    assert_error(response, 401, "unauthenticated", 3)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ",
        "Bearer tsk_",
        "Bearer tsk_" + "A" * 5000,
        "Bearer tsk_\x00",
        "Basic Y2xlcms6cGFzc3dvcmQ=",
        "bearer  tsk_nope  ",
    ],
)
def test_a_malformed_authorization_header_is_a_401(api, header):
    response = api.client.get("/api/v1/queue", headers={"Authorization": header})
    assert_error(response, 401, "unauthenticated", 3)


def test_a_readonly_token_writes_nothing_on_any_modifying_route(api, ctx, now):
    number = accepted(ctx, now - timedelta(days=1))
    before = events(ctx)
    for path, kw in [
        ("/api/v1/complaints", {"json": REGISTER_BODY}),
        (f"/api/v1/complaints/{number}/investigate", {"json": {}}),
        ("/api/v1/transfers/12378", {"files": {"file": ("a.csv", b"x")}}),
    ]:
        response = api.post(path, "liaison", scope="readonly", **kw)
        assert_error(response, 403, "forbidden", 3)
    for method in ("PUT", "PATCH", "DELETE"):
        response = api.call(method, f"/api/v1/complaints/{number}", "liaison", scope="readonly")
        assert response.status_code in (403, 405), response.text
    assert events(ctx) == before and complaints(ctx) == 1


# ---- Idempotency-Key abuse ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["k" * 100_000, "", " ", "键", "a\x00b", "a\tb"])
def test_a_hostile_idempotency_key_is_a_400_and_registers_nothing(api, ctx, key):
    response = post_json(
        api, "/api/v1/complaints", "clerk", REGISTER_BODY, **{"Idempotency-Key": key}
    )
    assert response.status_code in (400, 431), response.text
    assert complaints(ctx) == 0


def test_another_users_idempotency_key_replays_nothing_of_theirs(api, ctx):
    key = {"Idempotency-Key": "shared-key-1"}
    first = api.post("/api/v1/complaints", "clerk", json=REGISTER_BODY, headers=key)
    assert first.status_code == 201
    second = api.post("/api/v1/complaints", "liaison", json=REGISTER_BODY, headers=key)
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers
    assert second.json()["number"] != first.json()["number"]


@pytest.mark.parametrize(("field", "value"), [("claim", "要求赔付\ud800"), ("name", "\udfff")])
def test_a_lone_surrogate_with_an_idempotency_key_is_a_400(api, ctx, field, value):
    """The key's body hash encodes the body: a lone surrogate must be refused, not crash it."""
    body = {**REGISTER_BODY, field: value}
    key = {"Idempotency-Key": "surrogate-1"}
    response = post_json(api, "/api/v1/complaints", "clerk", body, **key)
    assert assert_error(response, 400, "invalid_input", 2)["field"] == field
    assert complaints(ctx) == 0
    retry = post_json(api, "/api/v1/complaints", "clerk", REGISTER_BODY, **key)
    assert retry.status_code == 201, retry.text  # the refused body did not keep the key


@pytest.mark.parametrize(
    ("field", "value"), [("findings", "核实\ud800"), ("findings", ["a"]), ("findings", "\x00")]
)
def test_a_hostile_text_in_an_action_is_a_400_naming_the_field(api, ctx, now, field, value):
    number = accepted(ctx, now - timedelta(days=1))
    a_investigate = post_json(api, f"/api/v1/complaints/{number}/investigate", "liaison", {})
    assert a_investigate.status_code == 200, a_investigate.text
    before = events(ctx)
    response = post_json(api, f"/api/v1/complaints/{number}/negotiate", "liaison", {field: value})
    assert assert_error(response, 400, "invalid_input", 2)["field"] == field
    assert events(ctx) == before


def test_a_refused_ledger_export_leaves_no_temporary_folder_behind(api, ctx, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for _ in range(3):
        response = api.get("/api/v1/ledger/export?status=bogus", "supervisor")
        assert_error(response, 400, "invalid_input", 2)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("tousu-")] == []
