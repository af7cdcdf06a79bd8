"""The repeat and backlog ledger (重复投诉与积案台账, docs/rules.md §4).

Owns: one matter per complainant matter (a master complaint plus every repeat merged into it
or linked to it), its named owner, resolution class, measures, status and 停访息诉 date; the
nightly refresh (backlog detection, counts, owners, joint consultation) and the weekly
summary to supervisors. Every change appends a `ledger_action` row (append-only).
Must not import cli/, flows/ or notifications/.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from services.automatic import consultation
from services.context import Context
from services.lifecycle import backlog, effects
from states import ledger as rules
from states import lifecycle as lc
from states.errors import Conflict, Forbidden, InvalidInput, NotFound
from states.validation import choice
from storage import records
from storage.ledger import LedgerAction, LedgerMatter, LedgerMember
from storage.records import COMPLAINT
from storage.rows import ComplaintRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

LEDGER_MATTER = table_of(LedgerMatter)
LEDGER_MEMBER = table_of(LedgerMember)
LEDGER_ACTION = table_of(LedgerAction)
EDITORS = (lc.Role.supervisor, lc.Role.committee)
# Who may be responsible for a ledger matter (the matter's 责任人).
LEDGER_OWNERS = (lc.Role.liaison, lc.Role.supervisor, lc.Role.coordinator)


def matter_code(matter_id: int) -> str:
    return f"TZ{matter_id:06d}"


def _parse_ref(ref: str | int) -> int:
    text = str(ref).upper().removeprefix("TZ")
    if not (text.isascii() and text.isdigit()) or len(text) > 9:  # ¹ is a digit to isdigit
        raise InvalidInput("matter", f"台账编号格式: TZ000001 或数字, 收到 {ref}")
    return int(text)


def _log(
    conn: Connection,
    matter_id: int,
    *,
    actor: str,
    kind: str,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    conn.execute(
        insert(LEDGER_ACTION).values(
            matter_id=matter_id,
            at=to_db(at or utcnow()),
            actor=actor,
            kind=kind,
            note=note,
            details=details or {},
        )
    )


def _section(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("ledger")
    consult = raw.get("consult", ["repeat", "backlog"])
    unknown = set(consult) - rules.MATTER_KINDS.keys()
    if unknown:
        raise InvalidInput("ledger.consult", f"未知台账类型 {sorted(unknown)}")
    return {
        "consult": list(consult),
        "default_owner": raw.get("default_owner", "") or None,
        "weekly_audience": raw.get("weekly_audience", "supervisors"),
        "export_dir": raw.get("export_dir", "data/reports"),
    }


def attach(
    ctx: Context,
    *,
    conn: Connection,
    master: ComplaintRow,
    member_id: int | None,
    relation: str,
    kind: str = "repeat",
    actor: str = "system",
    matched_on: tuple[str, ...] = (),
) -> int:
    """Put `member_id` (or only the master) in the master's matter, creating it if needed.

    `matched_on`: the keys that made it a repeat (identifiers first), kept on the member."""
    now = utcnow()
    row = (
        conn.execute(
            select(LEDGER_MATTER).where(LEDGER_MATTER.c.master_complaint_id == master["id"])
        )
        .mappings()
        .first()
    )
    if row is None:
        received = from_db(master["received_at"])
        matter_id = records.inserted_id(
            conn.execute(
                insert(LEDGER_MATTER).values(
                    master_complaint_id=master["id"],
                    complainant_hash=master["complainant_hash"],
                    kind=kind,
                    owner=master.get("owner") or _section(ctx)["default_owner"],
                    status="open",
                    complaint_count=1,
                    case_count=1,
                    regulator_count=int(bool(master["regulator_forwarded"])),
                    first_received_at=to_db(received),
                    last_received_at=to_db(received),
                    opened_at=to_db(now),
                    updated_at=to_db(now),
                    version=1,
                )
            )
        )
        conn.execute(
            insert(LEDGER_MEMBER).values(
                matter_id=matter_id,
                complaint_id=master["id"],
                relation="master",
                added_at=to_db(now),
            )
        )
        _log(
            conn,
            matter_id,
            actor=actor,
            kind="opened",
            note=f"纳入台账: {rules.MATTER_KINDS[kind]}",
            details={"master": master["number"]},
        )
    else:
        matter_id = int(row["id"])
        known = (
            member_id is None
            or member_id == master["id"]
            or conn.execute(
                select(LEDGER_MEMBER.c.id).where(LEDGER_MEMBER.c.complaint_id == member_id)
            ).first()
            is not None
        )
        if row["status"] == "resolved" and not known:
            # The complainant came back: the matter is not resolved any more.
            conn.execute(
                update(LEDGER_MATTER)
                .where(LEDGER_MATTER.c.id == matter_id)
                .values(status="open", stopped_on=None, version=LEDGER_MATTER.c.version + 1)
            )
            _log(
                conn,
                matter_id,
                actor=actor,
                kind="returned",
                note="投诉人再次投诉, 台账事项恢复为化解中",
            )
    if member_id is not None and member_id != master["id"]:
        exists = conn.execute(
            select(LEDGER_MEMBER.c.id).where(LEDGER_MEMBER.c.complaint_id == member_id)
        ).first()
        if exists is None:
            conn.execute(
                insert(LEDGER_MEMBER).values(
                    matter_id=matter_id,
                    complaint_id=member_id,
                    relation=relation,
                    added_at=to_db(now),
                    matched_on=",".join(matched_on) or None,
                )
            )
            number = conn.execute(
                select(COMPLAINT.c.number).where(COMPLAINT.c.id == member_id)
            ).scalar()
            why = f" (匹配依据: {rules.matched_label(matched_on)})" if matched_on else ""
            _log(
                conn,
                matter_id,
                actor=actor,
                kind="member_added",
                note=f"{rules.RELATIONS[relation]}: {number}{why}",
                details={"complaint": number, "relation": relation, "matched_on": list(matched_on)},
            )
    recount(conn, matter_id)
    return matter_id


def recount(conn: Connection, matter_id: int) -> dict[str, Any]:
    """Counts and dates from the members: merged repeats count as received, not as cases."""
    stats = conn.execute(
        select(
            func.count(),
            func.sum(sql_case((LEDGER_MEMBER.c.relation != "merged", 1), else_=0)),
            func.sum(sql_case((COMPLAINT.c.regulator_forwarded.is_(True), 1), else_=0)),
            func.min(COMPLAINT.c.received_at),
            func.max(COMPLAINT.c.received_at),
        )
        .select_from(LEDGER_MEMBER.join(COMPLAINT, COMPLAINT.c.id == LEDGER_MEMBER.c.complaint_id))
        .where(LEDGER_MEMBER.c.matter_id == matter_id)
    ).one()
    values = {
        "complaint_count": int(stats[0]),
        "case_count": int(stats[1] or 0),
        "regulator_count": int(stats[2] or 0),
        "first_received_at": to_db(from_db(stats[3])),
        "last_received_at": to_db(from_db(stats[4])),
        "updated_at": to_db(utcnow()),
    }
    conn.execute(update(LEDGER_MATTER).where(LEDGER_MATTER.c.id == matter_id).values(**values))
    return values


def refresh(ctx: Context, *, now: datetime | None = None) -> dict[str, Any]:
    """Nightly: find backlog, recount, fill owners, send due matters to joint consultation."""
    now = now or utcnow()
    rep = ctx.config.repeat
    backlog_new = matters = 0
    with ctx.engine.begin() as conn:
        # Unresolved handling only, by age or group size (the reports count the same).
        old_open = (
            conn.execute(select(COMPLAINT).where(backlog.condition(ctx, now))).mappings().all()
        )
        for row in old_open:
            master = records.master_of(conn, dict(row))
            before = conn.execute(
                select(LEDGER_MATTER.c.id, LEDGER_MATTER.c.kind).where(
                    LEDGER_MATTER.c.master_complaint_id == master["id"]
                )
            ).first()
            mid = attach(
                ctx,
                conn=conn,
                master=master,
                member_id=row["id"],
                relation="linked" if row["id"] != master["id"] else "master",
                kind="backlog",
            )
            if before is None or before.kind != "backlog":
                _set_kind(conn, mid, "backlog", backlog.why(ctx, dict(row), now))
                backlog_new += 1
        for matter in (
            conn.execute(select(LEDGER_MATTER).where(LEDGER_MATTER.c.status == "open"))
            .mappings()
            .all()
        ):
            matters += 1
            counts = recount(conn, matter["id"])
            if (
                matter["kind"] != "backlog"
                and counts["complaint_count"] >= rep.backlog_repeat_count
                and _unresolved_member(conn, matter["id"], now)
            ):
                _set_kind(
                    conn, matter["id"], "backlog", f"重复投诉 {counts['complaint_count']} 次未化解"
                )
                backlog_new += 1
            if not matter["owner"]:
                _fill_owner(ctx, matter["id"], conn=conn)
        consulted, consult_pending = _consult_due(ctx, now, conn=conn)
    return {
        "backlog_new": backlog_new,
        "matters": matters,
        "consulted": consulted,
        "consult_pending": consult_pending,
    }


def _unresolved_member(conn: Connection, matter_id: int, now: datetime) -> bool:
    """Whether any complaint of the matter is still unresolved (repeats 3 or more times
    "unresolved", docs/rules.md §4): a matter whose decisions were all notified is not."""
    return (
        conn.execute(
            select(LEDGER_MEMBER.c.complaint_id)
            .join(COMPLAINT, COMPLAINT.c.id == LEDGER_MEMBER.c.complaint_id)
            .where(LEDGER_MEMBER.c.matter_id == matter_id, backlog.unresolved_at(now))
            .limit(1)
        ).first()
        is not None
    )


def _set_kind(conn: Connection, matter_id: int, kind: str, why: str) -> None:
    conn.execute(
        update(LEDGER_MATTER)
        .where(LEDGER_MATTER.c.id == matter_id)
        .values(kind=kind, version=LEDGER_MATTER.c.version + 1)
    )
    _log(
        conn,
        matter_id,
        actor="system",
        kind="kind_changed",
        note=f"认定为{rules.MATTER_KINDS[kind]}: {why}",
        details={"kind": kind},
    )


def _fill_owner(ctx: Context, matter_id: int, *, conn: Connection) -> None:
    owner = (
        conn.execute(
            select(COMPLAINT.c.owner)
            .select_from(
                LEDGER_MEMBER.join(COMPLAINT, COMPLAINT.c.id == LEDGER_MEMBER.c.complaint_id)
            )
            .where(LEDGER_MEMBER.c.matter_id == matter_id, COMPLAINT.c.owner.is_not(None))
            .order_by(COMPLAINT.c.received_at.desc())
            .limit(1)
        ).scalar()
        or _section(ctx)["default_owner"]
    )
    if owner:
        conn.execute(
            update(LEDGER_MATTER).where(LEDGER_MATTER.c.id == matter_id).values(owner=owner)
        )
        _log(
            conn,
            matter_id,
            actor="system",
            kind="owner_changed",
            note=f"责任人: {owner}",
            details={"owner": owner},
        )


def _consult_due(ctx: Context, now: datetime, *, conn: Connection) -> tuple[list[str], int]:
    """Difficult and repeat complaints go to joint consultation (会商, docs/rules.md §4)."""
    kinds = _section(ctx)["consult"]
    sources = {s.value for s in lc.action("consult").sources}
    done, pending = [], 0
    due = (
        conn.execute(
            select(LEDGER_MATTER).where(
                LEDGER_MATTER.c.status == "open",
                LEDGER_MATTER.c.kind.in_(kinds),
                LEDGER_MATTER.c.consulted_at.is_(None),
            )
        )
        .mappings()
        .all()
    )
    for matter in due:
        case = conn.execute(
            select(COMPLAINT.c.id, COMPLAINT.c.number, COMPLAINT.c.state)
            .select_from(
                LEDGER_MEMBER.join(COMPLAINT, COMPLAINT.c.id == LEDGER_MEMBER.c.complaint_id)
            )
            .where(
                LEDGER_MEMBER.c.matter_id == matter["id"], COMPLAINT.c.state.in_(sorted(sources))
            )
            .order_by(COMPLAINT.c.received_at.desc())
            .limit(1)
        ).first()
        if case is None:
            pending += 1  # no member case can be consulted yet (e.g. not accepted)
            continue
        reason = (
            f"台账事项 {matter_code(matter['id'])}({rules.MATTER_KINDS[matter['kind']]}"
            f", 共 {matter['complaint_count']} 次投诉)提请会商"
        )
        consultation.convene_for(
            ctx,
            case.number,
            reason,
            reason_code=matter["kind"],
            key=matter_code(matter["id"]),
            conn=conn,
        )
        conn.execute(
            update(LEDGER_MATTER)
            .where(LEDGER_MATTER.c.id == matter["id"])
            .values(consulted_at=to_db(now))
        )
        _log(
            conn,
            matter["id"],
            actor="system",
            kind="consultation",
            note=f"{case.number} 提请会商",
            details={"complaint": case.number},
        )
        done.append(case.number)
    return done, pending


def weekly_summary(ctx: Context, *, now: datetime | None = None) -> dict[str, Any]:
    """Queue the weekly ledger summary for supervisors (one per ISO week, deduplicated)."""
    now = now or utcnow()
    week_ago = now - timedelta(days=7)
    with ctx.engine.begin() as conn:
        rows = conn.execute(select(LEDGER_MATTER)).mappings().all()
        open_rows = [r for r in rows if r["status"] == "open"]
        payload = {
            "open": len(open_rows),
            "by_kind": {k: sum(1 for r in open_rows if r["kind"] == k) for k in rules.MATTER_KINDS},
            "new_this_week": sum(1 for r in rows if from_db(r["opened_at"]) >= week_ago),
            "resolved_this_week": sum(
                1
                for r in rows
                if r["status"] == "resolved" and from_db(r["updated_at"]) >= week_ago
            ),
            "unowned": sum(1 for r in open_rows if not r["owner"]),
            "regulator_items": sum(r["regulator_count"] for r in open_rows),
            "top": [
                {
                    "matter": matter_code(r["id"]),
                    "owner": r["owner"],
                    "complaints": r["complaint_count"],
                    "kind": r["kind"],
                }
                for r in sorted(open_rows, key=lambda r: -r["complaint_count"])[:10]
            ],
        }
        year, week, _ = now.astimezone(ctx.tz).isocalendar()
        payload["week"] = f"{year}-W{week:02d}"
        queued = records.enqueue_alert(
            conn,
            dedupe_key=f"ledger_weekly:{payload['week']}",
            kind="ledger_weekly",
            audience=_section(ctx)["weekly_audience"],
            complaint_id=None,
            event_id=None,
            payload=payload,
            urgent=False,
            now=now,
        )
    return {**payload, "queued": queued}


def _matter_row(conn: Connection, row: Any) -> dict[str, Any]:
    out = dict(row)
    out["code"] = matter_code(row["id"])
    out["master"] = conn.execute(
        select(COMPLAINT.c.number).where(COMPLAINT.c.id == row["master_complaint_id"])
    ).scalar()
    return out


def list_matters(
    ctx: Context, *, status: str | None = None, kind: str | None = None, owner: str | None = None
) -> list[dict[str, Any]]:
    stmt = select(LEDGER_MATTER).order_by(LEDGER_MATTER.c.last_received_at.desc())
    if status:  # a filter that matches nothing by its spelling is refused, not ignored
        status = choice(status, rules.MATTER_STATUSES, "status")
        stmt = stmt.where(LEDGER_MATTER.c.status == status)
    if kind:
        kind = choice(kind, rules.MATTER_KINDS, "kind")
        stmt = stmt.where(LEDGER_MATTER.c.kind == kind)
    if owner:
        stmt = stmt.where(LEDGER_MATTER.c.owner == owner)
    with ctx.engine.connect() as conn:
        return [_matter_row(conn, r) for r in conn.execute(stmt).mappings().all()]


def show(ctx: Context, ref: str | int) -> dict[str, Any]:
    """A matter, its complaints (oldest first) and its actions (in order)."""
    mid = _parse_ref(ref)
    with ctx.engine.connect() as conn:
        row = (
            conn.execute(select(LEDGER_MATTER).where(LEDGER_MATTER.c.id == mid)).mappings().first()
        )
        if row is None:
            raise NotFound(f"台账事项 {ref} 不存在")
        members = (
            conn.execute(
                select(
                    LEDGER_MEMBER.c.relation,
                    LEDGER_MEMBER.c.matched_on,
                    COMPLAINT.c.number,
                    COMPLAINT.c.state,
                    COMPLAINT.c.received_at,
                    COMPLAINT.c.channel,
                    COMPLAINT.c.regulator_forwarded,
                    COMPLAINT.c.regulator_ref,
                    COMPLAINT.c.owner,
                )
                .select_from(
                    LEDGER_MEMBER.join(COMPLAINT, COMPLAINT.c.id == LEDGER_MEMBER.c.complaint_id)
                )
                .where(LEDGER_MEMBER.c.matter_id == mid)
                .order_by(COMPLAINT.c.received_at)
            )
            .mappings()
            .all()
        )
        acts = (
            conn.execute(
                select(LEDGER_ACTION)
                .where(LEDGER_ACTION.c.matter_id == mid)
                .order_by(LEDGER_ACTION.c.id)
            )
            .mappings()
            .all()
        )
        return {
            "matter": _matter_row(conn, row),
            "members": [dict(m) for m in members],
            "actions": [dict(a) for a in acts],
        }


def update_matter(
    ctx: Context,
    ref: str | int,
    *,
    actor: str,
    owner: str | None = None,
    resolution_class: str | None = None,
    status: str | None = None,
    stopped_on: date | None = None,
    measure: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Change a matter; supervisors, committee members and the matter's owner may."""
    mid = _parse_ref(ref)
    now = utcnow()
    with ctx.engine.begin() as conn:
        row, editor = _matter_for_editing(conn, mid, ref, actor, expected_version)
        values, changes = _matter_changes(
            conn,
            row,
            owner=owner,
            resolution_class=resolution_class,
            status=status,
            stopped_on=stopped_on,
            measure=measure,
            note=note,
            today=now.astimezone(ctx.tz).date(),
        )
        _apply_matter_changes(conn, row, values, changes, actor=editor, at=now)
    return show(ctx, mid)


