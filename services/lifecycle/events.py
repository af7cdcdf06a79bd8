"""What happened, told to whoever follows it up, inside the same transaction.

The lifecycle core (services/lifecycle/actions.py, services/lifecycle/registration.py) publishes a
typed event for
each follow-up its table row names (`Action.follow_ups`, `REGISTER_FOLLOW_UPS` in
states/lifecycle.py); the automatic side (callbacks, escalation, repeats) subscribes by name.
So the core never imports the automatic side, and the automatic side may call the core.

Every follow-up a row names must have exactly one subscriber. The modules that subscribe are
listed in `SUBSCRIBER_MODULES` and imported on the first publish, the way cli/main.py loads
commands: `tousu show` never pays for the automatic side, and no action can run without its
follow-ups (a test checks the table against this registry). A follow-up runs in the action's
transaction: if it raises, the action rolls back with it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection

from states.lifecycle import Action
from storage.rows import ComplaintRow, NewComplaintRow

if TYPE_CHECKING:
    from services.context import Context


@dataclass(frozen=True)
class ActionTaken:
    """One lifecycle action, after its move, its columns and its event row are written."""

    ctx: Context
    conn: Connection
    action: Action
    case: ComplaintRow  # the complaint as it was before the action
    values: Mapping[str, Any]  # the complaint columns the action set
    fields: Mapping[str, Any]
    at: datetime
    actor: str
    event_id: int


@dataclass(frozen=True)
class CaseRegistered:
    """A complaint just registered (its row, deadlines and first event are written)."""

    ctx: Context
    conn: Connection
    complaint_id: int
    row: NewComplaintRow  # the values inserted (no id nor number)
    actor: str
    # The complainant's keyed hashes as written (id_number_hash, phone_hash, name_hash), so
    # that a follow-up matching on them need not read the party row back.
    complainant_hashes: Mapping[str, str | None] | None = None


@dataclass(frozen=True)
class RepeatOutcome:
    """What repeat detection (the `detect_repeat` follow-up of registration) decided."""

    kind: str  # none | merged | linked
    state: str
    master: str | None = None  # the matter's master complaint number
    target: str | None = None  # the open case merged into (kind == merged)
    matched_on: tuple[str, ...] = ()
    new_facts: bool = False


Event = TypeVar("Event", ActionTaken, CaseRegistered)
_SUBSCRIBERS: dict[str, Callable[[Any], Any]] = {}
# The modules whose functions carry out follow-ups (each registers with `subscribe`).
SUBSCRIBER_MODULES: tuple[str, ...] = (
    "services.lifecycle.actions",
    "services.lifecycle.priority",
    "services.automatic.callbacks",
    "services.automatic.consultation",
    "services.automatic.escalation",
    "services.automatic.public_opinion",
    "services.automatic.repeats",
    "services.casefile.messages",  # messages to the complainant ([messages] auto)
)
_loaded = False


def load_subscribers() -> Mapping[str, Callable[[Any], Any]]:
    """Import every subscriber module once; returns the registry."""
    global _loaded
    if not _loaded:
        for module in SUBSCRIBER_MODULES:
            importlib.import_module(module)
        _loaded = True
    return dict(_SUBSCRIBERS)


def subscribe(name: str) -> Callable[[Callable[[Event], Any]], Callable[[Event], Any]]:
    """Register the one function that carries out the follow-up `name`."""

    def register(fn: Callable[[Event], Any]) -> Callable[[Event], Any]:
        if name in _SUBSCRIBERS and _SUBSCRIBERS[name] is not fn:
            raise RuntimeError(f"follow-up {name!r} already has a subscriber")
        _SUBSCRIBERS[name] = fn
        return fn

    return register


def publish(name: str, event: ActionTaken | CaseRegistered) -> Any:
    """Carry out the follow-up `name`; returns what its subscriber returns."""
    if not _loaded:
        load_subscribers()
    try:
        subscriber = _SUBSCRIBERS[name]
    except KeyError:
        raise RuntimeError(f"follow-up {name!r} has no subscriber in SUBSCRIBER_MODULES") from None
    return subscriber(event)
