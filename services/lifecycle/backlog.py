"""Backlog (积案, docs/rules.md §4): which complaints count, one definition for the nightly
ledger refresh (services/automatic/ledger.py) and the reports (services/reporting/reports.py).

A complaint is backlog at an instant when its handling is unresolved then and either it was
received more than `[repeat] backlog_open_days` days before, or it is a group complaint
(涉及人数多) of at least `backlog_group_size` people received more than
`backlog_group_open_days` days before. Unresolved means not ended and no decision notified:
a case decided and notified but not yet closed waits for its closure follow-through (the
`closure` deadline), it is not backlog. Days are counted to the local midnight, as the
ledger always has.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlalchemy.sql import ColumnElement

from services.context import Context
from states import lifecycle as lc
from states.ledger import local_midnight
from storage.records import COMPLAINT
from storage.timeutil import to_db

# States in which handling is unresolved: open, and no decision notified (or a notified one
# is being reviewed, reopened or mediated again).
UNRESOLVED: tuple[lc.State, ...] = tuple(s for s in lc.OPEN if s is not lc.State.notified)


def _days_before(ctx: Context, at: datetime, days: int) -> datetime:
    return local_midnight(at.astimezone(ctx.tz).date() - timedelta(days=days), ctx.tz)


def unresolved_at(at: datetime) -> ColumnElement[bool]:
    """Handling not resolved at `at`: not ended by then, and no decision notified by then
    unless the case is back in handling now."""
    c = COMPLAINT.c
    return and_(
        c.received_at < to_db(at),
        or_(c.closed_at.is_(None), c.closed_at >= to_db(at)),
        or_(
            c.notified_at.is_(None),
            c.notified_at >= to_db(at),
            c.state.in_([s.value for s in UNRESOLVED]),
        ),
    )


def condition(ctx: Context, at: datetime) -> ColumnElement[bool]:
    """The complaints that are backlog at `at` (a WHERE clause on `complaint`)."""
    rep = ctx.config.repeat
    c = COMPLAINT.c
    return and_(
        unresolved_at(at),
        or_(
            c.received_at < to_db(_days_before(ctx, at, rep.backlog_open_days)),
            and_(
                c.group_size >= rep.backlog_group_size,
                c.received_at < to_db(_days_before(ctx, at, rep.backlog_group_open_days)),
            ),
        ),
    )


def why(ctx: Context, row: dict[str, object], at: datetime) -> str:
    """The reason a backlog complaint counts (zh-CN), for the ledger's record."""
    rep = ctx.config.repeat
    received = row["received_at"]
    assert isinstance(received, datetime)
    if received < _days_before(ctx, at, rep.backlog_open_days):
        return f"超过 {rep.backlog_open_days} 日未化解"
    return f"涉及 {row['group_size']} 人的群体投诉超过 {rep.backlog_group_open_days} 日未化解"