# A change to a matter as its ledger_action row records it: (kind, note, details).
_Change = tuple[str, str, dict[str, Any]]


def _matter_for_editing(
    conn: Connection, mid: int, ref: str | int, actor: str, expected_version: int | None
) -> tuple[RowMapping, str]:
    """The matter's row and the editor's username, once the actor may edit the matter at the
    version they saw."""
    row = conn.execute(select(LEDGER_MATTER).where(LEDGER_MATTER.c.id == mid)).mappings().first()
    if row is None:
        raise NotFound(f"台账事项 {ref} 不存在")
    user = records.load_user(conn, actor)
    if lc.Role(user["role"]) not in EDITORS and row["owner"] != user["username"]:
        raise Forbidden("只有主管、消委会委员或该台账责任人可以更新台账")
    if expected_version is not None and expected_version != row["version"]:
        raise Conflict(f"台账事项 {matter_code(mid)} 已被他人修改, 请刷新后重试")
    return row, user["username"]


def _one_of(value: str, choices: dict[str, str], field: str, label: str) -> None:
    """Refuse a value that is not a key of `choices`, listing them as key(label)."""
    if value not in choices:
        raise InvalidInput(
            field, f"{label}取值: " + ", ".join(f"{k}({v})" for k, v in choices.items())
        )


