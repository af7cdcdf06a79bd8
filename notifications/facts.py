"""What an alert says, as things are when it is sent.

An outbox payload is a copy made when the alert was queued; by the time it is sent (quiet
hours, a channel that was down, a retry) the case may have moved on: its state, its priority
(assessed at registration, raised later), its handler, a deadline extended (Art. 18) or paused.
The dispatcher therefore reads the case row and the named deadline at send time and lays them
over the payload; what only the payload knows (level, reason, meeting time, organisation)
stays. The weekly ledger summary gets its breakdowns by resolution class and branch and its
overdue count from the ledger as it is now. Who is @-mentioned comes from the user table.

With `[web] base_url` set, an alert about a case carries the case page's address
(`case_url`: `<base_url>/cases/<number>`, the number from the case row) for the templates to
link, and the daily digest links each case it lists (`case_base`); without it, or with a value
that is not an http(s) address, alerts carry none.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection

from notifications.routing import apprise_tag
from notifications.templates import LINKABLE, case_url
from services.context import Context
from storage.ledger import LedgerMatter
from storage.models import Complaint, Deadline, User
from storage.schema import table_of
from storage.timeutil import from_db

ComplaintTable = table_of(Complaint)
DeadlineTable = table_of(Deadline)
UserTable = table_of(User)
MatterTable = table_of(LedgerMatter)

K = TypeVar("K")

_CASE_FIELDS = ("number", "state", "priority", "owner", "branch", "media_involved")
log = logging.getLogger("tousu.notify")


def base_url(ctx: Context) -> str:
    """`[web] base_url` without its trailing slash; "" when unset or not an http(s) address
    (logged: a bad address costs the links, never the alerts)."""
    raw = str(ctx.config.section("web").get("base_url", "") or "").strip()
    if raw and not LINKABLE.fullmatch(raw):
        log.warning("[web] base_url 不是 http(s) 地址, 提醒不附案件链接")
        return ""
    return raw.rstrip("/")


def current_payloads(
    ctx: Context, alerts: Iterable[Mapping[str, Any]], now: datetime
) -> dict[int, dict[str, Any]]:
    """outbox id → payload with the case's current fields (alerts: outbox_id, kind,
    complaint_id, payload)."""
    alerts = list(alerts)
    case_ids = {a["complaint_id"] for a in alerts if a["complaint_id"]}
    base = base_url(ctx)
    tax = ctx.config.taxonomy
    out: dict[int, dict[str, Any]] = {}
    with ctx.engine.connect() as conn:
        cases = {
            r["id"]: dict(r)
            for r in conn.execute(
                select(
                    ComplaintTable.c.id,
                    ComplaintTable.c.category,
                    ComplaintTable.c.regulator_forwarded,
                    *(ComplaintTable.c[f] for f in _CASE_FIELDS),
                ).where(ComplaintTable.c.id.in_(case_ids))
            ).mappings()
        }
        deadlines: dict[tuple[int, str], Any] = {}
        if case_ids:
            for r in conn.execute(
                select(
                    DeadlineTable.c.complaint_id, DeadlineTable.c.name, DeadlineTable.c.due_at
                ).where(DeadlineTable.c.complaint_id.in_(case_ids))
            ).mappings():
                deadlines[(r["complaint_id"], r["name"])] = from_db(r["due_at"])
        owners = {c["owner"] for c in cases.values() if c["owner"]}
        names: dict[str, str] = {
            str(r.username): str(r.name)
            for r in conn.execute(
                select(UserTable.c.username, UserTable.c.name).where(
                    UserTable.c.username.in_(owners)
                )
            )
        }
        ledger: dict[str, Any] | None = None
        for a in alerts:
            payload = dict(a["payload"] or {})
            # links only ever from the case row (or the digest's rows) and [web] base_url
            payload.pop("case_url", None)
            payload.pop("case_base", None)
            case = cases.get(a["complaint_id"])
            if case is not None:
                if base and case["number"]:
                    payload["case_url"] = case_url(base, str(case["number"]))
                for f in _CASE_FIELDS:
                    payload[f] = case[f]
                payload["regulator_forwarded"] = bool(case["regulator_forwarded"])
                payload["owner_name"] = names.get(case["owner"] or "")
                payload["branch_label"] = tax.branches.get(case["branch"], case["branch"])
                if case["category"]:
                    payload["category_label"] = tax.categories.get(
                        case["category"], case["category"]
                    )
                name = payload.get("deadline") or payload.get("deadline_name")
                due = deadlines.get((case["id"], str(name))) if name else None
                if due is not None:
                    payload["due"] = due.isoformat()
            elif a["kind"] == "daily_digest" and base:
                payload["case_base"] = base
            elif a["kind"] == "ledger_weekly":
                if ledger is None:
                    ledger = _ledger_now(ctx, conn, now)
                payload.update(ledger)
            out[a["outbox_id"]] = payload
    return out


def _ledger_now(ctx: Context, conn: Connection, now: datetime) -> dict[str, Any]:
    tax = ctx.config.taxonomy
    rows = (
        conn.execute(
            select(
                MatterTable.c.resolution_class,
                MatterTable.c.first_received_at,
                ComplaintTable.c.branch,
            )
            .select_from(
                MatterTable.join(
                    ComplaintTable, ComplaintTable.c.id == MatterTable.c.master_complaint_id
                )
            )
            .where(MatterTable.c.status == "open")
        )
        .mappings()
        .all()
    )
    cutoff = now - timedelta(days=ctx.config.repeat.backlog_open_days)
    overdue = sum(1 for r in rows if from_db(r["first_received_at"]) <= cutoff)
    by_class = Counter(r["resolution_class"] or "" for r in rows)
    by_branch = Counter(r["branch"] for r in rows)
    return {
        "overdue": overdue,
        "by_class": dict(by_class.most_common()),
        "by_branch": [
            {"branch": b, "branch_label": tax.branches.get(b, b), "open": n}
            for b, n in by_branch.most_common(5)
        ],
    }


def _wanted(
    audience: str, payload: Mapping[str, Any], mentions: Mapping[str, tuple[str, ...]]
) -> tuple[list[str], list[str]]:
    """The usernames and user roles one audience of an alert mentions."""
    tag = apprise_tag(audience)
    usernames: list[str] = []
    roles: list[str] = []
    if tag.startswith("user-"):
        usernames.append(audience.strip()[5:])
    for who in mentions.get(tag, ()):
        if who == "owner":
            if payload.get("owner"):
                usernames.append(str(payload["owner"]))
        else:
            roles.append(who)
    return usernames, roles


def people(
    ctx: Context,
    wanted: Mapping[K, tuple[str, Mapping[str, Any]]],
    mentions: Mapping[str, tuple[str, ...]],
) -> dict[K, list[tuple[str, str | None]]]:
    """For each key's (audience, payload) of an alert, the people it is for, as (WeCom user
    id or "", work mobile or None): `user:<name>` is that user; otherwise
    `[notifications.mentions]` names "owner" (the case's handler) or user roles (active users
    of that role in the case's branch, else head office). One read of the user table for
    every key, each mobile decrypted once."""
    asks = {k: _wanted(audience, payload, mentions) for k, (audience, payload) in wanted.items()}
    all_names = {u for names, _ in asks.values() for u in names}
    all_roles = {r for _, roles in asks.values() for r in roles}
    out: dict[K, list[tuple[str, str | None]]] = {k: [] for k in wanted}
    if not all_names and not all_roles:
        return out
    with ctx.engine.connect() as conn:
        found = [
            dict(r)
            for r in conn.execute(
                select(
                    UserTable.c.username,
                    UserTable.c.role,
                    UserTable.c.branch,
                    UserTable.c.wecom_userid,
                    UserTable.c.mobile_token,
                )
                .where(
                    UserTable.c.active.is_(True),
                    UserTable.c.username.in_(all_names) | UserTable.c.role.in_(all_roles),
                )
                .order_by(UserTable.c.id)
            ).mappings()
        ]
    mobiles: dict[str, str | None] = {}
    for k, (usernames, roles) in asks.items():
        branch = wanted[k][1].get("branch") or "head_office"
        chosen = [u for u in found if u["username"] in usernames]
        for role in roles:
            of_role = [u for u in found if u["role"] == role]
            local = [u for u in of_role if u["branch"] == branch]
            chosen += local or [u for u in of_role if u["branch"] == "head_office"]
        seen: set[str] = set()
        for u in chosen:
            if u["username"] in seen:
                continue
            seen.add(u["username"])
            if u["wecom_userid"]:
                out[k].append((u["wecom_userid"], None))
            elif u["mobile_token"]:
                if u["username"] not in mobiles:
                    mobiles[u["username"]] = ctx.vault.decrypt(u["mobile_token"])
                out[k].append(("", mobiles[u["username"]]))
    return out
