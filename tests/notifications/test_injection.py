"""What a person typed reaches an alert as text: no forged header, link, tag or line; and
phone and ID numbers are masked however they are spaced or hyphenated (issue 14, Input)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from notifications.dispatch import dispatch
from notifications.templates import render, scrub
from services.context import Context
from tests.factories import cst
from tests.notifications.conftest import SMTP, WeCom, alert, routing, settings, unmasked

TZ = ZoneInfo("Asia/Shanghai")
FORGED = '某调解中心\n### 伪造\n[登录](http://evil.example) <font color="info">x</font>'

pytestmark = pytest.mark.clock


def _forgeries(markdown: str) -> list[str]:
    """Markup a value could have smuggled in: a second header, a link, a tag of its own."""
    lines = markdown.splitlines()
    found = [line for line in lines[1:] if line.lstrip().startswith("#")]
    found += re.findall(r"\]\(|https?://", markdown)
    found += [t for t in re.findall(r"<[^>]*>", markdown) if 'color="info"' in t]
    return found


def test_a_mediation_organisation_with_markdown_reaches_the_robot_as_plain_text(
    ctx: Context, smtp: SMTP, wecom: WeCom
) -> None:
    alert(
        ctx,
        "m1:inject",
        kind="mediation_referral",
        audience="supervisors",
        organisation=FORGED,
    )
    r = routing(f"""version: 1
urls:
  - {smtp.url()}:
      - tag: supervisors
  - wecombot://robotkey123:
      - tag: supervisors
""")
    assert dispatch(ctx, now=cst(2026, 11, 23, 10, 0), routing=r, settings=settings()).sent == 2
    md = wecom.posts[0]["markdown"]["content"]
    assert "伪造" in md and "登录" in md  # the words arrive ...
    assert _forgeries(md) == []  # ... but as text, on the organisation's own line
    page = smtp.messages[0]
    html = next(p for p in page.walk() if p.get_content_type() == "text/html").get_content()
    assert "<font" not in html and "&lt;font" in html


def test_every_format_keeps_a_value_on_its_own_line() -> None:
    message = render(
        "mediation_referral",
        {"number": "TS202611230000001", "organisation": FORGED},
        deadline_labels={},
        tz=TZ,
    )
    assert _forgeries(message.markdown) == []
    org_lines = [line for line in message.text.splitlines() if "某调解中心" in line]
    assert len(org_lines) == 1 and "### 伪造" in org_lines[0]  # one line, not a heading
    assert "\n" not in message.subject


def test_control_and_direction_characters_never_reach_a_recipient() -> None:
    message = render(
        "mediation_referral",
        {"number": "TS202611230000001", "organisation": "调解\x1b[31m中心\x07\u202eabc"},
        deadline_labels={},
        tz=TZ,
    )
    for body in (message.text, message.markdown, message.html):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", body)


@pytest.mark.parametrize(
    ("typed", "masked"),
    [
        ("138-0013-8000", "138****8000"),
        ("138 0013 8000", "138****8000"),
        ("+86 138 0013 8000", "138****8000"),
        ("１３８００１３８０００", "138****8000"),
        ("110105 19491231002X", "110105********002X"),
        ("110105 1949 1231 002X", "110105********002X"),
        ("110105-19491231-002X", "110105********002X"),
        ("010-6234 5678", "010****5678"),
    ],
)
def test_phone_and_id_numbers_with_separators_are_masked(typed: str, masked: str) -> None:
    text = scrub(f"投诉人说: {typed}。案件 TS202611230000123")
    assert masked in text and typed not in text and not unmasked(text)
    assert "TS202611230000123" in text
