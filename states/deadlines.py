"""Named deadlines: pure arithmetic from the rules table (config `[deadlines.*]`).

Each deadline is kept as its inputs (clock start, allowance, time paused) plus what they
produce (due time, warning times, verified). Every recomputation starts again from the
inputs, so an extension or a pause can never drift. Times are aware UTC datetimes; the
local day boundaries (Art. 43 calendar days, start day not counted per Civil Code Art. 201)
are taken in the configured time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from states.calendar import WorkCalendar

RUNNING, PAUSED, MET, STOPPED = "running", "paused", "met", "stopped"
ACTIVE = (RUNNING, PAUSED)


# Read-only protocol members, so that config's pydantic models (config.DeadlineRule,
# config.EscalationLevel), whose fields are narrower (a Literal unit), satisfy them.
class Rule(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def start(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def unit(self) -> str: ...
    @property
    def pausable(self) -> bool: ...
    @property
    def extensions(self) -> Sequence[int]: ...
    @property
    def escalate(self) -> bool: ...
    @property
    def rule(self) -> str: ...


class Level(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def at_fraction(self) -> float: ...
    @property
    def after_due_days(self) -> int: ...


@dataclass
class Deadline:
    name: str
    started_at: datetime
    allowance: int
    status: str = RUNNING
    paused_at: datetime | None = None
    paused_seconds: int = 0
    met_at: datetime | None = None
    due_at: datetime | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)
    verified: bool = True
    rule: str = ""
    changed: bool = True
    # The storage row this deadline was loaded from (opaque here); a restarted clock keeps
    # it so that the row is updated in place.
    row_id: int | None = None

    @property
    def next_check_at(self) -> datetime | None:
        if self.status != RUNNING or not self.warnings:
            return None
        return min(datetime.fromisoformat(w["at"]) for w in self.warnings)


@dataclass(frozen=True)
class Clock:
    """What the deadline arithmetic needs from configuration."""

    rules: Mapping[str, Rule]
    ladder: Sequence[Level]
    calendar: WorkCalendar
    tz: ZoneInfo
    roll_forward: bool = False

    def _end_of_local_day(self, day: Any) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), self.tz).astimezone(UTC)

    def due(self, rule: Rule, started_at: datetime, allowance: int) -> tuple[datetime, bool]:
        """(due time in UTC, calendar verified) before any pause."""
        if rule.unit == "hours":
            return started_at + timedelta(hours=allowance), True
        local_start = started_at.astimezone(self.tz).date()
        if rule.unit == "working_days":
            last, verified = self.calendar.add_working_days(local_start, allowance)
            return self._end_of_local_day(last), verified
        last = local_start + timedelta(days=allowance)
        verified = True
        if self.roll_forward:
            # Civil Code Art. 203: a last day on a statutory holiday moves to the next working day.
            last, verified = self.calendar.next_workday(last)
        return self._end_of_local_day(last), verified

    def compute(self, dl: Deadline) -> Deadline:
        rule = self.rules[dl.name]
        base_due, verified = self.due(rule, dl.started_at, dl.allowance)
        shift = timedelta(seconds=dl.paused_seconds)
        span = base_due - dl.started_at
        warnings = []
        for level in self.ladder if rule.escalate else ():
            at = dl.started_at + span * level.at_fraction + timedelta(days=level.after_due_days)
            warnings.append({"level": level.code, "at": (at + shift).astimezone(UTC).isoformat()})
        dl.due_at = (base_due + shift).astimezone(UTC)
        dl.warnings = warnings
        dl.verified = verified
        dl.rule = rule.rule
        dl.changed = True
        return dl

    def start(self, name: str, at: datetime) -> Deadline:
        return self.compute(Deadline(name=name, started_at=at, allowance=self.rules[name].amount))


@dataclass(frozen=True)
class Ending:
    """The part of a clock effect that only ends clocks: no arithmetic, so storage can apply
    it to the stored rows in one statement without loading them."""

    status: str  # MET or STOPPED
    names: tuple[str, ...] | None  # None: every running or paused deadline


ENDINGS: dict[str, Ending] = {
    "accepted": Ending(MET, ("acceptance",)),
    "investigated": Ending(MET, ("investigation",)),
    "decided": Ending(MET, ("investigation",)),
    "notified": Ending(MET, ("investigation", "internal_target", "decision")),
    "review_requested": Ending(MET, ("review_request",)),
    "reviewed": Ending(MET, ("review_decision",)),
    "closed": Ending(STOPPED, None),
    "ended": Ending(STOPPED, None),
}
# Effects that compute due times (the rows must be loaded); `begins` adds conditional ones.
COMPUTING = frozenset({"registered", "pause", "resume", "restart", "reopened", "extend"})
KNOWN = COMPUTING | frozenset(ENDINGS)


def end(ending: Ending, dl: Deadline, at: datetime) -> None:
    """Apply an ending to one deadline in memory (storage does the same in SQL)."""
    if dl.status not in ACTIVE or (ending.names is not None and dl.name not in ending.names):
        return
    if ending.status == MET:
        dl.status, dl.met_at = MET, at
    else:
        dl.status, dl.paused_at = STOPPED, None
    dl.changed = True


# The closure follow-through (docs/rules.md §2): after a decision is notified the handler has
# this clock to close the case; it is stopped when the case goes back into handling (a review,
# a reopening, mediation) and started again when the decision is notified anew. A clock whose
# rule is not configured is not started.
CLOSURE = "closure"
LEAVE_NOTIFIED: frozenset[str] = frozenset({"review_requested", "reopened", "pause"})


def begins(effect: str, case: Mapping[str, Any]) -> tuple[str, ...]:
    """The deadlines an effect starts (again) from its time, after its ending."""
    if effect == "registered":
        # acceptance_notice: optional (started only where its rule is configured and enabled),
        # met when the acceptance notice is given (services/casefile/contacts.py record_in).
        return ("acceptance", "internal_target", "decision", "acceptance_notice")
    if effect == "accepted":
        return ("investigation",)
    if effect == "notified" and case.get("decided_by_branch"):
        return ("review_request", CLOSURE)  # only a branch decision can be reviewed (Art. 20)
    if effect in ("notified", "reviewed"):
        return (CLOSURE,)
    if effect == "review_requested":
        return ("review_decision",)
    return ()


# Effects that happen once in a case's life, so that the clocks they start have no stored row
# yet: a case is accepted once (`accept` moves only from `registered`, which no action returns
# to; a test on the lifecycle table holds this), and only acceptance starts the investigation.
ONCE: frozenset[str] = frozenset({"accepted"})


def needs_rows(effect: str, case: Mapping[str, Any]) -> bool:
    """Whether an effect does more than its ending and starting clocks anew, so that the stored
    rows must be loaded (an effect in ONCE starts its clocks on an empty set)."""
    if effect not in KNOWN:
        raise ValueError(f"unknown clock effect {effect}")
    return effect in COMPUTING or (bool(begins(effect, case)) and effect not in ONCE)


def apply_clock(
    clock: Clock,
    effect: str,
    deadlines: dict[str, Deadline],
    at: datetime,
    *,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
) -> None:
    """Apply one lifecycle clock effect (the `clock` column of states.lifecycle.ACTIONS).

    Endings (met, stopped) are idempotent, so applying an effect to rows whose ending storage
    has already written changes nothing more."""
    if effect not in KNOWN:
        raise ValueError(f"unknown clock effect {effect}")
    ending = ENDINGS.get(effect)
    if ending is not None:
        for dl in deadlines.values():
            end(ending, dl, at)
    if effect in LEAVE_NOTIFIED:
        closure = deadlines.get(CLOSURE)
        if closure is not None:
            end(Ending(STOPPED, (CLOSURE,)), closure, at)
    for name in begins(effect, case):
        if name not in clock.rules:
            continue
        old = deadlines.get(name)
        deadlines[name] = clock.start(name, at)
        deadlines[name].row_id = old.row_id if old else None

    if effect == "pause":
        for dl in deadlines.values():
            if dl.status == RUNNING and clock.rules[dl.name].pausable:
                dl.status, dl.paused_at, dl.changed = PAUSED, at, True
    elif effect == "resume":
        for dl in deadlines.values():
            if dl.status == PAUSED and dl.paused_at is not None:
                dl.paused_seconds += int((at - dl.paused_at).total_seconds())
                dl.status, dl.paused_at = RUNNING, None
                clock.compute(dl)
    elif effect in ("restart", "reopened"):
        # Art. 18 ¶3: new facts or reasons restart the decision clock from their receipt.
        old = deadlines.get("decision")
        paused = old is not None and old.status == PAUSED
        dl = clock.start("decision", at)
        dl.row_id = old.row_id if old else None
        if paused:
            dl.status, dl.paused_at = PAUSED, at
        deadlines["decision"] = dl
    elif effect == "extend":
        # Art. 18 ¶1: the handler names the new length (`to`, one of the configured
        # extensions, checked by the service before the clock moves).
        dl = deadlines["decision"]
        dl.allowance = int(fields["to"])
        clock.compute(dl)
