"""The contact log (联系记录): every contact with the complainant, in or out.

Owns: recording a contact (`log`) and listing a case's contacts; how long an open case has
gone without one (the queue's "N 天未联系") is services/casefile/quiet.py. Art. 17 asks for
communication in time; Art. 7 for reception recorded on audio/video, of which tousu keeps
the recording's reference (docs/rules.md §3). `[contact] unrecorded_calls` says what happens
to a phone call or a visit logged without one: "allow", "flag" (kept, marked 未登记录音 in
the timeline and the JSON) or "refuse" (exit 2, nothing written).

Each contact is one `contact` row and one `contact` event in the complaint's history, in one
transaction. Must not import cli/, flows/, notifications/ or services/automatic/.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from services.casefile import history
from services.context import Context
from states import casefile as cf
from states import lifecycle as lc
from states.deadlines import MET, Ending
from states.errors import InvalidInput
from storage import records
from storage.contact import Contact
from storage.db import read_only
from storage.rows import ComplaintRow, UserRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

CONTACT = table_of(Contact)
# Everyone who works on cases may log a contact; the clock-driven system actor may not.
ROLES = (
    lc.Role.intake_clerk,
    lc.Role.investigator,
    lc.Role.coordinator,
    lc.Role.liaison,
    lc.Role.supervisor,
    lc.Role.committee,
)
UNRECORDED_POLICIES = ("allow", "flag", "refuse")
SUMMARY_MAX = 2000
RECORDING_MAX = 200


def settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("contact")
    policy = str(raw.get("unrecorded_calls", "flag"))
    if policy not in UNRECORDED_POLICIES:
        from config import ConfigError

        raise ConfigError(
            f"配置 [contact] unrecorded_calls 取值须为 {'/'.join(UNRECORDED_POLICIES)}: {policy}"
        )
    return {"unrecorded_calls": policy}


def log(
    ctx: Context,
    number: str,
    *,
    actor: str,
    channel: str,
    summary: str,
    direction: str = "out",
    recording: str | None = None,
    at: datetime | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """Record one contact with the complainant of `number`; returns the stored contact.
    `notice="acceptance"`: this contact gave the acceptance notice (meets its deadline)."""
    if notice not in (None, "acceptance"):
        raise InvalidInput("notice", "告知种类取值: acceptance(受理告知)")
    if notice is not None and direction != "out":
        raise InvalidInput("notice", "受理告知须为我方联系投诉人 (direction out)")
    if channel not in cf.CHANNELS:
        choices = ", ".join(f"{k}({v})" for k, v in cf.CHANNELS.items())
        raise InvalidInput("channel", f"联系方式取值: {choices}")
    if direction not in cf.DIRECTIONS:
        choices = ", ".join(f"{k}({v})" for k, v in cf.DIRECTIONS.items())
        raise InvalidInput("direction", f"方向取值: {choices}")
    text = (summary or "").strip()
    if not text:
        raise InvalidInput("summary", "须填写联系内容摘要")
    if len(text) > SUMMARY_MAX:
        raise InvalidInput("summary", f"联系内容摘要不超过 {SUMMARY_MAX} 字")
    ref = (recording or "").strip() or None
    if ref is not None and len(ref) > RECORDING_MAX:
        raise InvalidInput("recording", f"录音编号不超过 {RECORDING_MAX} 字符")
    unrecorded = channel in cf.RECORDED_CHANNELS and ref is None
    policy = settings(ctx)["unrecorded_calls"]
    if unrecorded and policy == "refuse":
        raise InvalidInput(
            "recording", f"{cf.CHANNELS[channel]}联系须登记录音录像编号 (--recording, 第七条)"
        )
    flagged = unrecorded and policy == "flag"
    now = utcnow()
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, ROLES, "登记联系记录")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        when = history.happened_at(ctx, case, at, now)
        return record_in(
            conn,
            case,
            user,
            channel=channel,
            direction=direction,
            text=text,
            ref=ref,
            flagged=flagged,
            when=when,
            now=now,
            details={"notice": notice} if notice else None,
        )


def record_in(
    conn: Connection,
    case: ComplaintRow,
    user: UserRow,
    *,
    channel: str,
    direction: str,
    text: str,
    ref: str | None,
    flagged: bool,
    when: datetime,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One checked contact's row and event in the caller's transaction (letters record the
    posting of a letter this way, with its hash in `details`)."""
    reason = f"{cf.CHANNELS[channel]}({cf.DIRECTIONS[direction]}): {text}"
    if ref is not None:
        reason += f"; 录音编号 {ref}"
    elif flagged:
        reason += "; 未登记录音"
    values = {
        "complaint_id": case["id"],
        "at": to_db(when),
        "channel": channel,
        "direction": direction,
        "summary": text,
        "recording_ref": ref,
        "unrecorded": flagged,
        "actor": user["username"],
        "recorded_at": to_db(now),
    }
    contact_id = records.inserted_id(conn.execute(insert(CONTACT).values(values)))
    event_id = history.append(
        conn,
        case,
        actor=user["username"],
        role=user["role"],
        action=cf.CONTACT,
        at=when,
        now=now,
        reason=reason,
        details={
            "contact_id": contact_id,
            "channel": channel,
            "direction": direction,
            "recording": ref,
            "unrecorded": flagged,
            **(details or {}),
        },
    )
    conn.execute(CONTACT.update().where(CONTACT.c.id == contact_id).values(event_id=event_id))
    if cf.gives_acceptance_notice(details):
        # The acceptance notice is given: its internal deadline, where running, is met.
        records.end_deadlines(conn, case["id"], Ending(MET, (cf.ACCEPTANCE_NOTICE,)), when)
    return {
        **values,
        "id": contact_id,
        "number": case["number"],
        "at": when,
        "recorded_at": now,
        "event_id": event_id,
        "version": case["version"],
    }


def for_complaint(ctx: Context, number: str) -> list[dict[str, Any]]:
    """A complaint's contacts, in the order they happened."""
    with read_only(ctx.engine) as conn:
        case = records.load_case(conn, number)
        rows = conn.execute(
            select(CONTACT)
            .where(CONTACT.c.complaint_id == case["id"])
            .order_by(CONTACT.c.at, CONTACT.c.id)
        ).mappings()
        return [
            {**r, "at": from_db(r["at"]), "recorded_at": from_db(r["recorded_at"])} for r in rows
        ]
