"""Every alert about a case carries the case page's address when `[web] base_url` is set (issue
19): in the email's text and HTML parts and as a link in WeCom/DingTalk markdown and plain-text
webhooks, as delivered to real servers on loopback; without it, alerts are unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notifications.digest import compose_digests
from notifications.dispatch import dispatch
from services.context import Context
from storage import records
from storage.records import enqueue_alert
from tests.factories import accepted, cst
from tests.notifications.conftest import SENT, SMTP, WORKING, WeCom, routing, settings

# The data is fixed in November 2026 (the notification tests' working Monday): its own instant.
pytestmark = pytest.mark.now(WORKING)
BASE = "https://tousu.example.cn/ws"
FAST = settings()


@pytest.fixture
def hooks(httpserver: HTTPServer) -> Iterator[list[dict[str, Any]]]:
    """A JSON webhook and a DingTalk robot (markdown) on the loopback HTTP server."""
    from apprise.plugins.dingtalk import NotifyDingTalk

    got: list[dict[str, Any]] = []

    def keep(request: Request) -> Response:
        body = json.loads(request.get_data())
        got.append(body)
        SENT.append(json.dumps(body, ensure_ascii=False))
        return Response('{"errcode":0}', content_type="application/json")

    httpserver.expect_request("/hook").respond_with_handler(keep)
    httpserver.expect_request("/robot/send").respond_with_handler(keep)
    saved = NotifyDingTalk.notify_url
    NotifyDingTalk.notify_url = httpserver.url_for("/robot/send")
    yield got
    NotifyDingTalk.notify_url = saved


def _yaml(smtp: SMTP, httpserver: HTTPServer) -> str:
    return f"""
version: 1
urls:
  - wecombot://robotkey123:
      - tag: supervisors
  - {smtp.url()}:
      - tag: supervisors
  - json://{httpserver.host}:{httpserver.port}/hook:
      - tag: supervisors
  - dingtalk://dingtoken123?format=markdown:
      - tag: supervisors
"""


def _base_url(ctx: Context, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setitem(ctx.config.extra, "web", {**ctx.config.section("web"), "base_url": value})


def _case_alert(ctx: Context, key: str, *, kind: str = "deadline_warning", **payload: Any) -> str:
    """An alert about a real case (the dispatcher reads its row at send time)."""
    number = accepted(ctx, WORKING - timedelta(days=1))
    with ctx.engine.begin() as conn:
        case = records.load_case(conn, number)
        enqueue_alert(
            conn,
            dedupe_key=key,
            kind=kind,
            audience="supervisors",
            complaint_id=case["id"],
            event_id=None,
            payload={"number": number, "deadline": "decision", **payload},
            urgent=False,
            now=WORKING,
        )
    return number


def _delivered(smtp: SMTP, wecom: WeCom, hooks: list[dict[str, Any]]) -> dict[str, str]:
    [mail] = smtp.messages
    parts = {
        p.get_content_type(): p.get_content()
        for p in mail.walk()
        if p.get_content_maintype() == "text"
    }
    [robot] = wecom.posts
    hook = next(b for b in hooks if "message" in b)
    ding = next(b for b in hooks if "msgtype" in b)
    return {
        "email_text": parts["text/plain"],
        "email_html": parts["text/html"],
        "wecom": robot["markdown"]["content"],
        "json": hook["message"],
        "dingtalk": ding["markdown"]["text"],
    }


def test_with_base_url_every_channel_carries_the_case_link(
    ctx: Context,
    smtp: SMTP,
    wecom: WeCom,
    hooks: list[dict[str, Any]],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _base_url(ctx, monkeypatch, BASE + "/")  # the trailing slash is not doubled
    number = _case_alert(ctx, "link:1")
    report = dispatch(
        ctx, now=WORKING, routing=routing(_yaml(smtp, httpserver)), settings=settings()
    )
    assert report.sent == 4, report
    url = f"{BASE}/cases/{number}"
    got = _delivered(smtp, wecom, hooks)
    assert f"在系统中打开案件 {number}: {url}" in got["email_text"]
    assert f'<a href="{url}"' in got["email_html"]
    assert f"[在系统中打开案件 {number}]({url})" in got["wecom"]
    assert f"]({url})" in got["dingtalk"]
    assert url in got["json"]
    assert "//cases" not in json.dumps(got, ensure_ascii=False)


def test_without_base_url_alerts_carry_no_link(
    ctx: Context,
    smtp: SMTP,
    wecom: WeCom,
    hooks: list[dict[str, Any]],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _base_url(ctx, monkeypatch, "")
    # A payload that names an address of its own is not trusted for one either.
    _case_alert(ctx, "link:2", case_url="https://elsewhere.example.com/cases/x")
    report = dispatch(
        ctx, now=WORKING, routing=routing(_yaml(smtp, httpserver)), settings=settings()
    )
    assert report.sent == 4, report
    got = json.dumps(_delivered(smtp, wecom, hooks), ensure_ascii=False)
    assert "/cases/" not in got and "在系统中打开案件" not in got and "elsewhere" not in got
    assert "时限预警" in got  # the alert itself went as before


def test_a_base_url_that_is_not_an_http_address_gives_no_link(
    ctx: Context,
    smtp: SMTP,
    wecom: WeCom,
    hooks: list[dict[str, Any]],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _base_url(ctx, monkeypatch, "javascript:alert(1)//")
    _case_alert(ctx, "link:3")
    report = dispatch(
        ctx, now=WORKING, routing=routing(_yaml(smtp, httpserver)), settings=settings()
    )
    assert report.sent == 4, report
    got = json.dumps(_delivered(smtp, wecom, hooks), ensure_ascii=False)
    assert "javascript" not in got and "在系统中打开案件" not in got


def test_the_link_survives_the_wecom_size_limit(
    ctx: Context,
    smtp: SMTP,
    wecom: WeCom,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _base_url(ctx, monkeypatch, BASE)
    number = _case_alert(ctx, "link:4", reason="投诉人多次来电反映理赔进度。" * 400)
    yaml = """
