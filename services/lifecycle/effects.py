"""The complaint columns an action sets, from its row in states/lifecycle.py.

`column_values` applies the row's plain declarations (`stamps`, `clears`, `copies`,
`increments`) and then each named effect the row lists in `effects`: the column effects that
need the database or the configuration. Adding an action that needs a new one means one
function here, registered under its name; a test checks every name a row uses is here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import false, or_, select, update
from sqlalchemy.engine import Connection

from states import lifecycle as lc
from states.errors import Forbidden, InvalidInput
from states.fields import Kind
from states.priority import assess
from states.validation import GROUP_SIZE, amount, choice, integer
from storage import records
from storage.public_opinion import OpinionTask
from storage.rows import ComplaintRow, NamedUserRow
from storage.schema import table_of
from storage.timeutil import to_db

if TYPE_CHECKING:
    from services.context import Context

OPINION_TASK = table_of(OpinionTask)


@dataclass(frozen=True)
class Move:
    """What a column effect reads: the case as it was, the action's fields and time, the
    transaction, and the user the row names (loaded with the case, unchecked)."""

    ctx: Context
    conn: Connection
    case: ComplaintRow
    fields: Mapping[str, Any]
    at: datetime
    person: NamedUserRow | None = None
    actor: str = ""  # the acting user's name


Effect = Callable[[Move], dict[str, Any]]
EFFECTS: dict[str, Effect] = {}


def effect(name: str) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[name] = fn
        return fn

    return register


def column_values(act: lc.Action, move: Move) -> dict[str, Any]:
    """Complaint columns the action sets, beyond state and history."""
    fields = move.fields
    # The row names its columns as strings: read them through a plain Mapping view.
    columns: Mapping[str, Any] = move.case
    values: dict[str, Any] = {}
    for column in act.stamps:
        values[column] = to_db(move.at)
    for column in act.clears:
        values[column] = None
    for column, name in act.copies:
        value = fields.get(name)
        values[column] = bool(value) if act.field(name).kind is Kind.flag else value
    for column in act.increments:
        values[column] = int(columns[column] or 0) + 1
    for name in act.effects:
        values.update(EFFECTS[name](move))
    return values


def owner(
    conn: Connection,
    username: str,
    *,
    roles: Collection[lc.Role] = lc.OWNER_ROLES,
    refusal: str = "的角色不能负责投诉",
    field: str = "owner",
    loaded: NamedUserRow | None = None,
) -> str:
    """The username of a person whose role may own the thing (a case by default, 首问负责);
    refuses anyone else. `loaded` is the user's row when the caller already has it."""
    if loaded is not None:
        user = records.checked_user(loaded, username, field)
    else:
        user = records.load_user(conn, username, field)
    if lc.Role(user["role"]) not in roles:
        raise InvalidInput(field, f"{username} {refusal}")
    return str(user["username"])


@effect("take_owner")
def _take_owner(move: Move) -> dict[str, Any]:
    return {"owner": owner(move.conn, move.fields["owner"], loaded=move.person)}


@effect("classify")
def _classify(move: Move) -> dict[str, Any]:
    tax = move.ctx.config.taxonomy
    return {
        "category": choice(move.fields["category"], tax.categories, "category"),
        "product": choice(move.fields["product"], tax.products, "product"),
    }


@effect("assess_priority")
def _assess_priority(move: Move) -> dict[str, Any]:
    case, fields = move.case, move.fields
    level, reasons = assess(
        {**case, **(case["details"] or {}), "repeat": case["linked_to_id"] is not None},
        move.ctx.config.priority,
    )
    if fields.get("priority"):
        why = fields.get("priority_reason") or fields.get("reason") or ""
        level, reasons = fields["priority"], [f"人工设定: {why}"]
    return {"priority": level, "priority_reasons": reasons}


