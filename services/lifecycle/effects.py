"""The complaint columns an action sets, from its row in states/lifecycle.py.

`column_values` applies the row's plain declarations (`stamps`, `clears`, `copies`,
`increments`) and then each named effect the row lists in `effects`: the column effects that
need the database or the configuration. Adding an action that needs a new one means one
function here, registered under its name; a test checks every name a row uses is here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Connection

from states import lifecycle as lc
from states.errors import Forbidden, InvalidInput
from states.fields import Kind
from states.priority import assess
from states.validation import choice
from storage import records
from storage.timeutil import to_db

if TYPE_CHECKING:
    from services.context import Context


class Effect(Protocol):
    """A named column effect: the columns it sets, from the case, the fields and the time."""

    def __call__(
        self,
        ctx: Context,
        case: Mapping[str, Any],
        fields: Mapping[str, Any],
        at: datetime,
        *,
        conn: Connection,
    ) -> dict[str, Any]: ...


EFFECTS: dict[str, Effect] = {}


def effect(name: str) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[name] = fn
        return fn

    return register


def column_values(
    ctx: Context,
    act: lc.Action,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
    at: datetime,
    *,
    conn: Connection,
) -> dict[str, Any]:
    """Complaint columns the action sets, beyond state and history."""
    values: dict[str, Any] = {}
    for column in act.stamps:
        values[column] = to_db(at)
    for column in act.clears:
        values[column] = None
    for column, name in act.copies:
        value = fields.get(name)
        values[column] = bool(value) if act.field(name).kind is Kind.flag else value
    for column in act.increments:
        values[column] = int(case[column] or 0) + 1
    for name in act.effects:
        values.update(EFFECTS[name](ctx, case, fields, at, conn=conn))
    return values


def owner(
    conn: Connection,
    username: str,
    *,
    roles: Collection[lc.Role] = lc.OWNER_ROLES,
    refusal: str = "的角色不能负责投诉",
    field: str = "owner",
) -> str:
    """The username of a person whose role may own the thing (a case by default, 首问负责);
    refuses anyone else."""
    user = records.load_user(conn, username)
    if lc.Role(user["role"]) not in roles:
        raise InvalidInput(field, f"{username} {refusal}")
    return str(user["username"])


@effect("take_owner")
def _take_owner(
    ctx: Context,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
    at: datetime,
    *,
    conn: Connection,
) -> dict[str, Any]:
    return {"owner": owner(conn, fields["owner"])}


@effect("classify")
def _classify(
    ctx: Context,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
    at: datetime,
    *,
    conn: Connection,
) -> dict[str, Any]:
    tax = ctx.config.taxonomy
    return {
        "category": choice(fields["category"], tax.categories, "category"),
        "product": choice(fields["product"], tax.products, "product"),
    }


@effect("assess_priority")
def _assess_priority(
    ctx: Context,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
    at: datetime,
    *,
    conn: Connection,
) -> dict[str, Any]:
    level, reasons = assess(
        {**case, **(case["details"] or {}), "repeat": case["linked_to_id"] is not None},
        ctx.config.priority,
    )
    if fields.get("priority"):
        level, reasons = fields["priority"], [f"人工设定: {fields.get('priority_reason', '')}"]
    return {"priority": level, "priority_reasons": reasons}


@effect("raise_escalation_level")
def _raise_escalation_level(
    ctx: Context,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
    at: datetime,
    *,
    conn: Connection,
) -> dict[str, Any]:
    return {"escalation_level": max(case["escalation_level"] + 1, int(fields.get("level") or 0))}


@effect("link_to_master")
def _link_to_master(
    ctx: Context,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
    at: datetime,
    *,
    conn: Connection,
) -> dict[str, Any]:
    """A repeat counted on its own (docs/rules.md §4) points at its matter's first complaint."""
    master = records.load_case(conn, str(fields["master"]))
    repeat = {k: fields[k] for k in ("master", "previous", "matched_on") if k in fields}
    return {"linked_to_id": master["id"], "details": {**(case["details"] or {}), "repeat": repeat}}


def merge_target(conn: Connection, case: Mapping[str, Any], into: str) -> dict[str, Any]:
    """The open complaint `case` is merged into (Art. 18 ¶3)."""
    target = records.load_case(conn, str(into))
    if target["id"] == case["id"]:
        raise InvalidInput("into", "不能合并到自身")
    if lc.State(target["state"]) in lc.FINISHED:
        raise Forbidden(
            f"目标投诉 {target['number']} 已{lc.State(target['state']).label}, "
            "只能合并到在办投诉(第十八条第三款)"
        )
    return target


@effect("merge_into")
def _merge_into(
    ctx: Context,
    case: Mapping[str, Any],
    fields: Mapping[str, Any],
    at: datetime,
    *,
    conn: Connection,
) -> dict[str, Any]:
    return {"merged_into_id": merge_target(conn, case, fields["into"])["id"]}
