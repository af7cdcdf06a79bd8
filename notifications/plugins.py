"""Adjustments to Apprise plugins, applied once per process by `register()`.

1. WeCom group robot sends markdown (msgtype "markdown"), not Apprise's plain text, with the
   people an alert is for @-mentioned: `<@userid>` inside the markdown; for people known only
   by their work mobile a short text message with `mentioned_mobile_list` follows (WeCom's
   markdown message has no mobile mention). It is registered over Apprise's `wecombot://`
   schema, so the routing file keeps the standard URL; `mention: no` on an entry of the
   routing file turns mentions off for that robot. WeCom answers HTTP 200 with an `errcode`:
   45009 (more than 20 messages a minute) is reported as throttled, 40058 (content over 4096
   bytes) as an error; content is fitted to the byte limit before it is posted.
2. Apprise's email plugin builds a fresh `ssl.create_default_context()` for every message,
   which loads the CA bundle each time (17 ms, 90 % of a local send, measured by
   bench/notify.py), even for a plain-SMTP relay that never uses it. Its module gets a context
   factory that defers the load until TLS is used and then reuses one context per
   verification setting.
3. The email plugin derives the text/plain alternative from the HTML by stripping tags, which
   puts every table cell on a line of its own. `text_alternative(text)` makes the next send
   of the current thread use our own text (one fact per line) instead.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

WECOM_MARKDOWN_LIMIT = 4096  # bytes of markdown.content, WeCom group-robot API
WECOM_TEXT_LIMIT = 2048  # bytes of text.content
WECOM_THROTTLED = 45009  # more than 20 messages a minute to one robot
WECOM_TOO_LONG = 40058  # content over the limit (among other invalid parameters)
TRUNCATED = "\n…(已截断, 详见系统)"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def json_len(text: str) -> int:
    """Bytes of `text` as a JSON string with non-ASCII escaped (how Apprise's DingTalk and
    Feishu plugins post it: `json.dumps` with its default ensure_ascii)."""
    return len(json.dumps(text))


def fit_bytes(
    text: str,
    limit: int = WECOM_MARKDOWN_LIMIT,
    *,
    tail: str = "",
    measure: Callable[[str], int] = utf8_len,
) -> str:
    """`text` followed by `tail`, within `limit` as `measure` counts it (UTF-8 bytes by
    default). When it does not fit, the text is cut at a character boundary and marked, and
    `tail` (mentions) is kept whole; the result never exceeds `limit`."""
    whole = text + tail
    if measure(whole) <= limit:
        return whole
    suffix = TRUNCATED + tail
    if measure(suffix) > limit:  # a tail alone too long: cut it too (never above the limit)
        suffix, tail = "", ""
    # Binary search on characters: the longest prefix that fits with the suffix.
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid] + suffix) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + suffix


@dataclass(frozen=True)
class PostResult:
    """What one send to a channel came to. `throttled`: the service refused for its rate
    limit (retry later, not a fault of the channel)."""

    ok: bool
    error: str | None = None
    throttled: bool = False
    posted: tuple[bytes, ...] = ()  # request bodies sent (WeCom), for the byte checks
    # The request was sent but no answer came (a read timeout): the server may have taken it,
    # so the retry may arrive twice; recorded as an `uncertain` attempt, not a plain failure.
    uncertain: bool = False


class _LazyContext:
    """Stands for ssl.create_default_context(): records the two settings the plugin changes
    and builds (once per setting, shared) the real context only when a socket is wrapped."""

    _built: dict[tuple[bool, int], ssl.SSLContext] = {}
    _lock = threading.Lock()

    def __init__(self) -> None:
        object.__setattr__(
            self, "_settings", {"check_hostname": True, "verify_mode": ssl.CERT_REQUIRED}
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("check_hostname", "verify_mode"):
            self._settings[name] = value
        else:
            setattr(self._real(), name, value)

    def _real(self) -> ssl.SSLContext:
        key = (bool(self._settings["check_hostname"]), int(self._settings["verify_mode"]))
        with self._lock:
            ctx = self._built.get(key)
            if ctx is None:
                ctx = ssl.create_default_context()
                ctx.check_hostname = key[0]
                ctx.verify_mode = ssl.VerifyMode(key[1])
                self._built[key] = ctx
        return ctx

    def __getattr__(self, name: str) -> Any:
        if name in ("check_hostname", "verify_mode"):
            return self._settings[name]
        return getattr(self._real(), name)


class _SslShim:
    """The `ssl` name inside Apprise's email module: everything is the real module except
    create_default_context."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return ssl.create_default_context(*args, **kwargs)
        return _LazyContext()


_ALTERNATIVE = threading.local()


@contextmanager
def text_alternative(text: str) -> Iterator[None]:
    """Within the block, an HTML email sent by this thread gets `text` as its text/plain
    part instead of the HTML with its tags stripped."""
    _ALTERNATIVE.text = text
    try:
        yield
    finally:
        _ALTERNATIVE.text = None


