"""Routing: the Apprise YAML file (people edit it, not code) → channels with tags.

Secrets are written `${NAME}` in the file and taken from the environment, else from the
secrets file outside the repository (KEY=VALUE lines). Apprise 1.13 does no substitution of
its own, so it happens here, in memory; the substituted text is never logged. Every string
that leaves this module (labels, errors) has the secret values replaced by `***`. An entry of
`urls:` whose secret is not set is left out and reported (`Routing.unavailable`): the other
channels keep working, and alerts for its tags go to the remaining or fallback channels.

Tags: Apprise tag names allow only [a-z0-9_-], so the outbox audience `role:team_lead` is the
tag `role-team_lead` (`level:3` → `level-3`, `user:li` → `user-li`). A tag may carry an
Apprise priority prefix (`1:role-team_lead`): the lowest number is the primary channel, the
next is the fallback used after `fallback_after` failures. A channel also tagged
`branch-<code>` is preferred for complaints of that branch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from config import ConfigError
from config.secrets import read_secrets
from notifications.budget import Budget
from notifications.settings import NotifySettings

log = logging.getLogger("tousu.notify")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RoutingError(ConfigError):
    """The routing file cannot be used; the message names the problem, never a secret."""


@dataclass
class Channel:
    id: str
    label: str  # Apprise privacy URL: tokens and passwords elided
    schema: str
    tags: dict[str, int]  # tag name → priority
    server: Any = field(repr=False)
    # The robot's rate budget shared by every dispatcher (None: not rate-limited).
    budget: Budget | None = None
    max_bytes: int = 0  # the largest message the service takes (0: no limit of ours)

    @property
    def kind(self) -> str:
        if self.schema in ("mailto", "mailtos"):
            return "email"
        if self.schema == "wecombot":
            return "wecom"
        return "text"

    @property
    def mentions(self) -> bool:
        """Whether this channel @-mentions the people an alert is for (WeCom robots unless
        the routing-file entry says `mention: no`)."""
        return bool(getattr(self.server, "tousu_mention", False))


@dataclass(frozen=True)
class Unavailable:
    """A `urls:` entry left out because secrets it names are not set."""

    scheme: str
    missing: tuple[str, ...]
    tags: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"{self.scheme}:// (标签 {', '.join(self.tags) or '无'}) 缺少密钥 "
            f"{', '.join(self.missing)}"
        )


@dataclass
class Routing:
    channels: list[Channel]
    secrets: tuple[str, ...] = field(repr=False, default=())
    unavailable: tuple[Unavailable, ...] = ()

    def by_id(self, channel_id: str) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def redact(self, text: str | None) -> str | None:
        return _redact(text, self.secrets) if text else text

    def groups(self, audience: str, branch: str | None = None) -> list[tuple[str, list[Channel]]]:
        """Priority groups (primary first) of the channels one audience tag reaches.

        A channel tagged `branch-<code>` serves only that branch; within a priority group the
        branch's own channels win over unscoped ones."""
        tag = apprise_tag(audience)
        by_priority: dict[int, list[Channel]] = {}
        for c in self.channels:
            if tag not in c.tags:
                continue
            scopes = {t[7:] for t in c.tags if t.startswith("branch-")}
            if scopes and branch and branch not in scopes:
                continue
            by_priority.setdefault(c.tags[tag], []).append(c)
        out = []
        for p in sorted(by_priority):
            group = by_priority[p]
            own = [c for c in group if branch and f"branch-{branch}" in c.tags]
            out.append((tag, own or group))
        return out


def apprise_tag(audience: str) -> str:
    return audience.strip().lower().replace(":", "-")


def _names(value: Any) -> list[str]:
    """The ${NAME}s a parsed YAML value refers to (strings anywhere inside it)."""
    if isinstance(value, str):
        return _VAR.findall(value)
    if isinstance(value, Mapping):
        return [n for k, v in value.items() for n in _names(k) + _names(v)]
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _tags_of(entry: Any) -> tuple[str, ...]:
    """The tags a `urls:` entry declares (`- url: [{tag: "a, b"}]`), priority prefixes kept."""
    found: list[str] = []
    for options in entry.values() if isinstance(entry, Mapping) else ():
        for option in options if isinstance(options, list) else [options]:
            if isinstance(option, Mapping) and option.get("tag"):
                found += [t.strip() for t in str(option["tag"]).split(",") if t.strip()]
    return tuple(found)


