"""The contact log: every contact in the history and the JSON, the Art. 7 recording flag,
and the queue's "N 天未联系"."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.casefile import contacts, quiet
from services.context import Context, open_context
from services.lifecycle.queries import complaint_view, get_complaint
from services.lifecycle.registration import Person
from states.errors import Forbidden, InvalidInput
from tests.conftest import make_config, seed_users
from tests.factories import accepted

pytestmark = pytest.mark.clock


@pytest.fixture
def refusing(tmp_path: Path, sqlite_template: Path) -> Iterator[Context]:
    db = tmp_path / "refusing.db"
    shutil.copy(sqlite_template, db)
    context = open_context(
        make_config(tmp_path, f"sqlite:///{db}", TOUSU__CONTACT__UNRECORDED_CALLS="refuse")
    )
    seed_users(context)
    yield context
    context.close()


def test_a_contact_enters_the_timeline_and_the_json(ctx: Context, now: datetime) -> None:
    number = accepted(ctx, now - timedelta(days=2))
    before = get_complaint(ctx, number)["case"]
    when = now - timedelta(hours=3)
    done = contacts.log(
        ctx,
        number,
        actor="liaison",
        channel="phone",
        summary="告知已受理, 约定补交发票",
        recording="REC-20261125-001",
        at=when,
    )
    after = get_complaint(ctx, number)
    event = after["events"][-1]
    assert event["action"] == "contact"
    assert event["id"] == done["event_id"]
    assert event["at"] == when
    assert event["from_state"] == event["to_state"] == before["state"]
    assert event["details"]["recording"] == "REC-20261125-001"
    assert "告知已受理" in event["reason"]
    assert after["case"]["version"] == before["version"] + 1
    assert after["case"]["last_event_at"] == before["last_event_at"]
    view = complaint_view(ctx, number, actor={"username": "liaison", "role": "liaison"})
    shown = json.dumps([e["action"] for e in view["events"]])
    assert "contact" in shown
    listed = contacts.for_complaint(ctx, number)
    assert [(c["channel"], c["unrecorded"]) for c in listed] == [("phone", False)]


def test_a_call_without_a_recording_is_flagged(ctx: Context, now: datetime) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    done = contacts.log(ctx, number, actor="liaison", channel="phone", summary="电话沟通进展")
    assert done["unrecorded"] is True
    event = get_complaint(ctx, number)["events"][-1]
    assert event["details"]["unrecorded"] is True
    assert "未登记录音" in event["reason"]
    # An e-mail is no call: nothing to record.
    mail = contacts.log(ctx, number, actor="liaison", channel="email", summary="邮件告知")
    assert mail["unrecorded"] is False


def test_a_call_without_a_recording_is_refused_when_configured_and_nothing_changes(
    refusing: Context, now: datetime
) -> None:
    number = accepted(refusing, now - timedelta(days=1))
    before = get_complaint(refusing, number)
    with pytest.raises(InvalidInput) as err:
        contacts.log(refusing, number, actor="liaison", channel="visit", summary="来访面谈")
    assert err.value.field == "recording"
    after = get_complaint(refusing, number)
    assert after["case"]["version"] == before["case"]["version"]
    assert contacts.for_complaint(refusing, number) == []


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("channel", {"channel": "pigeon", "summary": "x"}),
        ("summary", {"channel": "sms", "summary": "   "}),
        ("direction", {"channel": "sms", "summary": "x", "direction": "sideways"}),
    ],
)
def test_bad_contact_fields_are_refused_by_name(
    ctx: Context, now: datetime, field: str, kwargs: dict[str, str]
) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    with pytest.raises(InvalidInput) as err:
        contacts.log(ctx, number, actor="liaison", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert contacts.for_complaint(ctx, number) == []


def test_a_contact_cannot_be_in_the_future_nor_before_receipt(ctx: Context, now: datetime) -> None:
    received = now - timedelta(days=1)
    number = accepted(ctx, received)
    for when in (now + timedelta(hours=1), received - timedelta(minutes=1)):
        with pytest.raises(InvalidInput) as err:
            contacts.log(ctx, number, actor="liaison", channel="sms", summary="x", at=when)
        assert err.value.field == "at"


def test_the_administrator_may_not_log_a_contact(ctx: Context, now: datetime) -> None:
    number = accepted(ctx, now - timedelta(days=1))
    with pytest.raises(Forbidden):
        contacts.log(ctx, number, actor="admin", channel="sms", summary="x")


def test_quiet_days_count_from_the_last_contact_or_from_receipt(
    ctx: Context, now: datetime
) -> None:
    def case(days: int, name: str, phone: str) -> str:
        person = Person(name=name, phone=phone)
        return accepted(ctx, now - timedelta(days=days), complainant=person, policy_no=None)

    silent = case(5, "钱七", "13900139000")
    talked = case(5, "孙八", "13700137000")
    recent = case(1, "周九", "13600136000")
    contacts.log(
        ctx, talked, actor="liaison", channel="email", summary="x", at=now - timedelta(days=4)
    )
    rows = {n: get_complaint(ctx, n)["case"] for n in (silent, talked, recent)}
    found = quiet.quiet_days(ctx, rows.values(), now=now)
    today = now.astimezone(ctx.tz).date()
    days = {
        silent: (today - (now - timedelta(days=5)).astimezone(ctx.tz).date()).days,
        talked: (today - (now - timedelta(days=4)).astimezone(ctx.tz).date()).days,
    }
    assert found == {rows[silent]["id"]: days[silent], rows[talked]["id"]: days[talked]}
    contacts.log(ctx, talked, actor="liaison", channel="sms", summary="进展告知")
    again = quiet.quiet_days(ctx, rows.values(), now=now)
    assert rows[talked]["id"] not in again


def test_a_handler_of_another_branch_may_not_log_a_contact_nor_attach_nor_rectify(
    ctx: Context, now: datetime, tmp_path: Path
) -> None:
    from services import users
    from services.casefile import evidence, rectification

    users.add_user(
        ctx, "sh.duijie", name="沈对接", role="liaison", team="上海组", branch="shanghai"
    )
    number = accepted(ctx, now - timedelta(days=1), branch="beijing")  # owned by `liaison`
    paper = tmp_path / "a.txt"
    paper.write_bytes(b"note")
    with pytest.raises(Forbidden):
        contacts.log(ctx, number, actor="sh.duijie", channel="sms", summary="x")
    with pytest.raises(Forbidden):
        evidence.attach(ctx, number, [paper], actor="sh.duijie")
    with pytest.raises(Forbidden):
        rectification.add(ctx, number, actor="sh.duijie", what="x", department="claims")
    with pytest.raises(Forbidden):
        rectification.list_items(ctx, actor="sh.duijie", number=number)
    assert contacts.for_complaint(ctx, number) == []
    contacts.log(ctx, number, actor="liaison", channel="sms", summary="本人负责的投诉")


@pytest.mark.postgres
def test_contacts_and_quiet_days_work_on_both_databases(any_ctx: Context, now: datetime) -> None:
    number = accepted(any_ctx, now - timedelta(days=6))
    contacts.log(any_ctx, number, actor="liaison", channel="email", summary="进展告知")
    case = get_complaint(any_ctx, number)["case"]
    assert list(quiet.last_contacts(any_ctx, [case["id"]])) == [case["id"]]
    assert quiet.quiet_days(any_ctx, [case], now=now) == {}
    assert [c["channel"] for c in contacts.for_complaint(any_ctx, number)] == ["email"]
