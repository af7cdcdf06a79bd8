"""The personal-data key: where it comes from, the check that it is the database's, and its
rotation (storage/vault.py does the cryptography, storage/key_check.py holds the checks).

- Keys come from TOUSU_KEY (comma-separated) or the key file (one per line); the first is
  the key that encrypts, the others only decrypt (older keys during and after a rotation).
  Nothing here ever creates a key silently: a missing, unreadable or malformed key is
  `KeyUnusable` (exit 6). `new_key_file` (`tousu key new`, `tousu db init`) is the one
  place a key is made.
- The database keeps a one-way fingerprint of each key it has known (`key_check`) and the
  match-hash key encrypted with it. A key whose fingerprint is not the database's current
  one is refused before anything is written with it. A database without a check (made
  before the check existed, or migrated without a key) gets one at first use, after the
  key has decrypted a stored value if there is one.
- `rotate` moves every encrypted value to a new key with MultiFernet, in batches of its
  own transaction each, recording how far it got: run it again to resume; evidence files
  are re-sealed before the old key is retired. The match-hash
  key does not change (it is carried over under the new key), so repeat detection and
  lookups keep finding earlier complaints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import column, func, insert, select, table, update
from sqlalchemy.engine import Connection

from config import Config
from states.errors import TousuError
from storage.timeutil import to_db, utcnow

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Engine

    from storage.vault import Vault


class Context(Protocol):
    """What this module needs of services.context.Context (which opens the vault through
    this module, so it is not imported here)."""

    config: Config
    engine: Engine

    def transaction(self) -> AbstractContextManager[Connection]: ...

    def reset_vault(self) -> None: ...


# What every command's start-up check reads, without the SQLModel tables (cli/main.py: a
# command like `tousu show` must not pay for importing them).
_CHECKS = table(
    "key_check", column("id"), column("fingerprint"), column("state"), column("hash_key_enc")
)


def _key_check() -> Any:
    from storage.key_check import KeyCheck
    from storage.schema import table_of

    return table_of(KeyCheck)


def encrypted_columns() -> dict[str, tuple[Any, tuple[str, ...]]]:
    """Every column holding a Fernet token (storage/models.py `Party`, `User`,
    storage/message.py `ComplainantEmail`): table name →
    (a lightweight table of its id and those columns, the columns)."""
    party = ("name_enc", "id_number_enc", "phone_enc", "address_enc", "legal_rep_enc")
    return {
        "party": (table("party", column("id"), *(column(c) for c in party)), party),
        "user": (table("user", column("id"), column("mobile_token")), ("mobile_token",)),
        # The complainant's e-mail for messages (storage/message.py).
        "complainant_email": (
            table("complainant_email", column("id"), column("email_enc")),
            ("email_enc",),
        ),
    }


class KeyUnusable(TousuError):
    """The personal-data key is absent, unreadable, malformed or not this database's."""

    exit_code = 6


@dataclass(frozen=True)
class Keys:
    keys: tuple[bytes, ...]  # the first encrypts; all decrypt
    source: str  # "TOUSU_KEY" or the key file's path

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(fingerprint(k) for k in self.keys)


def fingerprint(key: bytes) -> str:
    """A one-way check value of a key (reveals nothing of it)."""
    return hashlib.sha256(b"tousu-key-check:" + base64.urlsafe_b64decode(key)).hexdigest()[:32]