@effect("extend_decision")
def _extend_decision(move: Move) -> dict[str, Any]:
    """Art. 18 ¶1: the decision period goes to the length the handler names, one of the
    configured extensions (`[deadlines.decision] extensions`, 30 and 60 days), longer than
    today's; the last one (60 days, straight from 15 or from 30) needs the approver and the
    complainant told."""
    lengths = list(move.ctx.config.deadlines["decision"].extensions)
    to = move.fields.get("to")
    if to not in lengths:
        allowed = " 或 ".join(str(n) for n in lengths)
        raise InvalidInput("to", f"延长至 {to} 日: 只能延长至 {allowed} 日(第十八条)")
    level = lengths.index(to) + 1
    current = int(move.case["extension_level"] or 0)
    if level <= current:
        raise Forbidden(
            f"处理期限已延长至 {lengths[current - 1]} 日, 不能再延长至 {to} 日(第十八条)"
        )
    if level == len(lengths):
        for name in ("approver", "complainant_told"):
            if not move.fields.get(name):
                raise InvalidInput(
                    name,
                    f"延长至 {to} 日须填写 {name}: 上级机构或总公司高级管理人员审批, "
                    "并告知投诉人(第十八条)",
                )
    return {"extension_level": level}


@effect("raise_escalation_level")
def _raise_escalation_level(move: Move) -> dict[str, Any]:
    asked = move.fields.get("level")
    top = max((lv.level for lv in move.ctx.config.escalation), default=1)
    if asked is not None and not 1 <= int(asked) <= top:
        raise InvalidInput("level", f"升级级别应在 1 至 {top} 之间 (配置 escalation.levels)")
    level = max(move.case["escalation_level"] + 1, int(asked or 0))
    return {"escalation_level": level}


@effect("link_to_master")
def _link_to_master(move: Move) -> dict[str, Any]:
    """A repeat counted on its own (docs/rules.md §4) points at its matter's first complaint."""
    fields = move.fields
    master = records.load_case(move.conn, str(fields["master"]))
    repeat = {k: fields[k] for k in ("master", "previous", "matched_on") if k in fields}
    details = {**(move.case["details"] or {}), "repeat": repeat}
    return {"linked_to_id": master["id"], "details": details}


def merge_target(conn: Connection, case: ComplaintRow, into: str) -> ComplaintRow:
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
def _merge_into(move: Move) -> dict[str, Any]:
    return {"merged_into_id": merge_target(move.conn, move.case, move.fields["into"])["id"]}


# ---- Art. 20: which institution decided, and who may review it -------------------------------


@effect("record_decider")
def _record_decider(move: Move) -> dict[str, Any]:
    """The institution that made the decision (default: the one complained about); a decision
    by any institution below head office is a branch's and may be reviewed (Art. 20)."""
    tax = move.ctx.config.taxonomy
    given = move.fields.get("institution")
    decider = choice(given, tax.branches, "institution") if given else move.case["branch"]
    return {"decided_by": decider, "decided_by_branch": tax.level_of(decider) != "head_office"}


@effect("check_reviewer")
def _check_reviewer(move: Move) -> dict[str, Any]:
    """Art. 20: the review is made by an institution above the one that decided; the reviewer's
    institution is the acting user's. The same or a lower institution is refused."""
    tax = move.ctx.config.taxonomy
    decider = move.case["decided_by"] or move.case["branch"]
    reviewer = records.load_user(move.conn, move.actor)["branch"]
    if reviewer not in tax.above(decider):
        label = tax.branches.get
        raise Forbidden(
            f"核查须由作出决定的机构({label(decider, decider)})的上级机构作出, "
            f"{move.actor} 所在机构为{label(reviewer, reviewer)}(第二十条)"
        )
    return {"reviewed_by": reviewer}


# ---- Facts behind the priority, and the 舆情 plan (docs/rules.md §4) --------------------------


@effect("mark_media")
def _mark_media(move: Move) -> dict[str, Any]:
    if move.fields.get("assessor"):
        owner(
            move.conn,
            move.fields["assessor"],
            roles=(lc.Role.supervisor, lc.Role.committee),
            refusal="不是主管或消委会委员, 不能负责舆情风险评估",
            field="assessor",
            loaded=move.person,
        )
    return {"media_involved": True}


