"""Rectification (整改台账, 以案促改, docs/rules.md §4): items opened from a case's root cause.

Owns: adding an item (what, owning department, due date), updating it (status, due date,
evidence of completion), listing items, the overdue ladder the deadline sweep runs (`sweep`:
each rung of `[[rectification.ladder]]` acted on once per item, one `rectify_overdue` event
by the system actor and outbox alerts in one transaction), and the completion rate
(整改完成率) by department and by branch against `[rectification] target_rate`.

Due dates are local dates: an item due on 2026-12-31 is overdue from 2027-01-01 00:00 in the
configured zone. The rate over a period: of the items due by the period's end (cancelled ones
left out), the share done by then.

Must not import cli/, flows/, notifications/ or services/automatic/.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from services.casefile import history
from services.context import Context
from states import casefile as cf
from states import lifecycle as lc
from states.errors import InvalidInput, NotFound
from storage import records
from storage.db import read_only
from storage.rectification import RectificationItem
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

ITEM = table_of(RectificationItem)
EDITORS = (lc.Role.liaison, lc.Role.coordinator, lc.Role.supervisor, lc.Role.committee)
READERS = (
    lc.Role.intake_clerk,
    lc.Role.investigator,
    lc.Role.coordinator,
    lc.Role.liaison,
    lc.Role.supervisor,
    lc.Role.committee,
)
SYSTEM = "system"
TEXT_MAX = 2000


def settings(ctx: Context) -> dict[str, Any]:
    from config import ConfigError

    raw = ctx.config.section("rectification")
    departments = raw.get("departments") or ctx.config.section("consultation").get(
        "department_labels", {}
    )
    try:
        rungs = [
            cf.Rung(
                level=int(r["level"]),
                after_days=int(r.get("after_days", 0)),
                to=str(r["to"]),
                label=str(r.get("label", "整改逾期")),
            )
            for r in raw.get("ladder", [])
        ]
        target = float(raw.get("target_rate", 0.95))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"配置 [rectification] 无效: {exc}") from exc
    if not 0 < target <= 1:
        raise ConfigError(f"配置 [rectification] target_rate 须在 0 与 1 之间: {target}")
    return {
        "departments": dict(departments),
        "target_rate": target,
        "ladder": sorted(rungs, key=lambda r: r.level),
        "default_due_days": int(raw.get("default_due_days", 30)),
    }


def due_at_of(ctx: Context, due: date) -> datetime:
    """The moment an item due on local date `due` becomes overdue: the next local midnight."""
    return datetime.combine(due + timedelta(days=1), time(0), ctx.tz)


def due_on(ctx: Context, due_at: datetime) -> date:
    return (due_at.astimezone(ctx.tz) - timedelta(microseconds=1)).date()


def _text(value: str | None, field: str, label: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(field, f"须填写{label}")
        return None
    if len(text) > TEXT_MAX:
        raise InvalidInput(field, f"{label}不超过 {TEXT_MAX} 字")
    return text


def _department(ctx: Context, value: str) -> str:
    departments = settings(ctx)["departments"]
    if value in departments:
        return value
    for code, label in departments.items():
        if value == label:
            return str(code)
    choices = ", ".join(f"{k}({v})" for k, v in departments.items())
    raise InvalidInput("department", f"责任部门取值: {choices}")


def _view(ctx: Context, row: Any, number: str | None = None) -> dict[str, Any]:
    out = dict(row)
    for key in ("due_at", "completed_at", "created_at", "updated_at"):
        out[key] = from_db(out[key])
    out["due_on"] = due_on(ctx, out["due_at"])
    if number is not None:
        out["number"] = number
    return out


def add(
    ctx: Context,
    number: str,
    *,
    actor: str,
    what: str,
    department: str,
    due: date | None = None,
    root_cause: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Open one rectification item on complaint `number`; due by default
    `[rectification] default_due_days` days from today."""
    now = now or utcnow()
    text = _text(what, "what", "整改事项", required=True)
    cause = _text(root_cause, "root_cause", "问题根源", required=False)
    dept = _department(ctx, department)
    today = now.astimezone(ctx.tz).date()
    if due is None:
        due = today + timedelta(days=settings(ctx)["default_due_days"])
    elif due < today:
        raise InvalidInput("due", f"整改期限 {due.isoformat()} 早于今天")
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, EDITORS, "新增整改事项")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        values = {
            "complaint_id": case["id"],
            "what": text,
            "root_cause": cause,
            "department": dept,
            "branch": case["branch"],
            "due_at": to_db(due_at_of(ctx, due)),
            "status": cf.OPEN_ITEM,
            "ladder_level": 0,
            "created_by": user["username"],
            "created_at": to_db(now),
            "updated_at": to_db(now),
        }
        item_id = records.inserted_id(conn.execute(insert(ITEM).values(values)))
        history.append(
            conn,
            case,
            actor=user["username"],
            role=user["role"],
            action=cf.RECTIFY_ADD,
            at=now,
            now=now,
            reason=f"整改事项 #{item_id}: {text} (责任部门 {settings(ctx)['departments'][dept]}, "
            f"期限 {due.isoformat()})",
            details={"item_id": item_id, "department": dept, "due": due.isoformat()},
        )
        row = conn.execute(select(ITEM).where(ITEM.c.id == item_id)).mappings().one()
    return _view(ctx, row, number)


