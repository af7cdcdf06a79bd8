"""Special-attention list: supervisors only, every view and change audited, never a refusal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select, text

from services.lifecycle import actions as a
from services.lifecycle import special_attention as sa
from services.lifecycle.registration import register
from states.errors import Forbidden, InvalidInput
from storage.special_attention import SpecialAttentionAudit
from tests.factories import cst, registered, registration

T = cst(2026, 3, 2, 10)
SPECIAL_ATTENTION_AUDIT = SpecialAttentionAudit.__table__


def _audit(ctx):
    with ctx.engine.connect() as conn:
        return [
            (r.action, r.actor)
            for r in conn.execute(
                select(SPECIAL_ATTENTION_AUDIT).order_by(SPECIAL_ATTENTION_AUDIT.c.id)
            )
        ]


def test_a_supervisor_adds_lists_views_and_removes_with_every_step_audited(ctx):
    number = registered(ctx, T)
    entry = sa.add(
        ctx,
        actor="supervisor",
        number=number,
        reason="多次恶意投诉、辱骂坐席",
        evidence="录音 REC-1、REC-2",
    )
    [listed] = sa.list_entries(ctx, actor="supervisor")
    assert listed["id"] == entry and listed["complaint"] == number
    shown = sa.show(ctx, entry, actor="supervisor")
    assert shown["reason"].startswith("多次")
    sa.remove(ctx, entry, actor="supervisor", reason="已停访息诉一年")
    assert sa.list_entries(ctx, actor="supervisor") == []
    assert [x for x, _ in _audit(ctx)] == ["add", "list", "view", "remove", "list"]


@pytest.mark.parametrize(
    "who", ["clerk", "liaison", "investigator", "coordinator", "committee", "admin"]
)
def test_nobody_but_a_supervisor_sees_the_list_and_the_attempt_is_logged(ctx, who):
    number = registered(ctx, T)
    sa.add(ctx, actor="supervisor", number=number, reason="恶意", evidence="录音")
    with pytest.raises(Forbidden):
        sa.list_entries(ctx, actor=who)
    with pytest.raises(Forbidden):
        sa.flag_for(ctx, number, actor=who)
    assert _audit(ctx)[-2:] == [("denied", who), ("denied", who)]


def test_an_entry_needs_a_reason_and_evidence(ctx):
    number = registered(ctx, T)
    with pytest.raises(InvalidInput, match="依据"):
        sa.add(ctx, actor="supervisor", number=number, reason="恶意", evidence=" ")
    with pytest.raises(InvalidInput, match="原因"):
        sa.add(ctx, actor="supervisor", number=number, reason="", evidence="录音")


@pytest.mark.now(cst(2026, 10, 1, 12))  # after the new complaint it registers
def test_a_listed_complainant_is_recognised_on_a_new_complaint_by_identity(ctx):
    number = registered(ctx, T)
    sa.add(ctx, actor="supervisor", number=number, reason="恶意", evidence="录音")
    later = register(
        ctx, registration(received_at=cst(2026, 10, 1, 10), policy_no="P-9"), actor="clerk"
    ).number
    assert sa.flag_for(ctx, later, actor="supervisor") is not None


@pytest.mark.now(cst(2026, 10, 1, 12))  # after the new complaint it registers
def test_a_listed_complainant_is_still_registered_accepted_and_handled(ctx):
    number = registered(ctx, T)
    sa.add(ctx, actor="supervisor", number=number, reason="恶意", evidence="录音")
    again = register(
        ctx, registration(received_at=cst(2026, 10, 1, 10), policy_no="P-new"), actor="clerk"
    )
    assert again.state == "registered"
    result = a.accept(
        ctx,
        again.number,
        actor="clerk",
        category="claims",
        product="medical",
        owner="liaison",
        at=cst(2026, 10, 1, 11),
    )
    assert result.state == "accepted"


def test_registration_acceptance_and_decline_never_consult_the_list() -> None:
    root = Path(__file__).resolve().parents[2]
    for rel in (
        "services/lifecycle/registration.py",
        "services/lifecycle/actions.py",
        "services/automatic/repeats.py",
        "states/lifecycle.py",
    ):
        tree = ast.parse((root / rel).read_text(encoding="utf-8"))
        names = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        names |= {
            a.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names
        }
        assert not any("special_attention" in n for n in names), rel


def test_the_audit_trail_is_append_only(ctx):
    number = registered(ctx, T)
    sa.add(ctx, actor="supervisor", number=number, reason="恶意", evidence="录音")
    with pytest.raises(Exception, match="append-only"), ctx.engine.begin() as conn:
        conn.execute(text("UPDATE special_attention_audit SET actor = 'x'"))
