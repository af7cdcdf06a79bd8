"""Repeat detection at registration (重复投诉, docs/rules.md §4; Art. 18 ¶3).

Owns: deciding, in the registering transaction, whether a new complaint repeats an earlier
one and what follows. Must not import cli/, flows/ or notifications/.

- Keys, window and states come from `[repeat]`: the same complainant (required when listed)
  plus at least one of policy number / category when those are listed. The complainant is the
  same when any of `[repeat] identifiers` matches: ID number (or credit code), phone, or policy
  number + name, each compared through its keyed hash (storage/vault.py), so a complaint that
  gives name, phone and policy but no ID number still finds the earlier one that gave all
  four; the identifiers that matched are recorded (event and ledger). Window edges are local
  calendar days: an earlier complaint received 180 days before (any time that day) is inside
  a 180-day window, 181 days before is not.
- Each identifier is one index look-up (`party` by hash, then `ix_complaint_complainant_id`;
  policy + name by `ix_complaint_policy_received`): its cost depends on how many complaints
  this complainant made in the window, never on the size of the table.
- A repeat of a case still being handled (`merge_states`) is merged into it with the `merge`
  action; when it brings new facts the open case's decision clock restarts (Art. 18 ¶3).
- A repeat of a decided or finished case stays a case of its own, linked (`linked_to_id`) to
  the matter's master complaint (the first complaint of the matter).
- A regulator-forwarded repeat is always linked, never merged: since 2021 each forwarded item
  counts against the company, so it must stay countable and handled on its own clock
  (Art. 33) while the ledger groups it with its master.
Either way the matter enters the ledger (services/automatic/ledger.py) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.engine import Connection

from services.automatic import ledger
from services.context import Context
from services.lifecycle import actions, events
from services.lifecycle.events import RepeatOutcome
from states import lifecycle as lc
from storage import records
from storage.models import Party
from storage.records import COMPLAINT
from storage.rows import ComplaintRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

PARTY = table_of(Party)

_COLS = (
    COMPLAINT.c.id,
    COMPLAINT.c.number,
    COMPLAINT.c.state,
    COMPLAINT.c.policy_no,
    COMPLAINT.c.category,
    COMPLAINT.c.received_at,
    COMPLAINT.c.merged_into_id,
    COMPLAINT.c.linked_to_id,
    COMPLAINT.c.facts,
    COMPLAINT.c.regulator_forwarded,
)


def _window(stmt: Select[Any]) -> Select[Any]:
    return (
        stmt.where(
            COMPLAINT.c.received_at >= bindparam("start"),
            COMPLAINT.c.received_at <= bindparam("end"),
            # Only an earlier complaint can be repeated: one received at the same instant counts
            # when it was stored first, so two same-time repeats never point at each other.
            or_(COMPLAINT.c.received_at < bindparam("end"), COMPLAINT.c.id < bindparam("cid")),
        )
        .order_by(COMPLAINT.c.received_at.desc())
        .limit(bindparam("limit"))
    )


_WITH_PARTY = select(*_COLS).join_from(COMPLAINT, PARTY, PARTY.c.id == COMPLAINT.c.complainant_id)
# One statement per identifier (`[repeat] identifiers`), each through the complainant's keyed
# hash (storage/vault.py): an index look-up of `party` by hash, then its complaints by
# `ix_complaint_complainant_id`; policy + name goes by `ix_complaint_policy_received`.
_BY_IDENTIFIER: dict[str, Select[Any]] = {
    "id_number": _window(_WITH_PARTY.where(PARTY.c.id_number_hash == bindparam("key"))),
    "phone": _window(_WITH_PARTY.where(PARTY.c.phone_hash == bindparam("key"))),
    "policy_name": _window(
        _WITH_PARTY.where(
            COMPLAINT.c.policy_no == bindparam("policy"), PARTY.c.name_hash == bindparam("key")
        )
    ),
}
_PARTY_KEYS = select(PARTY.c.id_number_hash, PARTY.c.phone_hash, PARTY.c.name_hash).where(
    PARTY.c.id == bindparam("pid")
)
_BY_POLICY = _window(select(*_COLS).where(COMPLAINT.c.policy_no == bindparam("key")))
# Enough earlier complaints of one complainant to find a match; a complainant with more than
# this inside the window is already a ledger matter.
_SCAN_LIMIT = 200


def window_start(ctx: Context, received: datetime) -> datetime:
    """Start of the look-back window: local midnight `window_days` days before receipt."""
    day = received.astimezone(ctx.tz).date() - timedelta(days=ctx.config.repeat.window_days)
    return datetime.combine(day, time(0), ctx.tz)


def identifier_keys(
    ctx: Context,
    case: Mapping[str, Any],
    *,
    conn: Connection,
    hashes: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The configured identifiers this case has, each with its statement's parameters.
    `hashes`: the complainant's keyed hashes when the caller has them (else read)."""
    party: Mapping[Any, Any] | None = hashes
    if party is None:
        party = conn.execute(_PARTY_KEYS, {"pid": case["complainant_id"]}).mappings().first()
    if party is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name in ctx.config.repeat.identifiers:
        if name == "id_number" and party["id_number_hash"]:
            out[name] = {"key": party["id_number_hash"]}
        elif name == "phone" and party["phone_hash"]:
            out[name] = {"key": party["phone_hash"]}
        elif name == "policy_name" and case["policy_no"] and party["name_hash"]:
            out[name] = {"key": party["name_hash"], "policy": case["policy_no"]}
    return out