@effect("update_facts")
def _update_facts(move: Move) -> dict[str, Any]:
    fields = move.fields
    values: dict[str, Any] = {}
    if fields.get("group_size") is not None:  # the range registration takes, declared once
        values["group_size"] = integer(fields["group_size"], "group_size", *GROUP_SIZE)
    if fields.get("amount") not in (None, ""):
        values["amount"] = amount(fields["amount"])
    if fields.get("regulator_ref"):
        values["regulator_ref"] = str(fields["regulator_ref"]).strip()
        values["regulator_forwarded"] = True
    if fields.get("vulnerable"):
        values["vulnerable"] = True
    if not values:
        raise InvalidInput(
            "group_size", "至少填写一项要素: group_size、amount、regulator_ref 或 vulnerable"
        )
    return values


@effect("record_opinion_outcome")
def _record_opinion_outcome(move: Move) -> dict[str, Any]:
    """Completes the open risk-assessment task of the case's 舆情 plan with its outcome."""
    task = move.conn.execute(
        select(OPINION_TASK.c.id)
        .where(OPINION_TASK.c.complaint_id == move.case["id"], OPINION_TASK.c.status == "open")
        .order_by(OPINION_TASK.c.id)
    ).first()
    if task is None:
        raise Forbidden("该投诉没有待完成的舆情风险评估任务")
    move.conn.execute(
        update(OPINION_TASK)
        .where(OPINION_TASK.c.id == task.id)
        .values(
            status="done",
            outcome=move.fields["outcome"],
            done_at=to_db(move.at),
            done_by=move.actor,
        )
    )
    return {}


# ---- Art. 17: recusal ---------------------------------------------------------------------------


def _switch(raw: Mapping[str, Any], name: str, default: bool) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"recusal.{name}", "取值 true 或 false")
    return value


def _complained_about(conn: Connection, case: ComplaintRow) -> list[dict[str, Any]]:
    """The users who are the employee the complaint is about: the same staff number, or the
    same name where the complaint or the user gives no number."""
    number = (case["employee_no"] or "").strip()
    name = (case["employee_name"] or "").strip()
    if not number and not name:
        return []
    user = records.USER
    rows = conn.execute(
        select(user.c.username, user.c.name, user.c.team, user.c.employee_no).where(
            or_(
                user.c.employee_no == number if number else false(),
                user.c.name == name if name else false(),
            )
        )
    ).mappings()
    return [
        dict(r)
        for r in rows
        if (number and r["employee_no"] == number)
        or (r["name"] == name and not (number and r["employee_no"]))
    ]


def recusal(move: Move, username: str, who: str) -> None:
    """Art. 17: `username` (the owner or the investigator, `who`) may not be the employee the
    complaint is about, nor, with `[recusal] same_team`, in that employee's team; a supervisor
    may override it with a reason (`recusal_override`, kept in the event)."""
    raw = move.ctx.config.section("recusal")
    if not _switch(raw, "enabled", True):
        return
    case = move.case
    complained = _complained_about(move.conn, case)
    if not complained:
        return
    employee = case["employee_name"] or case["employee_no"]
    conflict = ""
    if any(r["username"] == username for r in complained):
        conflict = f"{who} {username} 即被投诉员工 {employee}"
    elif _switch(raw, "same_team", False):
        team = records.load_user(move.conn, username)["team"]
        if team and any(r["team"] == team for r in complained):
            conflict = f"{who} {username} 与被投诉员工 {employee} 同在「{team}」"
    if not conflict:
        return
    if not move.fields.get("recusal_override"):
        raise Forbidden(
            f"回避(第十七条): {conflict}; 请改由他人办理, "
            "或由主管以 --recusal-override 说明理由后办理"
        )
    role = lc.Role(records.load_user(move.conn, move.actor)["role"])
    if role not in lc.RECUSAL_ROLES:
        allowed = "、".join(r.label for r in lc.RECUSAL_ROLES)
        raise Forbidden(f"回避(第十七条): {conflict}; 回避例外须由{allowed}批准")


@effect("recuse_owner")
def _recuse_owner(move: Move) -> dict[str, Any]:
    recusal(move, str(move.fields["owner"]), "负责人")
    return {}


@effect("recuse_investigator")
def _recuse_investigator(move: Move) -> dict[str, Any]:
    recusal(move, move.actor, "调查人")
    return {}