def _flag(value: Any, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("no", "false", "0", "off", "none")


def register() -> None:
    import apprise.plugins.email.base as email_base
    import requests
    from apprise.common import NotifyFormat
    from apprise.manager_plugins import NotificationManager
    from apprise.plugins.wecombot import NotifyWeComBot

    class NotifyWeComMarkdown(NotifyWeComBot):  # type: ignore[misc]
        def __init__(self, key: str, mention: Any = None, **kwargs: Any) -> None:
            super().__init__(key, **kwargs)
            # `mention: no` on the routing-file entry: this robot @-mentions no one.
            self.tousu_mention = _flag(mention)

        def send(self, body: str, title: str = "", notify_type: Any = None, **kwargs: Any) -> bool:
            return self.post_alert(body).ok

        def _post(self, payload: dict[str, Any]) -> tuple[PostResult, bytes]:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            try:
                r = requests.post(
                    self.api_url,
                    data=data,
                    headers={
                        "User-Agent": self.app_id,
                        "Content-Type": "application/json; charset=utf-8",
                    },
                    verify=self.verify_certificate,
                    timeout=self.request_timeout,
                    allow_redirects=self.redirects,
                )
            except requests.ReadTimeout:
                # WeCom's robot API has no idempotency key: say that the retry may repeat.
                return PostResult(
                    False,
                    "企业微信机器人应答超时: 消息可能已送达, 将重试 (可能重复一次)",
                    uncertain=True,
                ), data
            except requests.RequestException as exc:
                return PostResult(False, f"企业微信机器人连接失败: {type(exc).__name__}"), data
            if r.status_code != requests.codes.ok:
                return PostResult(False, f"企业微信机器人返回 HTTP {r.status_code}"), data
            try:
                answer = r.json()
                errcode = int(answer["errcode"])
            except (ValueError, TypeError, KeyError, AttributeError):
                # HTTP 200 without WeCom's JSON answer (a proxy's page, a captive portal):
                # nothing says the robot took the message.
                return PostResult(
                    False, "企业微信机器人应答无法识别 (HTTP 200 但不是含 errcode 的 JSON)"
                ), data
            if errcode == WECOM_THROTTLED:
                return PostResult(
                    False, "企业微信机器人限流 errcode=45009 (每分钟超过 20 条)", throttled=True
                ), data
            if errcode == WECOM_TOO_LONG:
                return PostResult(False, "企业微信机器人拒收 errcode=40058 (内容超长)"), data
            if errcode:
                msg = str(answer.get("errmsg", ""))[:80]
                return PostResult(
                    False, f"企业微信机器人返回 errcode={errcode} {msg}".strip()
                ), data
            return PostResult(True), data

        def post_alert(
            self,
            markdown: str,
            *,
            userids: Sequence[str] = (),
            mobiles: Sequence[str] = (),
            notice: str = "",
            limit: int = WECOM_MARKDOWN_LIMIT,
        ) -> PostResult:
            """The alert as markdown with `<@userid>` mentions, fitted to `limit` bytes (the
            channel's `max_bytes`), then (only when someone is known by mobile alone) a text
            message mentioning them by mobile."""
            if not self.tousu_mention:
                userids, mobiles = (), ()
            tail = ("\n" + " ".join(f"<@{u}>" for u in userids)) if userids else ""
            content = fit_bytes(markdown, limit, tail=tail)
            first, body = self._post({"msgtype": "markdown", "markdown": {"content": content}})
            if not first.ok or not mobiles:
                return PostResult(first.ok, first.error, first.throttled, (body,), first.uncertain)
            text = fit_bytes(notice or "请及时查看上一条投诉提醒。", WECOM_TEXT_LIMIT)
            second, body2 = self._post(
                {
                    "msgtype": "text",
                    "text": {"content": text, "mentioned_mobile_list": list(mobiles)},
                }
            )
            # The alert itself arrived: a failed mention is reported, the alert is not resent.
            return PostResult(
                True,
                None if second.ok else f"提醒已送达, @提醒失败: {second.error}",
                False,
                (body, body2),
            )

    # A singleton: the same manager Apprise itself consults when it parses a URL.
    NotificationManager().add(NotifyWeComMarkdown, schemas="wecombot", force=True)
    email_base.ssl = _SslShim()  # type: ignore[assignment]

    convert = email_base.convert_between

    def convert_between(source: Any, target: Any, content: Any, *args: Any, **kw: Any) -> Any:
        text = getattr(_ALTERNATIVE, "text", None)
        if text is not None and source == NotifyFormat.HTML and target == NotifyFormat.TEXT:
            return text
        return convert(source, target, content, *args, **kw)

    email_base.convert_between = convert_between  # type: ignore[assignment]