def matches(
    ctx: Context,
    case: Mapping[str, Any],
    *,
    conn: Connection,
    hashes: Mapping[str, Any] | None = None,
) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """Earlier complaints this one repeats, newest first, each with the keys that matched.

    With "complainant" in `[repeat] match`, the complainant is the same when any configured
    identifier matches (ID number, phone, policy number + name), each through its keyed hash;
    the keys then name the identifiers that matched, followed by the other keys."""
    keys = ctx.config.repeat.match
    received = from_db(case["received_at"])
    assert received is not None
    window = {
        "start": to_db(window_start(ctx, received)),
        "end": to_db(received),
        "cid": case["id"],
        "limit": _SCAN_LIMIT,
    }
    found: dict[int, tuple[dict[str, Any], list[str]]] = {}
    if "complainant" in keys:
        for name, params in identifier_keys(ctx, case, conn=conn, hashes=hashes).items():
            for hit in conn.execute(_BY_IDENTIFIER[name], {**window, **params}).mappings():
                found.setdefault(hit["id"], (dict(hit), []))[1].append(name)
        others = [k for k in keys if k != "complainant"]
    elif "policy" in keys and case["policy_no"]:
        for hit in conn.execute(_BY_POLICY, {**window, "key": case["policy_no"]}).mappings():
            found[hit["id"]] = (dict(hit), ["policy"])
        others = [k for k in keys if k != "policy"]
    else:
        return []
    out: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    for earlier, via in sorted(
        found.values(), key=lambda f: (f[0]["received_at"], f[0]["id"]), reverse=True
    ):
        extra = tuple(k for k in others if _same(k, case, earlier))
        if others and not extra:
            continue
        out.append((earlier, tuple(via) + extra))
    return out


def _same(key: str, case: Mapping[str, Any], row: Any) -> bool:
    column = {"policy": "policy_no", "category": "category"}.get(key)
    if column is None:
        raise ValueError(f"[repeat] match: unknown key {key!r} (complainant, policy, category)")
    return bool(case[column]) and case[column] == row[column]