def update_item(
    ctx: Context,
    item_id: int,
    *,
    actor: str,
    status: str | None = None,
    due: date | None = None,
    evidence: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move an item (待整改/整改中/已完成/已撤销), change its due date or add evidence of
    completion; done needs evidence. A new due date starts the ladder afresh."""
    now = now or utcnow()
    proof = _text(evidence, "evidence", "整改完成证明", required=False)
    remark = _text(note, "note", "说明", required=False)
    if status is not None and status not in cf.ITEM_STATUSES:
        choices = ", ".join(f"{k}({v})" for k, v in cf.ITEM_STATUSES.items())
        raise InvalidInput("status", f"整改状态取值: {choices}")
    if status is None and due is None and proof is None and remark is None:
        raise InvalidInput("status", "须至少指定 --status、--due、--evidence 或 --note 之一")
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, EDITORS, "更新整改事项")
        row = conn.execute(select(ITEM).where(ITEM.c.id == item_id)).mappings().first()
        if row is None:
            raise NotFound(f"整改事项 #{item_id} 不存在")
        case = records.load_case_by_id(conn, row["complaint_id"])
        history.in_scope(ctx, conn, case, user)
        current = row["status"]
        to = status or current
        if not cf.may_move(current, to):
            raise InvalidInput(
                "status",
                f"整改事项 #{item_id} 当前为{cf.ITEM_STATUSES[current]}, "
                f"不能改为{cf.ITEM_STATUSES[to]}",
            )
        values: dict[str, Any] = {"status": to, "updated_at": to_db(now)}
        if proof is not None:
            values["completion_evidence"] = proof
        if to == cf.DONE and not (proof or row["completion_evidence"]):
            raise InvalidInput("evidence", "标记已完成须提供整改完成证明 (--evidence)")
        if to == cf.DONE and current != cf.DONE:
            values["completed_at"] = to_db(now)
        elif to != cf.DONE:
            values["completed_at"] = None
        if due is not None:
            if due < now.astimezone(ctx.tz).date():
                raise InvalidInput("due", f"整改期限 {due.isoformat()} 早于今天")
            values["due_at"] = to_db(due_at_of(ctx, due))
            values["ladder_level"] = 0
        conn.execute(update(ITEM).where(ITEM.c.id == item_id).values(values))
        changes = []
        if to != current:
            changes.append(f"{cf.ITEM_STATUSES[current]} → {cf.ITEM_STATUSES[to]}")
        if due is not None:
            changes.append(f"期限改为 {due.isoformat()}")
        if proof is not None:
            changes.append(f"完成证明: {proof}")
        if remark is not None:
            changes.append(remark)
        history.append(
            conn,
            case,
            actor=user["username"],
            role=user["role"],
            action=cf.RECTIFY_UPDATE,
            at=now,
            now=now,
            reason=f"整改事项 #{item_id}: " + "; ".join(changes),
            details={
                "item_id": item_id,
                "from": current,
                "to": to,
                "due": due.isoformat() if due else None,
            },
        )
        new = conn.execute(select(ITEM).where(ITEM.c.id == item_id)).mappings().one()
    return _view(ctx, new, case["number"])


def list_items(
    ctx: Context,
    *,
    actor: str,
    number: str | None = None,
    department: str | None = None,
    branch: str | None = None,
    statuses: list[str] | None = None,
    overdue: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    now = now or utcnow()
    with read_only(ctx.engine) as conn:
        user = history.acting_user(conn, actor, READERS, "查看整改台账")
        C = records.COMPLAINT
        query = select(ITEM, C.c.number).join(C, C.c.id == ITEM.c.complaint_id)
        if number is not None:
            case = records.load_case(conn, number)
            history.in_scope(ctx, conn, case, user)
            query = query.where(ITEM.c.complaint_id == case["id"])
        if department is not None:
            query = query.where(ITEM.c.department == _department(ctx, department))
        if branch is not None:
            query = query.where(ITEM.c.branch == branch)
        if statuses:
            bad = [s for s in statuses if s not in cf.ITEM_STATUSES]
            if bad:
                choices = ", ".join(f"{k}({v})" for k, v in cf.ITEM_STATUSES.items())
                raise InvalidInput("status", f"整改状态取值: {choices}")
            query = query.where(ITEM.c.status.in_(statuses))
        if overdue:
            query = query.where(
                ITEM.c.status.in_(sorted(cf.UNFINISHED)), ITEM.c.due_at <= to_db(now)
            )
        rows = conn.execute(query.order_by(ITEM.c.due_at, ITEM.c.id)).mappings().all()
    out = []
    for r in rows:
        item = _view(ctx, {k: v for k, v in r.items() if k != "number"}, r["number"])
        item["overdue"] = item["status"] in cf.UNFINISHED and item["due_at"] <= now
        out.append(item)
    return out


def summaries(ctx: Context, complaint_id: int) -> list[str]:
    """A case's items as one line each, for the five-dimension analysis (溯源整改)."""
    departments = settings(ctx)["departments"]
    with read_only(ctx.engine) as conn:
        rows = conn.execute(
            select(ITEM).where(ITEM.c.complaint_id == complaint_id).order_by(ITEM.c.id)
        ).mappings()
        return [
            f"整改事项 #{r['id']}: {r['what']} ({departments.get(r['department'], r['department'])}"
            f", 期限 {due_on(ctx, from_db(r['due_at'])).isoformat()}"
            f", {cf.ITEM_STATUSES.get(r['status'], r['status'])})"
            for r in rows
        ]


# ---- The overdue ladder (run by the deadline sweep, flows/sweep.py) ---------------------------


@dataclass
class LadderResult:
    checked: int = 0
    escalated: int = 0


def sweep(ctx: Context, *, now: datetime | None = None) -> LadderResult:
    """Every unfinished item past its due time climbs to the highest rung it has reached;
    each rung acted on once per item (the conditional update on `ladder_level`), however
    often or concurrently the sweep runs."""
    now = now or utcnow()
    rungs = settings(ctx)["ladder"]
    result = LadderResult()
    if not rungs:
        return result
    with ctx.transaction() as conn:
        due = (
            conn.execute(
                select(ITEM)
                .where(ITEM.c.status.in_(sorted(cf.UNFINISHED)), ITEM.c.due_at <= to_db(now))
                .order_by(ITEM.c.id)
            )
            .mappings()
            .all()
        )
        for row in due:
            result.checked += 1
            rung = cf.rung_due(rungs, from_db(row["due_at"]), now, row["ladder_level"])
            if rung is not None and _climb(ctx, conn, dict(row), rung, now):
                result.escalated += 1
    return result


def _climb(
    ctx: Context, conn: Connection, item: dict[str, Any], rung: cf.Rung, now: datetime
) -> bool:
    claimed = conn.execute(
        update(ITEM)
        .where(ITEM.c.id == item["id"], ITEM.c.ladder_level < rung.level)
        .values(ladder_level=rung.level)
    ).rowcount
    if claimed != 1:
        return False  # another sweep got there first
    case = records.load_case_by_id(conn, item["complaint_id"])
    due = due_on(ctx, from_db(item["due_at"]))
    dept = settings(ctx)["departments"].get(item["department"], item["department"])
    reason = f"{rung.label}: 整改事项 #{item['id']} ({dept}) 期限 {due.isoformat()} 已过"
    event_id = history.append(
        conn,
        case,
        actor=SYSTEM,
        role=lc.Role.system.value,
        action=cf.RECTIFY_OVERDUE,
        at=now,
        now=now,
        reason=reason,
        details={"item_id": item["id"], "level": rung.level, "to": rung.to},
    )
    records.enqueue_alert(
        conn,
        dedupe_key=f"rectify:{item['id']}:{item['due_at']}:{rung.level}:{rung.to}",
        kind="rectification_overdue",
        audience=f"role:{rung.to}",
        complaint_id=case["id"],
        event_id=event_id,
        payload={
            "number": case["number"],
            "title": rung.label,
            "reason": reason,
            "item_id": item["id"],
            "what": item["what"],
            "department": dept,
            "branch": item["branch"],
            "due": due.isoformat(),
            "level": rung.level,
            "audience_role": rung.to,
        },
        urgent=rung.level >= max(r.level for r in settings(ctx)["ladder"]),
        now=now,
    )
    return True


# ---- 整改完成率 -----------------------------------------------------------------------------


def completion(ctx: Context, *, start: datetime, end: datetime) -> dict[str, Any]:
    """整改完成率 by department and by branch for the items due within the period that ends
    at the local midnight `end` (due_at in (start, end]): done by `end` over due, cancelled
    items left out, each against `[rectification] target_rate`."""
    cfg = settings(ctx)
    with read_only(ctx.engine) as conn:
        rows = conn.execute(
            select(ITEM.c.department, ITEM.c.branch, ITEM.c.status, ITEM.c.completed_at).where(
                ITEM.c.due_at > to_db(start),
                ITEM.c.due_at <= to_db(end),
                ITEM.c.status != cf.CANCELLED,
            )
        ).all()
    tallies: dict[str, dict[str, list[int]]] = {
        "department": defaultdict(lambda: [0, 0]),
        "branch": defaultdict(lambda: [0, 0]),
    }
    total = [0, 0]
    for dept, branch, status, completed_at in rows:
        done = status == cf.DONE and completed_at is not None and from_db(completed_at) <= end
        for key, tally in (("department", dept), ("branch", branch)):
            tallies[key][tally][0] += 1
            tallies[key][tally][1] += done
        total[0] += 1
        total[1] += done
    target = cfg["target_rate"]

    def line(code: str, counts: list[int], labels: dict[str, str]) -> dict[str, Any]:
        rate = cf.completion_rate(counts[1], counts[0])
        return {
            "code": code,
            "label": labels.get(code, code),
            "due": counts[0],
            "done": counts[1],
            "rate": rate,
            "meets_target": rate is not None and rate >= target,
        }

    branches = ctx.config.taxonomy.branches
    return {
        "target_rate": target,
        "total": line("all", total, {"all": "合计"}),
        "by_department": [
            line(k, v, cfg["departments"]) for k, v in sorted(tallies["department"].items())
        ],
        "by_branch": [line(k, v, branches) for k, v in sorted(tallies["branch"].items())],
    }
