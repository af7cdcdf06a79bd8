"""`tousu doctor`: the installation checked where mistakes cost most: the personal-data key,
file modes, the notification secrets and the evidence object store. Findings only; nothing is
changed. Never shows a key or a secret, only where it comes from and whether it is usable."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.context import Context, file_mode
from storage.db import is_sqlite


@dataclass
class Finding:
    area: str  # database | key | files | secrets | evidence | web
    ok: bool
    message: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def add(self, area: str, ok: bool, message: str) -> None:
        self.findings.append(Finding(area, ok, message))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _too_open(path: Path, allowed: int) -> bool:
    return bool(_mode(path) & ~allowed & 0o777)


def _database(ctx: Context, report: Report) -> bool:
    from storage.migrate import current

    try:
        heads = current(ctx.config.database_url)
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the finding
        report.add("database", False, f"数据库无法连接: {type(exc).__name__}")
        return False
    if not heads:
        report.add("database", False, "数据库尚未初始化: 请运行 tousu db init")
        return False
    report.add("database", True, f"数据库可用, 迁移版本 {', '.join(sorted(heads))}")
    return True


def _key(ctx: Context, report: Report, db_ok: bool) -> None:
    from services import keys

    config = ctx.config
    if config.key:
        report.add("key", True, "个人信息密钥来自环境变量 TOUSU_KEY")
    else:
        path = config.key_file
        if path.is_file():
            ok = not _too_open(path, 0o600)
            report.add(
                "key",
                ok,
                f"密钥文件 {path} 权限 {_mode(path):04o}"
                + ("" if ok else ": 应为 0600 (chmod 600)"),
            )
            data = config.data_dir.resolve()
            if path.resolve().is_relative_to(data):
                report.add(
                    "key", False, f"密钥文件在数据目录 {data} 内: 数据的副本会带走密钥, 请移出"
                )
    if not db_ok:
        return
    st = keys.status(ctx)
    if st["ok"]:
        report.add("key", True, f"密钥与数据库登记的一致 (指纹 {st['fingerprint']}…)")
    else:
        report.add("key", False, st["problem"] or "密钥不可用")
    if st["ok"] and not st["known"]:
        report.add("key", True, "数据库尚未登记密钥校验值 (下一条命令或 tousu db upgrade 时登记)")


def _files(ctx: Context, report: Report) -> None:
    allowed = file_mode(ctx.config)
    paths: list[Path] = []
    url = ctx.config.database_url
    if is_sqlite(url):
        db = Path(url.split("///", 1)[-1])
        paths += [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.is_file()]
    data = ctx.config.data_dir
    if data.is_dir():
        paths += [p for p in data.rglob("*") if p.is_file() and p not in paths]
    loose = [p for p in paths if _too_open(p, allowed)]
    if loose:
        shown = ", ".join(f"{p} ({_mode(p):04o})" for p in loose[:5])
        more = f" 等 {len(loose)} 个" if len(loose) > 5 else ""
        report.add(
            "files",
            False,
            f"文件权限过宽 (应为 {allowed:04o}): {shown}{more}; 其中可能含个人信息 "
            f"(chmod {allowed:o})",
        )
    else:
        report.add(
            "files", True, f"数据库与数据目录中 {len(paths)} 个文件的权限均不超过 {allowed:04o}"
        )
    group = ctx.config.section("files").get("group")
    if group:
        import grp

        try:
            grp.getgrnam(str(group))
            report.add("files", True, f"可读组 {group} 存在")
        except KeyError:
            report.add("files", False, f"[files] group = {group}: 系统中没有这个组")


def _secrets(ctx: Context, report: Report) -> None:
    from config import ConfigError
    from notifications.routing import load_routing
    from notifications.settings import load_settings

    try:
        settings = load_settings(ctx.config)
        routing = load_routing(settings)
    except (ConfigError, OSError, ValueError) as exc:
        report.add("secrets", False, f"通知路由文件不可用: {exc}")
        return
    for gone in routing.unavailable:
        report.add("secrets", False, f"通知渠道不能发送, 请设置: {gone.describe()}")
    if not routing.unavailable:
        report.add("secrets", True, f"通知渠道 {len(routing.channels)} 个, 所需密钥均已设置")
    secrets = settings.secrets_file
    if secrets is not None and secrets.is_file():
        ok = not _too_open(secrets, 0o600)
        report.add(
            "secrets",
            ok,
            f"通知密钥文件 {secrets} 权限 {_mode(secrets):04o}" + ("" if ok else ": 应为 0600"),
        )
    if os.environ.get("TOUSU_KEY") and os.environ.get("TOUSU_KEY_FILE"):
        report.add("key", True, "同时设置了 TOUSU_KEY 与 TOUSU_KEY_FILE: 以 TOUSU_KEY 为准")


def _evidence(ctx: Context, report: Report) -> None:
    """An object store for the evidence (`[evidence] dir = "s3://..."`) is reached and its
    bucket found; a local directory is covered by the file modes above."""
    from config import ConfigError
    from services.casefile import evidence_store

    try:
        store = evidence_store.backend(ctx)
        if isinstance(store, evidence_store.Directory):
            return
        where = store.check()
    except (ConfigError, evidence_store.StoreUnavailable) as exc:
        report.add("evidence", False, str(exc))
        return
    report.add("evidence", True, f"证据材料存放于{where}, 可以访问")


def check(ctx: Context) -> Report:
    report = Report()
    db_ok = _database(ctx, report)
    _key(ctx, report, db_ok)
    _files(ctx, report)
    _secrets(ctx, report)
    _evidence(ctx, report)
    _web(ctx, report)
    return report


def _web(ctx: Context, report: Report) -> None:
    """The session cookie against the workspace's address (`[web] base_url`, the address the
    alerts link to): sent in clear over HTTP when the address is HTTPS but the cookie is not
    marked Secure; never sent back at all over plain HTTP when it is (logins fail)."""
    from urllib.parse import urlsplit

    from services.identity import web_settings

    cfg = web_settings(ctx)
    if not cfg.base_url:
        return
    parts = urlsplit(cfg.base_url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme == "https" and not cfg.cookie_secure:
        report.add(
            "web",
            False,
            f"网页地址 {cfg.base_url} 为 HTTPS, 但 [web] cookie_secure = false: 会话 Cookie "
            "也会经明文 HTTP 发送, 请设为 true",
        )
    elif parts.scheme == "http" and cfg.cookie_secure and not local:
        report.add(
            "web",
            False,
            f"[web] cookie_secure = true, 但网页地址 {cfg.base_url} 为 HTTP: 浏览器不会送回"
            "会话 Cookie, 无法登录; 请经 HTTPS 提供 (反向代理) 或改正 base_url",
        )
    else:
        secure = "仅经 HTTPS 发送" if cfg.cookie_secure else "未标记 Secure (本机 HTTP)"
        report.add("web", True, f"网页地址 {cfg.base_url}, 会话 Cookie {secure}")


def as_dict(report: Report) -> dict[str, Any]:
    return {"ok": report.ok, "findings": [vars(f) for f in report.findings]}