def on_registered(
    ctx: Context,
    cid: int,
    *,
    conn: Connection,
    actor: str,
    row: dict[str, Any] | None = None,
    hashes: Mapping[str, Any] | None = None,
) -> RepeatOutcome:
    """Called by services.lifecycle.registration.register after the insert, in its transaction.

    `row` (the values just inserted) spares re-reading the complaint when it repeats nothing,
    which is the common case; `hashes` (the complainant's keyed hashes as written) spares
    reading the party row."""
    if row is None:
        case = records.load_case_by_id(conn, cid)
        found = matches(ctx, case, conn=conn)
    else:
        found = matches(ctx, {**row, "id": cid}, conn=conn, hashes=hashes)
        if not found:
            return RepeatOutcome(kind="none", state=row["state"])
        case = records.load_case_by_id(conn, cid)
    if not found:
        return RepeatOutcome(kind="none", state=case["state"])
    latest, matched_on = found[0]
    rules = ctx.config.repeat
    # A complaint merged earlier stands for the open case it was merged into.
    resolved = [
        (
            records.load_case_by_id(conn, row["merged_into_id"]) if row["merged_into_id"] else row,
            keys,
        )
        for row, keys in found
    ]
    mergeable = [(row, keys) for row, keys in resolved if row["state"] in rules.merge_states]
    if mergeable and not case["regulator_forwarded"]:
        target, matched_on = mergeable[0]
        return _merge(ctx, case, target, matched_on, conn=conn, actor=actor)
    return _link(ctx, case, latest, matched_on, conn=conn)


def _has_new_facts(ctx: Context, case: ComplaintRow, target: ComplaintRow) -> bool:
    mode = ctx.config.repeat.new_facts
    if mode == "always":
        return True
    if mode == "never":
        return False
    return (case["facts"] or "").strip() != (target["facts"] or "").strip()


def _merge(
    ctx: Context,
    case: ComplaintRow,
    target: Mapping[str, Any],
    matched_on: tuple[str, ...],
    *,
    conn: Connection,
    actor: str,
) -> RepeatOutcome:
    full_target = records.load_case_by_id(conn, target["id"])
    new_facts = _has_new_facts(ctx, case, full_target)
    # The merge and the restarted clock happen when the repeat was received, unless the open
    # case already has a later event (an append-only history never goes backwards).
    at = max(from_db(case["received_at"]), from_db(full_target["last_event_at"]))
    at = min(at, utcnow())
    result = actions.perform(
        ctx,
        case["number"],
        "merge",
        actor=lc.Role.system.value,
        at=at,
        conn=conn,
        fields={
            "into": target["number"],
            "new_facts": new_facts,
            "matched_on": list(matched_on),
            "reason": f"重复投诉, 处理期限内合并至 {target['number']}(第十八条第三款)",
            "registered_by": actor,
        },
    )
    master = records.master_of(conn, full_target)
    ledger.attach(
        ctx,
        conn=conn,
        master=master,
        member_id=case["id"],
        relation="merged",
        matched_on=matched_on,
    )
    return RepeatOutcome(
        kind="merged",
        state=result.state,
        master=master["number"],
        target=target["number"],
        matched_on=matched_on,
        new_facts=new_facts,
    )


def _link(
    ctx: Context,
    case: ComplaintRow,
    latest: Mapping[str, Any],
    matched_on: tuple[str, ...],
    *,
    conn: Connection,
) -> RepeatOutcome:
    master = records.master_of(conn, latest)
    now = utcnow()
    why = (
        "监管转办件单独计数, 关联至主投诉"
        if case["regulator_forwarded"]
        else "原投诉已作出处理决定或已终结, 另立新案并关联"
    )
    actions.perform(
        ctx,
        case["number"],
        "link",
        conn=conn,
        actor=lc.Role.system.value,
        at=from_db(case["last_event_at"]) or now,
        fields={
            "master": master["number"],
            "previous": latest["number"],
            "matched_on": list(matched_on),
            "reason": f"重复投诉: {why}",
        },
    )
    ledger.attach(
        ctx,
        conn=conn,
        master=master,
        member_id=case["id"],
        relation="linked",
        matched_on=matched_on,
    )
    return RepeatOutcome(
        kind="linked", state=case["state"], master=master["number"], matched_on=matched_on
    )


@events.subscribe("detect_repeat")
def _on_registered(event: events.CaseRegistered) -> RepeatOutcome:
    """Repeat detection (docs/rules.md §4): merge into an open case or link to the master."""
    return on_registered(
        event.ctx,
        event.complaint_id,
        conn=event.conn,
        actor=event.actor,
        row=dict(event.row),
        hashes=event.complainant_hashes,
    )
