"""Idempotency keys of the HTTP API's registrations (`Idempotency-Key`, docs/web.md "接口").

A caller that retries `POST /api/v1/complaints` with the same key and the same body gets the
first response again (the same complaint number; nothing is registered twice). The same key
with another body is refused (Conflict, HTTP 409), as is a retry while the first request is
still being handled. Keys belong to one user and expire after `[api] idempotency_hours`.

The key is claimed (a row with status 0, unique per user and key) in a transaction of its own
before the registration, so two concurrent requests with one key cannot both register; the
response is stored when the registration is done, and the claim is dropped when it fails
(bad input registers nothing: the caller may correct the body and retry with the same key).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.context import Context
from states.errors import Conflict, InvalidInput
from storage.idempotency import IdempotencyKey
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

KEY = table_of(IdempotencyKey)
HEADER = "Idempotency-Key"
DEFAULT_HOURS = 24
MAX_KEY = 200


def settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("api")
    hours = raw.get("idempotency_hours", DEFAULT_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 24 * 90:
        raise InvalidInput("api.idempotency_hours", "幂等键有效时长应为 1 至 2160 小时")
    return {"idempotency_hours": float(hours)}


def check_key(key: str) -> str:
    """1 to 200 visible ASCII characters (a UUID is the usual choice)."""
    if not 0 < len(key) <= MAX_KEY or not all(33 <= ord(ch) <= 126 for ch in key):
        raise InvalidInput(HEADER, f"{HEADER} 应为 1 至 {MAX_KEY} 个可见 ASCII 字符 (如 UUID)")
    return key


def request_hash(body: Any) -> str:
    """SHA-256 of the body as canonical JSON (key order and spacing do not matter)."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def claim(
    ctx: Context, *, username: str, key: str, body_hash: str, now: datetime | None = None
) -> Replay | None:
    """None when this request is the key's first (the key is now claimed: `finish` or
    `release` it); the stored response when it is a retry of the same request."""
    key = check_key(key)
    now = now or utcnow()
    hours = settings(ctx)["idempotency_hours"]
    mine = (KEY.c.username == username) & (KEY.c.key == key)
    for _ in range(2):
        try:
            with ctx.transaction() as conn:
                conn.execute(delete(KEY).where(mine, KEY.c.expires_at <= to_db(now)))
                row = conn.execute(select(KEY).where(mine)).mappings().first()
                if row is None:
                    conn.execute(
                        insert(KEY).values(
                            username=username,
                            key=key,
                            request_hash=body_hash,
                            status_code=0,
                            created_at=to_db(now),
                            expires_at=to_db(now + timedelta(hours=hours)),
                        )
                    )
        except IntegrityError:
            continue  # another request claimed it at the same moment: read it again
        if row is None:
            return None
        if row["request_hash"] != body_hash:
            raise Conflict(
                f"{HEADER}「{key}」已用于另一内容的登记请求 "
                f"({from_db(row['created_at']):%Y-%m-%d %H:%M} UTC): 新的请求请使用新的键"
            )
        if not row["status_code"]:
            raise Conflict(f"使用 {HEADER}「{key}」的同一请求正在处理中, 请稍后重试")
        return Replay(int(row["status_code"]), json.loads(row["response"] or "{}"))
    raise Conflict(f"使用 {HEADER}「{key}」的同一请求正在处理中, 请稍后重试")


def finish(
    ctx: Context,
    *,
    username: str,
    key: str,
    status_code: int,
    body: dict[str, Any],
    number: str | None,
) -> None:
    """Store the response the first request got (`body` already JSON-ready)."""
    with ctx.transaction() as conn:
        conn.execute(
            update(KEY)
            .where(KEY.c.username == username, KEY.c.key == key)
            .values(
                status_code=status_code,
                response=json.dumps(body, ensure_ascii=False),
                complaint_number=number,
            )
        )


def release(ctx: Context, *, username: str, key: str) -> None:
    """Drop a claim whose request failed (nothing was registered)."""
    with ctx.transaction() as conn:
        conn.execute(
            delete(KEY).where(KEY.c.username == username, KEY.c.key == key, KEY.c.status_code == 0)
        )


def purge(ctx: Context, *, now: datetime | None = None) -> int:
    """Delete every expired key; returns how many."""
    with ctx.transaction() as conn:
        done = conn.execute(delete(KEY).where(KEY.c.expires_at <= to_db(now or utcnow())))
        return int(done.rowcount or 0)