version: 1
urls:
  - wecombot://robotkey123:
      - tag: supervisors
"""
    report = dispatch(ctx, now=WORKING, routing=routing(yaml), settings=settings())
    assert report.sent == 1, report
    content = wecom.posts[0]["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096  # cut to WeCom's limit ...
    assert f"({BASE}/cases/{number})" in content  # ... and the link is still whole


def test_an_alert_about_no_case_carries_no_link(
    ctx: Context, smtp: SMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    _base_url(ctx, monkeypatch, BASE)
    with ctx.engine.begin() as conn:
        enqueue_alert(
            conn,
            dedupe_key="report:2026-10",
            kind="report_ready",
            audience="supervisors",
            complaint_id=None,
            event_id=None,
            payload={"period": "2026-10", "volume": 12},
            urgent=False,
            now=WORKING,
        )
    yaml = f"version: 1\nurls:\n  - {smtp.url()}:\n      - tag: supervisors\n"
    assert dispatch(ctx, now=WORKING, routing=routing(yaml), settings=settings()).sent == 1
    [mail] = smtp.messages
    assert "统计报告" in str(mail["Subject"])
    assert "/cases/" not in "".join(
        p.get_content() for p in mail.walk() if p.get_content_maintype() == "text"
    )


def test_the_daily_digest_links_each_case_it_lists(
    ctx: Context, smtp: SMTP, wecom: WeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    _base_url(ctx, monkeypatch, BASE)
    number = accepted(ctx, cst(2026, 11, 2, 10, 0))  # its deadlines long past
    assert compose_digests(ctx, cst(2026, 11, 23, 8, 30)) == 1
    yaml = f"""
version: 1
urls:
  - wecombot://robotkey123:
      - tag: user-supervisor
  - {smtp.url(to="wang@example.com")}:
      - tag: user-supervisor
"""
    assert dispatch(ctx, now=WORKING, routing=routing(yaml), settings=FAST).sent == 2
    url = f"{BASE}/cases/{number}"
    [mail] = smtp.messages
    assert "每日汇总" in str(mail["Subject"])
    assert f'<a href="{url}">{number}</a>' in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"{number} | " in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert url in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"- [{number}]({url}) · " in wecom.posts[0]["markdown"]["content"]
