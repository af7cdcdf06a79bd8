"""The rate budget of a rate-limited robot, shared by every dispatcher in every process.

WeCom and DingTalk group robots accept 20 messages a minute each and refuse the 21st (WeCom
errcode 45009). Spacing posts with a sleep in one dispatcher does not hold once two
dispatch runs overlap (the `notify-dispatch` deployment allows it), so the budget lives in the
database: each post takes a slot (`notify_rate_slot`), and a slot is granted only when the
robot has fewer than `per_window` slots within the last `window` seconds. Two dispatchers
asking at once are serialised by the transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
transaction-scoped advisory lock per robot) and the slots are timed by the database's clock on
PostgreSQL, so workers on several machines share one clock. The configured `per_window` keeps
a margin below the service's own limit (18 of 20 by default) for the time between taking a
slot and the post reaching the robot.

A dispatcher that gets no slot is told how long until one frees; it waits for it within its
lease or leaves the alert pending for the next pass: a throttled alert waits, never drops.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Engine

from storage.notifications import NotifyRateSlot
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

RateSlot = table_of(NotifyRateSlot)


@dataclass(frozen=True)
class Budget:
    per_window: int  # posts granted per window (below the service's limit, for a margin)
    window: float  # seconds

    def describe(self) -> str:
        return f"{self.per_window} 条/{self.window:g} 秒"


def _lock_key(channel_id: str) -> int:
    return int.from_bytes(hashlib.sha256(channel_id.encode()).digest()[:8], "big", signed=True)


def take(
    engine: Engine,
    channel_id: str,
    budget: Budget,
    *,
    posts: int = 1,
    clock: Callable[[], datetime] = utcnow,
) -> float:
    """Take `posts` slots of the robot's budget now. Returns 0.0 when they were taken, else
    the seconds until enough slots leave the window (nothing taken)."""
    posts = max(1, min(posts, budget.per_window))
    window = timedelta(seconds=budget.window)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(channel_id)})
            now = from_db(conn.execute(select(func.clock_timestamp())).scalar_one())
        else:
            now = clock()
        start = to_db(now - window)
        recent = [
            from_db(t)
            for t in conn.execute(
                select(RateSlot.c.taken_at)
                .where(RateSlot.c.channel_id == channel_id, RateSlot.c.taken_at > start)
                .order_by(RateSlot.c.taken_at)
            ).scalars()
        ]
        room = budget.per_window - len(recent)
        if room < posts:
            # The slot that must leave the window before `posts` slots are free.
            frees = recent[posts - room - 1] + window
            return max((frees - now).total_seconds(), 0.001)
        conn.execute(insert(RateSlot), [{"channel_id": channel_id, "taken_at": to_db(now)}] * posts)
        conn.execute(
            delete(RateSlot).where(
                RateSlot.c.channel_id == channel_id, RateSlot.c.taken_at <= start
            )
        )
    return 0.0
