"""The typed rows of storage/rows.py hold every column of their tables, no more, no less, and
registration writes exactly the columns `NewComplaintRow` names."""

from __future__ import annotations

from datetime import datetime

from services.context import Context
from services.lifecycle import registration
from storage import records
from storage.rows import ComplaintRow, NewComplaintRow, UserRow
from tests.factories import registration as a_registration


def test_a_complaint_row_names_every_column_of_the_complaint_table() -> None:
    assert set(ComplaintRow.__annotations__) == set(records.COMPLAINT.c.keys())


def test_a_user_row_names_every_column_of_the_user_table() -> None:
    assert set(UserRow.__annotations__) == set(records.USER.c.keys())


def test_registration_writes_the_columns_a_new_complaint_row_names(
    ctx: Context, now: datetime
) -> None:
    reg = registration.validate(ctx, a_registration(), now)
    row = registration.case_row(
        ctx,
        reg,
        user={"username": "clerk", "role": "intake_clerk", "active": True},
        now=now,
        complainant_id=1,
        agent_id=None,
        institution_id=None,
    )
    assert set(row) == set(NewComplaintRow.__annotations__)


def test_an_action_loads_the_case_with_the_columns_of_a_complaint_row(ctx: Context) -> None:
    number = registration.register(ctx, a_registration(), actor="clerk").number
    with ctx.transaction() as conn:
        case, user, named = records.load_case_and_actor(conn, number, "clerk", person="nobody")
    assert set(case) == set(ComplaintRow.__annotations__)
    assert set(user) == {"username", "role", "active"} and user["username"] == "clerk"
    assert named == {"username": None, "role": None, "active": None}
