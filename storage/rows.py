"""The rows the query layer hands the use cases, typed (storage/records.py returns them).

Each is the table's columns as Core returns them (times aware UTC), so a reader sees what a
complaint or a user row holds and the type checker checks the keys a service reads. A test
holds these against storage/models.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict


class NewComplaintRow(TypedDict):
    """The columns registration writes (services/lifecycle/registration.py `case_row`); the
    others take their defaults, and `number` is set from the id just after the insert."""

    state: str
    version: int
    event_count: int
    priority: str
    priority_reasons: list[str]
    category: str | None
    product: str | None
    channel: str
    branch: str
    registered_by: str
    received_at: datetime
    registered_at: datetime
    last_event_at: datetime
    complainant_id: int
    complainant_capacity: str
    complainant_hash: str
    agent_id: int | None
    power_of_attorney: str | None
    institution_id: int | None
    employee_name: str | None
    employee_no: str | None
    claim: str
    facts: str
    basis: str | None
    policy_no: str | None
    amount: float | None
    regulator_forwarded: bool
    regulator_ref: str | None
    regulator_forwarded_on: datetime | None
    group_size: int
    media_involved: bool
    vulnerable: bool
    external_ref: str | None
    details: dict[str, Any]  # case attributes only: extra, major_designated, repeat


class ComplaintRow(NewComplaintRow):
    """A stored complaint: every column of `complaint` (storage/models.py `Complaint`)."""

    id: int
    number: str  # nullable in the table only between the insert and the update that sets it
    owner: str | None
    accepted_at: datetime | None
    decided_at: datetime | None
    notified_at: datetime | None
    closed_at: datetime | None
    decided_by_branch: bool
    decided_by: str | None
    reviewed_by: str | None
    extension_level: int
    escalation_level: int
    merged_into_id: int | None
    linked_to_id: int | None
    next_due_at: datetime | None  # kept by the database (0023), never written by the services


class ActorRow(TypedDict):
    """A checked user as an action needs it (loaded with the case, or a full `UserRow`)."""

    username: str
    role: str
    active: bool


class NamedUserRow(TypedDict):
    """The user an action names (e.g. the new owner), loaded with the case and unchecked: every
    value is None when no such user exists (`records.checked_user` refuses it)."""

    username: str | None
    role: str | None
    active: bool | None


class UserRow(ActorRow):
    """Every column of `user` (storage/models.py `User`)."""

    id: int
    name: str
    team: str
    branch: str
    employee_no: str
    email: str
    wecom_userid: str
    mobile_token: str | None  # a Fernet token (storage/vault.py), never the number
    created_at: datetime
