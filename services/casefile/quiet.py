"""How long open cases have gone without a contact with the complainant (the queue's
"N 天未联系", Art. 17: communicate in time).

Read with lightweight `table()/column()` statements, like the queue itself
(services/lifecycle/queries.py), so that `tousu queue` does not pay for declaring the SQLModel
tables. The threshold is `[contact] quiet_days`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import column, func, select, table

from services.context import Context
from states import lifecycle as lc
from storage.db import read_only
from storage.timeutil import from_db, utcnow

_CONTACT = table("contact", column("complaint_id"), column("at"))


def threshold(ctx: Context) -> int:
    return int(ctx.config.section("contact").get("quiet_days", 3))


def last_contacts(ctx: Context, complaint_ids: Iterable[int]) -> dict[int, datetime]:
    """Each listed complaint's latest contact time (complaints never contacted are absent)."""
    ids = list(complaint_ids)
    if not ids:
        return {}
    with read_only(ctx.engine) as conn:
        rows = conn.execute(
            select(_CONTACT.c.complaint_id, func.max(_CONTACT.c.at))
            .where(_CONTACT.c.complaint_id.in_(ids))
            .group_by(_CONTACT.c.complaint_id)
        ).all()
    return {int(cid): from_db(at) for cid, at in rows}


def quiet_days(
    ctx: Context, items: Iterable[Mapping[str, Any]], *, now: datetime | None = None
) -> dict[int, int]:
    """For open cases (each with `id`, `state`, `received_at`, and `last_contact` when it
    was read with them): whole local days since the last contact, or since receipt when
    there was none, for the cases at or beyond the threshold only; finished cases never."""
    now = now or utcnow()
    least = threshold(ctx)
    if least <= 0:
        return {}
    open_states = {s.value for s in lc.OPEN}
    wanted = [i for i in items if i["state"] in open_states]
    if all("last_contact" in i for i in wanted):  # read with the items (the work queue's)
        last = {i["id"]: i["last_contact"] for i in wanted if i["last_contact"] is not None}
    else:
        last = last_contacts(ctx, [i["id"] for i in wanted])
    today = now.astimezone(ctx.tz).date()
    out: dict[int, int] = {}
    for item in wanted:
        since = last.get(item["id"]) or from_db(item["received_at"])
        if since is None:
            continue
        days = (today - _local_day(since, ctx.tz)).days
        if days >= least:
            out[item["id"]] = days
    return out


@lru_cache(maxsize=65536)
def _local_day(at: datetime, tz: Any) -> date:
    """The local date of an instant (a queue asks again for the same receipts and contacts
    on every view)."""
    return at.astimezone(tz).date()