def _matter_changes(
    conn: Connection,
    row: RowMapping,
    *,
    owner: str | None,
    resolution_class: str | None,
    status: str | None,
    stopped_on: date | None,
    measure: str | None,
    note: str | None,
    today: date,
) -> tuple[dict[str, Any], list[_Change]]:
    """Validate the requested changes, in order, and return the column values to set and the
    ledger_action rows to append; InvalidInput when a value is refused or nothing changes."""
    values: dict[str, Any] = {}
    changes: list[_Change] = []
    if owner is not None and owner != row["owner"]:
        values["owner"] = effects.owner(
            conn, owner, roles=LEDGER_OWNERS, refusal="的角色不能担任台账责任人"
        )
        changes.append(
            ("owner_changed", f"责任人: {row['owner'] or '未指定'} → {owner}", {"owner": owner})
        )
    if resolution_class is not None:
        _one_of(resolution_class, rules.RESOLUTION_CLASSES, "class", "化解分类")
        values["resolution_class"] = resolution_class
        changes.append(
            (
                "class_changed",
                f"化解分类: {rules.RESOLUTION_CLASSES[resolution_class]}",
                {"class": resolution_class},
            )
        )
    if stopped_on is not None:
        if stopped_on > today:
            raise InvalidInput("stopped_on", "停访息诉日期不能晚于今天")
        values["stopped_on"] = stopped_on
        changes.append(
            (
                "stopped",
                f"停访息诉: {stopped_on.isoformat()}",
                {"stopped_on": stopped_on.isoformat()},
            )
        )
    if status is not None:
        _one_of(status, rules.MATTER_STATUSES, "status", "状态")
        if status == "resolved" and not (resolution_class or row["resolution_class"]):
            raise InvalidInput("class", "标记已化解前须先确定化解分类")
        values["status"] = status
        changes.append(
            ("status_changed", f"状态: {rules.MATTER_STATUSES[status]}", {"status": status})
        )
    if measure is not None:
        _one_of(measure, rules.MEASURES, "measure", "化解措施")
        if not note:
            raise InvalidInput("note", "记录化解措施须填写说明")
        changes.append(("measure", f"{rules.MEASURES[measure]}: {note}", {"measure": measure}))
    elif note:
        changes.append(("note", note, {}))
    if not changes:
        raise InvalidInput("update", "没有要更新的内容")
    return values, changes


