"""Idempotency keys (services/intake/idempotency.py) on SQLite and PostgreSQL: one claim wins
when two requests with one key arrive together, a finished key replays, another body is
refused, an expired key is claimed afresh."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.intake import idempotency
from states.errors import Conflict


def test_two_requests_with_one_key_at_once_make_one_claim(any_ctx, now):
    key = f"k-1-{uuid.uuid4().hex}"  # the PostgreSQL database lives for the session
    body = idempotency.request_hash({"name": "赵六"})
    outcomes: list[object] = []
    start = threading.Barrier(4)

    def attempt() -> None:
        start.wait()
        try:
            outcomes.append(
                idempotency.claim(any_ctx, username="clerk", key=key, body_hash=body, now=now)
            )
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(None) == 1
    assert all(isinstance(o, Conflict) and "处理中" in str(o) for o in outcomes if o is not None)


def test_a_finished_key_replays_refuses_another_body_and_expires(any_ctx, now):
    key = f"k-2-{uuid.uuid4().hex}"
    first = idempotency.request_hash({"a": 1, "b": [1, 2]})
    assert first == idempotency.request_hash({"b": [1, 2], "a": 1})
    assert idempotency.claim(any_ctx, username="clerk", key=key, body_hash=first, now=now) is None
    idempotency.finish(
        any_ctx,
        username="clerk",
        key=key,
        status_code=201,
        body={"number": "TS1"},
        number="TS1",
    )
    replay = idempotency.claim(any_ctx, username="clerk", key=key, body_hash=first, now=now)
    assert replay == idempotency.Replay(201, {"number": "TS1"})
    other = idempotency.request_hash({"a": 2})
    with pytest.raises(Conflict, match="另一内容"):
        idempotency.claim(any_ctx, username="clerk", key=key, body_hash=other, now=now)
    assert idempotency.claim(any_ctx, username="liaison", key=key, body_hash=other, now=now) is None
    later = now + timedelta(hours=24, seconds=1)
    assert idempotency.claim(any_ctx, username="clerk", key=key, body_hash=other, now=later) is None
    assert idempotency.purge(any_ctx, now=later + timedelta(hours=24, seconds=1)) >= 2
    with any_ctx.engine.connect() as conn:
        left = conn.execute(select(func.count()).where(idempotency.KEY.c.key == key)).scalar_one()
    assert left == 0


def test_a_released_claim_is_free_again(any_ctx, now):
    key = f"k-3-{uuid.uuid4().hex}"
    body = idempotency.request_hash({"x": 1})
    assert idempotency.claim(any_ctx, username="clerk", key=key, body_hash=body, now=now) is None
    idempotency.release(any_ctx, username="clerk", key=key)
    assert idempotency.claim(any_ctx, username="clerk", key=key, body_hash=body, now=now) is None
