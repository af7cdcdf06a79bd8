"""Lifecycle actions: one function per row of states/lifecycle.py ACTIONS, each a single
transaction.

Load → authorize the actor's role → check fields and guards → fire the transition → set the
columns the row declares (services/lifecycle/effects.py) → move the deadlines → update the complaint
(version compare-and-swap) → append the event → publish the row's follow-ups
(services/lifecycle/events.py) → commit. Anything raised before the commit rolls everything back.

The public functions (`accept`, `decide`, ...) are `ActionFunction`s built from the rows, so
their keyword arguments are the row's declared fields; `perform` is the shared body, for
callers that already hold a transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from services import access
from services.lifecycle import effects, events
from states import lifecycle as lc
from states.deadlines import ENDINGS, Deadline, apply_clock, begins, needs_rows
from states.errors import Conflict, InvalidInput
from states.validation import fields_of
from storage import records
from storage.timeutil import from_db, to_db, utcnow

if TYPE_CHECKING:
    from services.context import Context


def clock_skew(ctx: Context) -> timedelta:
    """How far ahead of this clock a given time may be (`[clock] skew_seconds`, default 0)."""
    return timedelta(seconds=float(ctx.config.extra.get("clock", {}).get("skew_seconds", 0)))


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


def check_time(
    at: datetime | None,
    *,
    last: datetime | None,
    now: datetime,
    skew: timedelta = timedelta(0),
    tz: tzinfo | None = None,
) -> datetime:
    """When the action happened: default now; never after now (beyond the configured clock
    skew) nor before the case's previous event, whatever the time's source. Without `at`,
    an action follows a previous event recorded up to the skew ahead at that event's time.
    A refusal quotes the times in `tz`, the handler's zone."""
    if at is None:
        return now if last is None or now >= last else last
    if at.tzinfo is None:
        raise InvalidInput("at", "时间须带时区")

    def shown(moment: datetime) -> str:
        return (moment.astimezone(tz) if tz is not None else moment).isoformat()

    if at > now + skew:
        raise InvalidInput("at", f"时间 {shown(at)} 晚于当前时间")
    if last is not None and at < last:
        raise InvalidInput("at", f"时间 {shown(at)} 早于该投诉上一事件 {shown(last)}")
    return at


def perform(
    ctx: Context,
    number: str,
    trigger: str,
    *,
    conn: Connection,
    actor: str,
    fields: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    """Take one lifecycle action on a complaint inside the caller's transaction `conn`."""
    act = lc.action(trigger)
    data = fields_of(act.fields, fields or {})  # limits and choices (states/validation.py)
    now = utcnow()
    person = data.get(act.person) if act.person else None
    case, user, named = records.load_case_and_actor(conn, number, actor, person=person)
    if expected_version is not None and expected_version != case["version"]:
        raise Conflict(
            f"投诉 {number} 已被他人修改(您看到的版本 {expected_version}, "
            f"当前版本 {case['version']}), 请刷新后重试"
        )
    lc.authorize(act, user["role"])
    access.check_scope(ctx, conn, case, user["username"], user["role"])
    lc.check(act, case, data)
    when = check_time(
        at, last=from_db(case["last_event_at"]), now=now, skew=clock_skew(ctx), tz=ctx.tz
    )
    before = lc.State(case["state"])
    after = lc.fire(act, before)

    move = effects.Move(ctx, conn, case, data, when, named, user["username"])
    values = effects.column_values(act, move)
    if act.clock:
        ending = ENDINGS.get(act.clock)
        if ending is not None:  # met / stopped: one statement, nothing to compute
            records.end_deadlines(conn, case["id"], ending, when)
        deadlines: dict[str, Deadline] | None = None
        if needs_rows(act.clock, case):
            deadlines = records.load_deadlines(conn, case["id"])
        elif begins(act.clock, case):
            deadlines = {}  # clocks started for the first time: nothing stored to load
        if deadlines is not None:
            apply_clock(ctx.clock, act.clock, deadlines, when, case=case, fields=data)
            records.save_deadlines(conn, case["id"], deadlines)
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
        details=_jsonable(data),  # the action's fields live in its event (the case's history)
    )
    if act.follow_ups:
        taken = events.ActionTaken(
            ctx, conn, act, case, values, data, when, user["username"], event_id
        )
        for name in act.follow_ups:
            events.publish(name, taken)
    return ActionResult(
        number=number,
        action=trigger,
        from_state=before.value,
        state=after.value,
        version=version,
        event_id=event_id,
    )