def resolve(
    text: str, environ: Mapping[str, str], secrets: Mapping[str, str]
) -> tuple[str | None, tuple[str, ...], tuple[Unavailable, ...]]:
    """Replace ${NAME} in the routing file. Returns the text for Apprise (None when no `urls:`
    entry is left), the values used (for redaction) and the entries left out for want of a
    secret. A secret missing outside
    `urls:` makes the whole file unusable (RoutingError)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RoutingError(f"路由文件格式错误: {exc}") from None
    if not isinstance(doc, dict):
        raise RoutingError("路由文件格式错误: 须为 Apprise YAML 配置(含 urls 列表)")
    known = {**secrets, **environ}
    unavailable: list[Unavailable] = []
    kept = []
    for entry in doc.get("urls") or []:
        missing = sorted({n for n in _names(entry) if n not in known})
        if missing:
            url = next(iter(entry)) if isinstance(entry, Mapping) else str(entry)
            unavailable.append(
                Unavailable(
                    scheme=str(url).split("://", 1)[0], missing=tuple(missing), tags=_tags_of(entry)
                )
            )
            continue
        kept.append(entry)
    doc["urls"] = kept
    rest = sorted({n for k, v in doc.items() if k != "urls" for n in _names(v)} - set(known))
    if rest:
        raise RoutingError(
            f"路由文件引用的密钥未设置: {', '.join(rest)}(请在环境变量或密钥文件中提供)"
        )
    used: set[str] = set()

    def fill(value: Any) -> Any:
        if isinstance(value, str):

            def repl(m: re.Match[str]) -> str:
                found = known[m.group(1)]
                if len(found) >= 4:
                    used.add(found)
                return found

            return _VAR.sub(repl, value)
        if isinstance(value, Mapping):
            return {fill(k): fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    out = yaml.safe_dump(fill(doc), allow_unicode=True, sort_keys=False) if kept else None
    # Longest first so that a secret containing another is redacted whole.
    return out, tuple(sorted(used, key=len, reverse=True)), tuple(unavailable)


_apprise_ready = threading.Lock()
_apprise_patched = False


def prepare_apprise() -> None:
    """Once per process: WeCom sends markdown, and Apprise logs go only to our capture."""
    global _apprise_patched
    with _apprise_ready:
        if _apprise_patched:
            return
        from notifications.plugins import register

        register()
        alog = logging.getLogger("apprise")
        alog.propagate = False  # its messages may quote URLs; they reach us redacted only
        alog.setLevel(logging.INFO)
        alog.addHandler(CAPTURE)
        _apprise_patched = True


class _Capture(logging.Handler):
    """Keeps the Apprise messages of the current thread's send (read by the dispatcher)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        buf = getattr(self.local, "buf", None)
        if buf is not None and record.levelno >= logging.WARNING:
            buf.append(record.getMessage())

    def start(self) -> None:
        self.local.buf = []

    def take(self) -> list[str]:
        buf = getattr(self.local, "buf", None) or []
        self.local.buf = None
        return buf


CAPTURE = _Capture()


def load_routing(
    settings: NotifySettings, environ: Mapping[str, str] | None = None, text: str | None = None
) -> Routing:
    prepare_apprise()
    import apprise

    if text is None:
        try:
            text = settings.apprise_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RoutingError(f"路由文件不存在: {settings.apprise_file}") from None
    env = os.environ if environ is None else environ
    resolved, secrets, unavailable = resolve(text, env, read_secrets(settings.secrets_file))
    for entry in unavailable:
        log.error("通知渠道不可用, 已跳过: %s", entry.describe())
    conf = apprise.AppriseConfig()
    if resolved is not None and not conf.add_config(resolved, format="yaml"):
        raise RoutingError(f"路由文件格式错误: {settings.apprise_file}")
    channels: list[Channel] = []
    for server in conf.servers() if resolved is not None else ():
        schema = _schema_of(server)
        limits = settings.limits(schema)
        # Throttle and timeouts set deliberately (STACK_NOTES: 5.5 s between sends by default;
        # 15 s connect timeout): bulk sends need no throttle on our own robots and SMTP, and a
        # server that accepts but never answers must cost bounded time.
        server.request_rate_per_sec = limits.rate
        server.socket_connect_timeout = limits.cto
        server.socket_read_timeout = limits.rto
        full = server.url(privacy=False)
        cid = f"{schema}-{hashlib.sha256(full.encode()).hexdigest()[:12]}"
        if schema in ("mailto", "mailtos"):
            # RFC 3834: no out-of-office or other automatic replies to an automatic alert
            # (set after the id is taken from the URL, so channel ids stay what they were).
            server.headers["Auto-Submitted"] = "auto-generated"  # type: ignore[attr-defined]
        label = _redact(server.url(privacy=True).split("?", 1)[0], secrets)
        tags = {str(t): int(getattr(t, "priority", 0)) for t in server.tags}
        budget = Budget(limits.per_window, limits.window) if limits.per_window > 0 else None
        channels.append(
            Channel(
                id=cid,
                label=label,
                schema=schema,
                tags=tags,
                server=server,
                budget=budget,
                max_bytes=limits.max_bytes,
            )
        )
    return Routing(channels=channels, secrets=secrets, unavailable=unavailable)


def _schema_of(server: Any) -> str:
    url = server.url(privacy=True)
    if "://" in url:
        return url.split("://", 1)[0].lower()
    protocol = server.secure_protocol or server.protocol
    return protocol if isinstance(protocol, str) else protocol[0]


def _redact(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text