def _parse(text: str, source: str) -> tuple[bytes, ...]:
    found = []
    for n, part in enumerate((p.strip() for p in text.replace(",", "\n").splitlines()), 1):
        if not part or part.startswith("#"):
            continue
        try:
            raw = base64.urlsafe_b64decode(part.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            raise KeyUnusable(
                f"个人信息密钥格式错误 ({source} 第 {n} 个): 应为 32 字节的 urlsafe base64 "
                "(tousu key new 生成)"
            )
        found.append(part.encode("ascii"))
    if not found:
        raise KeyUnusable(f"个人信息密钥为空 ({source})")
    return tuple(found)


def read_keys(config: Config) -> Keys:
    """The configured keys; KeyUnusable when absent, unreadable or malformed. Never creates."""
    if config.key:
        return Keys(_parse(config.key, "TOUSU_KEY"), "TOUSU_KEY")
    path = config.key_file
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyUnusable(
            f"找不到个人信息密钥: 未设置 TOUSU_KEY, 密钥文件 {path} 不存在。新建数据库请运行 "
            "tousu db init (或 tousu key new); 已有数据请找回原密钥, 新密钥无法解密已有数据"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyUnusable(f"无法读取个人信息密钥文件 {path}: {type(exc).__name__}") from None
    return Keys(_parse(text, str(path)), str(path))


def write_key_file(path: Path, keys: Sequence[bytes], *, replace: bool = False) -> None:
    """The key file with mode 0600 (written beside and renamed when replacing)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = b"".join(k + b"\n" for k in keys)
    target = path.with_name(path.name + ".new") if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    if replace:
        os.replace(target, path)


def new_key() -> bytes:
    return base64.urlsafe_b64encode(os.urandom(32))


def new_key_file(config: Config) -> Path:
    """Create the key file with a fresh key; refused when one exists (it may be in use)."""
    path = config.key_file
    if config.key:
        raise KeyUnusable("已设置 TOUSU_KEY: 密钥由环境提供, 不生成密钥文件")
    if path.exists():
        raise KeyUnusable(f"密钥文件已存在: {path} (不会覆盖; 轮换密钥请用 tousu key rotate)")
    write_key_file(path, [new_key()])
    return path


# ---- The check -------------------------------------------------------------------------------


def _rows(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(select(_CHECKS).where(_CHECKS.c.state != "retired")).mappings()
    ]


def _sample_token(conn: Connection) -> str | None:
    for found, columns in encrypted_columns().values():
        for col in columns:
            token = conn.execute(
                select(found.c[col]).where(found.c[col].is_not(None)).limit(1)
            ).scalar()
            if token:
                return str(token)
    return None


def _legacy_hash_key(key: bytes) -> bytes:
    """The match-hash key as it was derived before the check existed (storage/vault.py)."""
    return hashlib.sha256(b"tousu-match:" + base64.urlsafe_b64decode(key)).digest()


def _mismatch(keys: Keys, known: Iterable[str]) -> KeyUnusable:
    return KeyUnusable(
        f"个人信息密钥与数据库不匹配 (密钥来自 {keys.source}, 指纹 {keys.fingerprints[0][:8]}…; "
        f"数据库登记的密钥指纹 {', '.join(k[:8] + '…' for k in known)}): "
        "请使用本数据库的密钥 (换用新密钥须经 tousu key rotate); 用错的密钥写入的数据将无人能解密"
    )


def verify(conn: Connection, keys: Keys) -> dict[str, Any] | None:
    """The check rows' verdict without cryptography: KeyUnusable when the first key is not
    the database's (current or being rotated to) or a key still needed is missing; the
    current row, or None when the database has no check yet."""
    rows = _rows(conn)
    if not rows:
        return None
    fps = set(keys.fingerprints)
    if keys.fingerprints[0] not in {r["fingerprint"] for r in rows} or not all(
        r["fingerprint"] in fps for r in rows
    ):
        raise _mismatch(keys, [r["fingerprint"] for r in rows])
    return next(r for r in rows if r["state"] == "current")


def _key_in_use(conn: Connection, keys: Keys) -> bytes:
    """Of the configured keys, the one that decrypts a stored value (the first when nothing
    is stored yet); KeyUnusable when none does."""
    from cryptography.fernet import Fernet, InvalidToken

    sample = _sample_token(conn)
    if sample is None:
        return keys.keys[0]
    for key in keys.keys:
        try:
            Fernet(key).decrypt(sample.encode())
            return key
        except InvalidToken:
            continue
    raise _mismatch(keys, ["(未登记; 已有数据无法用此密钥解密)"])


def _unchecked(conn: Connection, keys: Keys) -> dict[str, Any]:
    """A database without a check: the configured key that decrypts a stored value (the
    first key when nothing is stored yet) is the database's; its match-hash key is the one
    derived from it, as before the check existed."""
    from cryptography.fernet import Fernet

    key = _key_in_use(conn, keys)
    return {
        "fingerprint": fingerprint(key),
        "hash_key_enc": Fernet(key).encrypt(_legacy_hash_key(key)).decode(),
    }


def record_check(conn: Connection, keys: Keys) -> dict[str, Any]:
    """The database's first check (at `tousu db init`/`db upgrade`, or the first command run
    with a key): after the key has decrypted a stored value, if any."""
    first = _unchecked(conn, keys)
    row = {
        **first,
        "state": "current",
        "progress": {},
        "created_at": to_db(utcnow()),
    }
    conn.execute(insert(_key_check()).values(row))
    return row


def open_vault(config: Config, conn: Connection) -> Vault:
    """The vault for this database: keys read and checked (reads only: `ensure_check`
    records a database's first check)."""
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet

    from storage.vault import Vault

    keys = read_keys(config)
    current = verify(conn, keys) or _unchecked(conn, keys)
    multi = MultiFernet([Fernet(k) for k in keys.keys])
    try:
        hash_key = multi.decrypt(current["hash_key_enc"].encode())
    except InvalidToken:
        raise _mismatch(keys, [current["fingerprint"]]) from None
    return Vault(keys.keys, hash_key=hash_key)


def check_at_start(ctx: Context) -> None:
    """For every command that opens the database: refuse an absent, malformed or foreign key
    before anything runs (hashlib only, no cryptography import), and record the check of a
    database that has none yet."""
    from storage.db import read_only

    keys = read_keys(ctx.config)
    with read_only(ctx.engine) as conn:
        if verify(conn, keys) is not None:
            return
    ensure_check(ctx, keys)


def ensure_check(ctx: Context, keys: Keys | None = None) -> bool:
    """Record the database's check for the configured key if it has none; True if recorded."""
    keys = keys or read_keys(ctx.config)
    with ctx.engine.begin() as conn:
        if verify(conn, keys) is not None:
            return False
        record_check(conn, keys)
    with ctx.engine.connect() as conn:
        verify(conn, keys)  # the recorded key is the data's: it must also be the first given
    return True


# ---- Rotation --------------------------------------------------------------------------------


@dataclass
class Rotation:
    fingerprint: str
    rewritten: int = 0
    files: int = 0  # evidence files re-sealed
    batches: int = 0
    done: bool = False


def _start(ctx: Context, keys: Keys, current: dict[str, Any]) -> Keys:
    """Put a new key first (the key file rewritten; TOUSU_KEY must already list it first) and
    record it as the key being rotated to."""
    from cryptography.fernet import Fernet, MultiFernet

    if keys.fingerprints[0] == current["fingerprint"]:
        if ctx.config.key:
            raise KeyUnusable(
                "TOUSU_KEY 由环境提供: 请把新密钥放在最前 (TOUSU_KEY=新密钥,旧密钥) 后再运行 "
                "tousu key rotate (新密钥用 tousu key new --print 生成)"
            )
        fresh = new_key()
        write_key_file(ctx.config.key_file, [fresh, *keys.keys], replace=True)
        keys = Keys((fresh, *keys.keys), keys.source)
    multi = MultiFernet([Fernet(k) for k in keys.keys])
    hash_key = multi.decrypt(current["hash_key_enc"].encode())
    with ctx.transaction() as conn:
        conn.execute(
            insert(_key_check()).values(
                fingerprint=keys.fingerprints[0],
                state="rotating",
                hash_key_enc=Fernet(keys.keys[0]).encrypt(hash_key).decode(),
                progress={},
                created_at=to_db(utcnow()),
            )
        )
    return keys


def rotate(
    ctx: Context,
    *,
    batch: int = 500,
    max_batches: int | None = None,
    on_batch: Callable[[Rotation], None] | None = None,
    reseal: Callable[[Any, Callable[[bytes], bytes]], int] | None = None,
) -> Rotation:
    """Re-encrypt every stored token with the first key, `batch` rows a transaction; resumes
    where an earlier run stopped (`max_batches` stops early, as an interruption would)."""
    from cryptography.fernet import Fernet, MultiFernet

    keys = read_keys(ctx.config)
    with ctx.transaction() as conn:
        rows = _rows(conn)
        if not rows:  # the check of the key in use first: the one that reads what is stored
            record_check(conn, keys)
            rows = _rows(conn)
    current = next(r for r in rows if r["state"] == "current")
    target = next((r for r in rows if r["state"] == "rotating"), None)
    if target is None:
        keys = _start(ctx, keys, current)
    elif keys.fingerprints[0] != target["fingerprint"]:
        raise KeyUnusable(
            f"上次密钥轮换尚未完成 (目标密钥指纹 {target['fingerprint'][:8]}…): "
            "请用包含该密钥 (放在最前) 与原密钥的密钥文件或 TOUSU_KEY 再次运行 tousu key rotate"
        )
    with ctx.transaction() as conn:
        verify(conn, keys)  # both keys present
        target = next(r for r in _rows(conn) if r["state"] == "rotating")
    multi = MultiFernet([Fernet(k) for k in keys.keys])
    result = Rotation(fingerprint=keys.fingerprints[0])
    with ctx.engine.connect() as conn:
        stored = conn.execute(
            select(_key_check().c.progress).where(_key_check().c.id == target["id"])
        ).scalar()
    progress: dict[str, int] = dict(stored or {})
    checks = _key_check()
    for name, (found_table, columns) in encrypted_columns().items():
        while max_batches is None or result.batches < max_batches:
            with ctx.transaction() as conn:
                found = conn.execute(
                    select(found_table.c.id, *(found_table.c[c] for c in columns))
                    .where(found_table.c.id > progress.get(name, 0))
                    .order_by(found_table.c.id)
                    .limit(batch)
                ).all()
                if not found:
                    break
                for row in found:
                    values = {
                        c: multi.rotate(row[i + 1].encode()).decode()
                        for i, c in enumerate(columns)
                        if row[i + 1]
                    }
                    if values:
                        conn.execute(
                            update(found_table).where(found_table.c.id == row[0]).values(**values)
                        )
                        result.rewritten += 1
                progress[name] = found[-1][0]
                conn.execute(
                    update(checks)
                    .where(checks.c.id == target["id"])
                    .values(progress=dict(progress))
                )
            result.batches += 1
            if on_batch:
                on_batch(result)
        else:
            return result  # stopped early: run again to resume
    # Files sealed with the old key (evidence), before it is retired (safe to repeat). The
    # caller passes the sealer's function (`services.casefile.evidence.reseal_files`): the
    # case file builds on this module's context, not the other way round.
    if reseal is not None:
        result.files = reseal(ctx, multi.rotate)
    with ctx.transaction() as conn:
        conn.execute(
            update(checks)
            .where(checks.c.id == current["id"])
            .values(state="retired", completed_at=to_db(utcnow()))
        )
        conn.execute(
            update(checks)
            .where(checks.c.id == target["id"])
            .values(state="current", completed_at=to_db(utcnow()))
        )
    result.done = True
    ctx.reset_vault()
    return result


def status(ctx: Context) -> dict[str, Any]:
    """What `tousu doctor` and `tousu key status` show: the source, the fingerprints known to
    the database and whether they match (never a key)."""
    out: dict[str, Any] = {"source": None, "fingerprint": None, "ok": False, "problem": None}
    with ctx.engine.connect() as conn:
        known = [
            {"fingerprint": r["fingerprint"][:8], "state": r["state"]}
            for r in conn.execute(select(_CHECKS).order_by(_CHECKS.c.id)).mappings()
        ]
        out["known"] = known
        out["encrypted_rows"] = sum(
            int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t, _ in encrypted_columns().values()
        )
        try:
            keys = read_keys(ctx.config)
            out["source"], out["fingerprint"] = keys.source, keys.fingerprints[0][:8]
            if verify(conn, keys) is None:
                _unchecked(conn, keys)  # no check yet: the key must read what is stored
            out["ok"] = True
        except KeyUnusable as exc:
            out["problem"] = str(exc)
    return out