def take(
    ctx: Context,
    number: str,
    trigger: str,
    *,
    actor: str,
    fields: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> ActionResult:
    """Take one lifecycle action in a transaction of its own."""
    with ctx.transaction() as conn:
        return perform(
            ctx,
            number,
            trigger,
            conn=conn,
            actor=actor,
            fields=fields,
            at=at,
            expected_version=expected_version,
        )


@events.subscribe("restart_target_clock")
def _restart_target_clock(event: events.ActionTaken) -> None:
    """Art. 18 ¶3: a merged repeat that brings new facts restarts the open case's clock."""
    if not event.fields.get("new_facts"):
        return
    perform(
        event.ctx,
        str(event.fields["into"]),
        "new_facts",
        conn=event.conn,
        actor=event.actor,
        at=event.at,
        fields={
            "summary": f"合并投诉 {event.case['number']} 带来新的事实或理由",
            "from": event.case["number"],
        },
    )


class ActionFunction:
    """`accept(ctx, number, actor=..., category=..., ...)`: one row of the table as a function.

    Its keyword arguments are the row's declared fields (unknown names are a programming
    error); missing optional fields take their declared defaults."""

    def __init__(self, trigger: str) -> None:
        self.action = lc.action(trigger)
        self.__name__ = trigger
        self.__doc__ = self.action.help or self.action.label

    def __call__(
        self,
        ctx: Context,
        number: str,
        *,
        actor: str,
        at: datetime | None = None,
        expected_version: int | None = None,
        **given: Any,
    ) -> ActionResult:
        return take(
            ctx,
            number,
            self.action.trigger,
            actor=actor,
            fields=self.fields(given),
            at=at,
            expected_version=expected_version,
        )

    def fields(self, given: Mapping[str, Any]) -> dict[str, Any]:
        unknown = given.keys() - {f.name for f in self.action.fields}
        if unknown:
            raise TypeError(f"{self.action.trigger}() got unknown fields {sorted(unknown)}")
        return self.action.complete(given)


# One function per action the people and the flows take (`link` is taken inside the repeat
# detection's transaction through `perform`); a test checks this list against the table.
accept = ActionFunction("accept")
assign = ActionFunction("assign")
investigate = ActionFunction("investigate")
negotiate = ActionFunction("negotiate")
start_appraisal = ActionFunction("start_appraisal")
end_appraisal = ActionFunction("end_appraisal")
consult = ActionFunction("consult")
conclude_consultation = ActionFunction("conclude_consultation")
new_facts = ActionFunction("new_facts")
extend = ActionFunction("extend")
decide = ActionFunction("decide")
notify = ActionFunction("notify")
request_review = ActionFunction("request_review")
conclude_review = ActionFunction("conclude_review")
mediate = ActionFunction("mediate")
end_mediation = ActionFunction("end_mediation")
settle = ActionFunction("settle")
close = ActionFunction("close")
withdraw = ActionFunction("withdraw")
decline = ActionFunction("decline")
merge = ActionFunction("merge")
reopen = ActionFunction("reopen")
escalate = ActionFunction("escalate")
report_media = ActionFunction("report_media")
assess_opinion = ActionFunction("assess_opinion")
update_facts = ActionFunction("update_facts")
reprioritize = ActionFunction("reprioritize")
