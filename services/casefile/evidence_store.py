"""Where evidence files live: outside the database, each encrypted with the project's key
(storage/vault.py `seal`) before it leaves the process and named by the SHA-256 of its plain
content, two levels deep (`ab/abcdef...`). The same content attached twice is stored once.

`[evidence] dir` says where (docs/deployment.md "Evidence files in an object store"):
- a directory (a path or a file:// URL; relative paths lie under `general.data_dir`), the
  default. A write goes to a temporary file in the same directory and is renamed into place,
  so a reader never sees half a file;
- `s3://bucket/prefix`: an S3-compatible object store (MinIO, Alibaba OSS, Tencent COS, AWS)
  through boto3, with `endpoint_url`, `region`, `addressing` and timeouts from `[evidence]`.
  Its access key is never in the TOML: `access_key_id` / `secret_access_key` are written
  `${NAME}` and taken from the environment or the notifications' secrets file
  (config/secrets.py); left empty, boto3's own chain (AWS_ACCESS_KEY_ID, ~/.aws, an instance
  role) applies. A PUT writes the whole object at once, so a reader never sees half of it.

Both are a `Backend` (put/get/exists/delete of sealed bytes by key); the functions below seal,
unseal and compare, so evidence.py and letters.py do not know which one is configured. A store
that cannot be reached raises `StoreUnavailable` (exit 6, HTTP 503) before anything is
recorded: `attach` stores before it records, `get` reads inside its transaction.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from services.context import Context
from states.errors import TousuError


class StoreUnavailable(TousuError):
    """The evidence store cannot be reached or refuses us; nothing was recorded."""

    exit_code = 6


class Backend(Protocol):
    """Sealed bytes by key (`ab/abcdef...`)."""

    def put(self, key: str, sealed: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...  # None: no such object

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool: ...  # False: there was none

    def check(self) -> str: ...  # where it is, once reached (StoreUnavailable otherwise)


def key_of(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


# ---- The local directory (the default) ---------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    root: Path

    def path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, sealed: bytes) -> None:
        _write(self.path(key), sealed)

    def get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> bool:
        target = self.path(key)
        if not target.exists():
            return False
        target.unlink()
        return True

    def check(self) -> str:
        return f"本地目录 {self.root}"


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


# ---- An S3-compatible object store -------------------------------------------------------------

ADDRESSING = ("auto", "path", "virtual")


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str  # "" or "a/b/" (always ends in "/")
    endpoint_url: str | None
    region: str | None
    addressing: str
    access_key_id: str | None = field(repr=False)
    secret_access_key: str | None = field(repr=False)
    timeout: float
    max_attempts: int

    @property
    def where(self) -> str:
        url = f"s3://{self.bucket}/{self.prefix}"
        return f"{url} ({self.endpoint_url})" if self.endpoint_url else url


@functools.lru_cache(maxsize=8)
def _client(s: S3Settings) -> Any:
    """One boto3 client per setting (clients are thread-safe and slow to build)."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config as BotoConfig  # type: ignore[import-untyped]

    return boto3.session.Session().client(
        "s3",
        endpoint_url=s.endpoint_url,
        region_name=s.region,
        aws_access_key_id=s.access_key_id,
        aws_secret_access_key=s.secret_access_key,
        config=BotoConfig(
            s3={"addressing_style": s.addressing},
            connect_timeout=s.timeout,
            read_timeout=s.timeout,
            retries={"max_attempts": s.max_attempts, "mode": "standard"},
            # Checksums only where the operation requires them: several S3-compatible
            # stores refuse the newer default checksum headers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


@dataclass(frozen=True)
class ObjectStore:
    settings: S3Settings

    def _key(self, key: str) -> str:
        return self.settings.prefix + key

    def _call(self, operation: str, **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        try:
            return getattr(_client(self.settings), operation)(Bucket=self.settings.bucket, **params)
        except ClientError as exc:
            no_bucket = exc.response.get("Error", {}).get("Code") == "NoSuchBucket"
            if _status(exc) == 404 and operation in ("head_object", "get_object") and not no_bucket:
                raise _Absent from None
            raise StoreUnavailable(_explain(self.settings, exc)) from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(_explain(self.settings, exc)) from exc

    def put(self, key: str, sealed: bytes) -> None:
        self._call(
            "put_object",
            Key=self._key(key),
            Body=sealed,
            ContentType="application/octet-stream",
        )

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError

        try:
            body = self._call("get_object", Key=self._key(key))["Body"]
        except _Absent:
            return None
        try:
            return bytes(body.read())
        except BotoCoreError as exc:  # the connection broke while reading
            raise StoreUnavailable(_explain(self.settings, exc)) from exc
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=self._key(key))
        except _Absent:
            # A HEAD answer has no body to tell a missing object from a missing bucket.
            self._call("head_bucket")
            return False
        return True

    def delete(self, key: str) -> bool:
        if not self.exists(key):
            return False
        self._call("delete_object", Key=self._key(key))
        return True

    def check(self) -> str:
        self._call("head_bucket")
        return f"对象存储 {self.settings.where}"


class _Absent(Exception):
    """No such object (404): not an error of the store."""


def _status(exc: Any) -> int | None:
    meta = exc.response.get("ResponseMetadata", {}) if hasattr(exc, "response") else {}
    status = meta.get("HTTPStatusCode")
    return int(status) if status else None


def _explain(s: S3Settings, exc: Exception) -> str:
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "")) or str(_status(exc))
        if code in ("NoSuchBucket", "404"):
            why = f"存储桶 {s.bucket} 不存在"
        elif code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            why = f"拒绝访问 ({code}): 请检查访问密钥及其对存储桶 {s.bucket} 的权限"
        else:
            why = f"存储返回错误 {code}"
    elif isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        why = "未提供访问密钥 ([evidence] access_key_id / secret_access_key)"
    elif isinstance(exc, ConnectionError):
        why = "无法连接 (地址不可达、连接被拒绝或超时)"
    elif isinstance(exc, HTTPClientError):
        why = "连接中断或读取超时"
    else:
        why = type(exc).__name__
    return f"证据存储 {s.where} 无法使用: {why}; 未作任何修改"


