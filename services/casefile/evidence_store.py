"""Where evidence files live: outside the database, in the directory `[evidence] dir` (a path
or a file:// URL; relative paths lie under `general.data_dir`), each encrypted with the
project's key (storage/vault.py `seal`) and named by the SHA-256 of its plain content, two
levels deep (`ab/abcdef...`). The same content attached twice is stored once.

A write goes to a temporary file in the same directory and is renamed into place, so a reader
never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from services.context import Context


def root(ctx: Context) -> Path:
    from config import ConfigError

    where = str(ctx.config.section("evidence").get("dir", "evidence"))
    if "://" in where:
        url = urlparse(where)
        if url.scheme != "file":
            raise ConfigError(
                f"配置 [evidence] dir 仅支持本地目录或 file:// 地址, 不支持 {url.scheme}://"
            )
        where = url.path
    path = Path(where)
    return path if path.is_absolute() else ctx.config.data_dir / path


def path_of(ctx: Context, sha256: str) -> Path:
    return root(ctx) / sha256[:2] / sha256


def exists(ctx: Context, sha256: str) -> bool:
    return path_of(ctx, sha256).is_file()


def put(ctx: Context, sha256: str, data: bytes) -> bool:
    """Store `data` encrypted under its hash; False when an intact copy is already there."""
    target = path_of(ctx, sha256)
    if target.is_file() and read_plain(ctx, sha256) == data:
        return False
    _write(target, ctx.vault.seal(data))
    return True


def read_plain(ctx: Context, sha256: str) -> bytes | None:
    """The decrypted content, or None when the file is missing or does not decrypt with the
    key (changed on disk, or sealed with another key)."""
    from cryptography.fernet import InvalidToken

    try:
        token = path_of(ctx, sha256).read_bytes()
    except FileNotFoundError:
        return None
    try:
        return ctx.vault.unseal(token)
    except InvalidToken:
        return None


def reseal(ctx: Context, sha256: str, rotate: Callable[[bytes], bytes]) -> bool:
    """Re-encrypt one stored file with `rotate` (a key rotation's MultiFernet.rotate: any old
    key decrypts, the new one encrypts); False when the file is missing."""
    target = path_of(ctx, sha256)
    try:
        token = target.read_bytes()
    except FileNotFoundError:
        return False
    _write(target, rotate(token))
    return True


def _write(target: Path, sealed: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(sealed)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def delete(ctx: Context, sha256: str) -> bool:
    target = path_of(ctx, sha256)
    if not target.exists():
        return False
    target.unlink()
    return True
