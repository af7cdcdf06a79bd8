"""Lifecycle actions: one function per action, each a single transaction.

Load → authorize the actor's role → check fields and guards → fire the transition →
recompute the deadlines → update the complaint (version compare-and-swap) → append the
event → commit. Anything raised before the commit rolls everything back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from services import callbacks, escalation, records
from services.context import Context
from states import lifecycle as lc
from states.deadlines import ENDINGS, apply_clock, needs_rows
from states.errors import Conflict, Forbidden, InvalidInput
from states.priority import assess
from states.validation import choice
from storage.timeutil import from_db, to_db, utcnow

# Clock skew tolerated between a handler's terminal and the server.
FUTURE_TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True)
class ActionResult:
    number: str
    action: str
    from_state: str
    state: str
    version: int
    event_id: int


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def check_time(at: datetime | None, *, last: datetime | None, now: datetime) -> datetime:
    """When the action happened: default now; never in the future nor before the last event."""
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput("at", "时间须带时区")
    if at > now + FUTURE_TOLERANCE:
        raise InvalidInput("at", f"时间 {at.isoformat()} 晚于当前时间")
    if last is not None and at < last:
        raise InvalidInput("at", f"时间 {at.isoformat()} 早于该投诉上一事件 {last.isoformat()}")
    return at


def _column_updates(
    ctx: Context,
    conn: Connection,
    act: lc.Action,
    case: dict[str, Any],
    fields: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """Complaint columns an action sets, beyond state and history."""
    trig = act.trigger
    values: dict[str, Any] = {}
    if trig in ("accept", "assign"):
        owner = records.load_user(conn, fields["owner"])
        if lc.Role(owner["role"]) not in (
            lc.Role.liaison,
            lc.Role.supervisor,
            lc.Role.investigator,
            lc.Role.intake_clerk,
        ):
            raise InvalidInput("owner", f"{fields['owner']} 的角色不能负责投诉")
        values["owner"] = owner["username"]
    if trig == "accept":
        tax = ctx.config.taxonomy
        values["category"] = choice(fields["category"], tax.categories, "category")
        values["product"] = choice(fields["product"], tax.products, "product")
        values["accepted_at"] = to_db(at)
        level, reasons = assess(
            {**case, **(case["details"] or {}), "repeat": case["linked_to_id"] is not None},
            ctx.config.priority,
        )
        if fields.get("priority"):
            level, reasons = fields["priority"], [f"人工设定: {fields.get('priority_reason', '')}"]
        values["priority"], values["priority_reasons"] = level, reasons
    elif trig == "decide":
        values["decided_at"] = to_db(at)
        values["decided_by_branch"] = bool(fields.get("by_branch"))
    elif trig == "notify":
        values["notified_at"] = to_db(at)
    elif trig in ("close", "settle", "withdraw", "decline", "merge"):
        values["closed_at"] = to_db(at)
    elif trig == "reopen":
        values["closed_at"] = None
    elif trig == "extend":
        values["extension_level"] = case["extension_level"] + 1
    elif trig == "escalate":
        values["escalation_level"] = max(
            case["escalation_level"] + 1, int(fields.get("level") or 0)
        )
    return values


def perform(
    ctx: Context,
    number: str,
    trigger: str,
    *,
    actor: str,
    fields: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
    conn: Connection | None = None,
) -> ActionResult:
    """Take one lifecycle action on a complaint (the shared body of every action function)."""
    if conn is None:
        with ctx.engine.begin() as own:
            return perform(
                ctx,
                number,
                trigger,
                actor=actor,
                fields=fields,
                at=at,
                expected_version=expected_version,
                conn=own,
            )
    act = lc.action(trigger)
    data = dict(fields or {})
    now = utcnow()
    case, user = records.load_case_and_actor(conn, number, actor)
    if expected_version is not None and expected_version != case["version"]:
        raise Conflict(
            f"投诉 {number} 已被他人修改(您看到的版本 {expected_version}, "
            f"当前版本 {case['version']}), 请刷新后重试"
        )
    lc.authorize(act, user["role"])
    lc.check(act, case, data)
    when = check_time(at, last=from_db(case["last_event_at"]), now=now)
    before = lc.State(case["state"])
    after = lc.fire(act, before)

    values = _column_updates(ctx, conn, act, case, data, when)
    merge_target = _merge_target(conn, case, data) if trigger == "merge" else None
    if merge_target is not None:
        values["merged_into_id"] = merge_target["id"]
    if act.clock:
        ending = ENDINGS.get(act.clock)
        if ending is not None:  # met / stopped: one statement, nothing to compute
            records.end_deadlines(conn, case["id"], ending, when)
        if needs_rows(act.clock, case):
            deadlines = records.load_deadlines(conn, case["id"])
            apply_clock(ctx.clock, act.clock, deadlines, when, case=case, fields=data)
            records.save_deadlines(conn, case["id"], deadlines)
    record = _jsonable(data)  # the action's fields live in its event (the case's history)
    seq = case["event_count"] + 1
    version = records.update_case(
        conn,
        case,
        {"state": after.value, "event_count": seq, "last_event_at": to_db(when), **values},
    )
    event_id = records.append_event(
        conn,
        complaint_id=case["id"],
        seq=seq,
        action=trigger,
        from_state=before.value,
        to_state=after.value,
        actor=user["username"],
        role=user["role"],
        at=when,
        recorded_at=now,
        reason=data.get("reason") or data.get("summary"),
        details=record,
    )
    if values.get("priority") == "major":  # Art. 29: escalate at once (services/escalation.py)
        escalation.escalate_on_arrival(ctx, conn, case["id"])
    if trigger == "notify":  # a satisfaction callback (回访) follows every notified decision
        callbacks.schedule(
            conn,
            ctx,
            case["id"],
            notified_at=when,
            owner=case["owner"],
            first=case["notified_at"] is None,
        )
    if merge_target is not None and data.get("new_facts"):
        # Art. 18 ¶3: the repeat brings new facts, so the open case's decision clock restarts.
        perform(
            ctx,
            merge_target["number"],
            "new_facts",
            actor=actor,
            at=when,
            conn=conn,
            fields={"summary": f"合并投诉 {number} 带来新的事实或理由", "from": number},
        )
    return ActionResult(
        number=number,
        action=trigger,
        from_state=before.value,
        state=after.value,
        version=version,
        event_id=event_id,
    )


def _merge_target(
    conn: Connection, case: Mapping[str, Any], data: Mapping[str, Any]
) -> dict[str, Any]:
    target = records.load_case(conn, str(data["into"]))
    if target["id"] == case["id"]:
        raise InvalidInput("into", "不能合并到自身")
    if lc.State(target["state"]) in lc.FINISHED:
        raise Forbidden(
            f"目标投诉 {target['number']} 已{lc.State(target['state']).label}, "
            "只能合并到在办投诉(第十八条第三款)"
        )
    return target


# One function per action: plain values in, one transaction each.


def accept(
    ctx: Context,
    number: str,
    *,
    actor: str,
    category: str,
    product: str,
    owner: str,
    priority: str | None = None,
    priority_reason: str | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "accept",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={
            "category": category,
            "product": product,
            "owner": owner,
            "priority": priority,
            "priority_reason": priority_reason,
        },
    )


def assign(
    ctx: Context,
    number: str,
    *,
    actor: str,
    owner: str,
    reason: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "assign",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"owner": owner, "reason": reason},
    )


def investigate(
    ctx: Context,
    number: str,
    *,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "investigate",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"note": note},
    )


def negotiate(
    ctx: Context,
    number: str,
    *,
    actor: str,
    findings: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "negotiate",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"findings": findings},
    )


def start_appraisal(
    ctx: Context,
    number: str,
    *,
    actor: str,
    body: str,
    complainant_told: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "start_appraisal",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"body": body, "complainant_told": complainant_told},
    )


def end_appraisal(
    ctx: Context,
    number: str,
    *,
    actor: str,
    result: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "end_appraisal",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"result": result},
    )


def consult(
    ctx: Context,
    number: str,
    *,
    actor: str,
    reason: str,
    departments: list[str] | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "consult",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"reason": reason, "departments": departments or []},
    )


def conclude_consultation(
    ctx: Context,
    number: str,
    *,
    actor: str,
    resolution: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "conclude_consultation",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"resolution": resolution},
    )


def new_facts(
    ctx: Context,
    number: str,
    *,
    actor: str,
    summary: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "new_facts",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"summary": summary},
    )


def extend(
    ctx: Context,
    number: str,
    *,
    actor: str,
    reason: str,
    approver: str | None = None,
    complainant_told: str | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "extend",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"reason": reason, "approver": approver, "complainant_told": complainant_told},
    )


def decide(
    ctx: Context,
    number: str,
    *,
    actor: str,
    facts: str,
    basis: str,
    reasons: str,
    remedies: list[str],
    by_branch: bool = False,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "decide",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={
            "facts": facts,
            "basis": basis,
            "reasons": reasons,
            "remedies": remedies,
            "by_branch": by_branch,
        },
    )


def notify(
    ctx: Context,
    number: str,
    *,
    actor: str,
    channel: str,
    proof: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "notify",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"channel": channel, "proof": proof},
    )


def request_review(
    ctx: Context,
    number: str,
    *,
    actor: str,
    request: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "request_review",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"request": request},
    )


def conclude_review(
    ctx: Context,
    number: str,
    *,
    actor: str,
    conclusion: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "conclude_review",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"conclusion": conclusion},
    )


def mediate(
    ctx: Context,
    number: str,
    *,
    actor: str,
    channel: str,
    organisation: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "mediate",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"channel": channel, "organisation": organisation},
    )


def end_mediation(
    ctx: Context,
    number: str,
    *,
    actor: str,
    result: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "end_mediation",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"result": result},
    )


def settle(
    ctx: Context,
    number: str,
    *,
    actor: str,
    agreement: str,
    analysis: Mapping[str, str],
    root_cause: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "settle",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"agreement": agreement, **analysis, "root_cause": root_cause},
    )


def close(
    ctx: Context,
    number: str,
    *,
    actor: str,
    analysis: Mapping[str, str],
    root_cause: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "close",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={**analysis, "root_cause": root_cause},
    )


def withdraw(
    ctx: Context,
    number: str,
    *,
    actor: str,
    reason: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "withdraw",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"reason": reason},
    )


def decline(
    ctx: Context,
    number: str,
    *,
    actor: str,
    ground: str,
    explanation: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "decline",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"ground": ground, "explanation": explanation},
    )


def merge(
    ctx: Context,
    number: str,
    *,
    actor: str,
    into: str,
    new_facts: bool = False,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "merge",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"into": into, "new_facts": new_facts},
    )


def reopen(
    ctx: Context,
    number: str,
    *,
    actor: str,
    reason: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "reopen",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"reason": reason},
    )


def escalate(
    ctx: Context,
    number: str,
    *,
    actor: str,
    reason: str,
    level: int | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    return perform(
        ctx,
        number,
        "escalate",
        actor=actor,
        at=at,
        expected_version=expected_version,
        fields={"reason": reason, "level": level},
    )