def _secret(raw: dict[str, Any], name: str, ctx: Context) -> str | None:
    from config import ConfigError
    from config.secrets import lookup, reference

    value = str(raw.get(name, "") or "").strip()
    if not value:
        return None
    ref = reference(value)
    if ref is None:
        raise ConfigError(
            f"配置 [evidence] {name} 须写成 ${{变量名}}: 密钥本身放在环境变量或密钥文件"
            "([notifications] secrets_file)中, 不写入配置文件"
        )
    found = lookup(ref, ctx.config)
    if found is None:
        raise ConfigError(
            f"证据存储的密钥 {ref} 未设置 ([evidence] {name}): 请在环境变量或密钥文件中提供"
        )
    return found


def s3_settings(ctx: Context, url: str) -> S3Settings:
    from config import ConfigError

    raw = ctx.config.section("evidence")
    parsed = urlparse(url)
    if not parsed.netloc:
        raise ConfigError(
            "配置 [evidence] dir: s3:// 地址须含存储桶名, 如 s3://tousu-evidence/prod"
        )
    prefix = parsed.path.strip("/")
    addressing = str(raw.get("addressing", "auto") or "auto")
    if addressing not in ADDRESSING:
        raise ConfigError(f"配置 [evidence] addressing 取值: {', '.join(ADDRESSING)}")
    try:
        timeout = float(raw.get("timeout_seconds", 10))
        attempts = int(raw.get("max_attempts", 3))
    except (TypeError, ValueError):
        raise ConfigError("配置 [evidence] timeout_seconds / max_attempts 须为数字") from None
    if timeout <= 0 or attempts < 1:
        raise ConfigError("配置 [evidence] timeout_seconds 须大于 0, max_attempts 至少为 1")
    key_id = _secret(raw, "access_key_id", ctx)
    secret = _secret(raw, "secret_access_key", ctx)
    if (key_id is None) != (secret is None):
        raise ConfigError("配置 [evidence] access_key_id 与 secret_access_key 须同时设置或同时留空")
    return S3Settings(
        bucket=parsed.netloc,
        prefix=f"{prefix}/" if prefix else "",
        endpoint_url=str(raw.get("endpoint_url", "") or "") or None,
        region=str(raw.get("region", "") or "") or None,
        addressing=addressing,
        access_key_id=key_id,
        secret_access_key=secret,
        timeout=timeout,
        max_attempts=attempts,
    )


# ---- Which one, and what evidence.py calls -------------------------------------------------------


def _where(ctx: Context) -> str:
    return str(ctx.config.section("evidence").get("dir", "evidence"))


def backend(ctx: Context) -> Backend:
    where = _where(ctx)
    if urlparse(where).scheme == "s3":
        return ObjectStore(s3_settings(ctx, where))
    return Directory(root(ctx))


def root(ctx: Context) -> Path:
    """The directory of a directory store (ConfigError for any other)."""
    from config import ConfigError

    where = _where(ctx)
    if "://" in where:
        url = urlparse(where)
        if url.scheme != "file":
            raise ConfigError(
                f"配置 [evidence] dir 仅支持本地目录、file:// 或 s3:// 地址, 不支持 {url.scheme}://"
            )
        where = url.path
    path = Path(where)
    return path if path.is_absolute() else ctx.config.data_dir / path


def path_of(ctx: Context, sha256: str) -> Path:
    return root(ctx) / key_of(sha256)


def check(ctx: Context) -> str:
    """Where the evidence is kept, once the store answers (StoreUnavailable otherwise). A
    directory is not touched: it is created on the first write."""
    return backend(ctx).check()


def exists(ctx: Context, sha256: str) -> bool:
    return backend(ctx).exists(key_of(sha256))


def put(ctx: Context, sha256: str, data: bytes) -> bool:
    """Store `data` encrypted under its hash; False when an intact copy is already there."""
    store = backend(ctx)
    if _unseal(ctx, store.get(key_of(sha256))) == data:
        return False
    store.put(key_of(sha256), ctx.vault.seal(data))
    return True


def read_plain(ctx: Context, sha256: str) -> bytes | None:
    """The decrypted content, or None when the file is missing or does not decrypt with the
    key (changed in the store, or sealed with another key)."""
    return _unseal(ctx, backend(ctx).get(key_of(sha256)))


def _unseal(ctx: Context, token: bytes | None) -> bytes | None:
    from cryptography.fernet import InvalidToken

    if token is None:
        return None
    try:
        return ctx.vault.unseal(token)
    except InvalidToken:
        return None


def reseal(ctx: Context, sha256: str, rotate: Callable[[bytes], bytes]) -> bool:
    """Re-encrypt one stored file with `rotate` (a key rotation's MultiFernet.rotate: any old
    key decrypts, the new one encrypts); False when the file is missing."""
    store = backend(ctx)
    token = store.get(key_of(sha256))
    if token is None:
        return False
    store.put(key_of(sha256), rotate(token))
    return True


def delete(ctx: Context, sha256: str) -> bool:
    return backend(ctx).delete(key_of(sha256))