def _apply_matter_changes(
    conn: Connection,
    row: RowMapping,
    values: dict[str, Any],
    changes: list[_Change],
    *,
    actor: str,
    at: datetime,
) -> None:
    """Write the values at the next version (Conflict if someone else wrote first), then log
    each change."""
    mid = row["id"]
    if values:
        values.update(version=row["version"] + 1, updated_at=to_db(at))
        done = conn.execute(
            update(LEDGER_MATTER)
            .where(LEDGER_MATTER.c.id == mid, LEDGER_MATTER.c.version == row["version"])
            .values(**values)
        )
        if done.rowcount != 1:
            raise Conflict(f"台账事项 {matter_code(mid)} 已被他人修改, 请刷新后重试")
    for kind, text, details in changes:
        _log(conn, mid, actor=actor, kind=kind, note=text, details=details, at=at)


def add_for_complaint(ctx: Context, cid: int, *, conn: Connection, kind: str, why: str) -> int:
    """Put a complaint's matter in the ledger (e.g. a dissatisfied callback)."""
    case = records.load_case_by_id(conn, cid)
    master = records.master_of(conn, case)
    mid = attach(
        ctx,
        conn=conn,
        master=master,
        member_id=cid,
        relation="master" if master["id"] == cid else "linked",
        kind=kind,
    )
    _log(conn, mid, actor="system", kind="note", note=why, details={"complaint": case["number"]})
    return mid
