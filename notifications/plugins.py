"""Two adjustments to Apprise plugins, applied once per process by `register()`.

1. WeCom group robot sends markdown (msgtype "markdown"), not Apprise's plain text. It is
   registered over Apprise's `wecombot://` schema, so the routing file keeps the standard URL.
   WeCom refuses markdown content over 4096 bytes: templates keep within it and this class
   cuts at a character boundary as a last resort.
2. Apprise's email plugin builds a fresh `ssl.create_default_context()` for every message,
   which loads the CA bundle each time (17 ms, 90 % of a local send, measured by
   bench/notify.py), even for a plain-SMTP relay that never uses it. Its module gets a context
   factory that defers the load until TLS is used and then reuses one context per
   verification setting.
"""

from __future__ import annotations

import ssl
import threading
from json import dumps
from typing import Any

WECOM_MARKDOWN_LIMIT = 4096  # bytes, WeCom group-robot API


def fit_bytes(text: str, limit: int = WECOM_MARKDOWN_LIMIT) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 12].decode("utf-8", errors="ignore") + "\n…(已截断)"


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


def register() -> None:
    import apprise.plugins.email.base as email_base
    import requests
    from apprise.manager_plugins import NotificationManager
    from apprise.plugins.wecombot import NotifyWeComBot

    class NotifyWeComMarkdown(NotifyWeComBot):  # type: ignore[misc]
        def send(self, body: str, title: str = "", notify_type: Any = None, **kwargs: Any) -> bool:
            payload = {"msgtype": "markdown", "markdown": {"content": fit_bytes(body)}}
            self.throttle()
            try:
                r = requests.post(
                    self.api_url,
                    data=dumps(payload, ensure_ascii=False).encode("utf-8"),
                    headers={
                        "User-Agent": self.app_id,
                        "Content-Type": "application/json; charset=utf-8",
                    },
                    verify=self.verify_certificate,
                    timeout=self.request_timeout,
                    allow_redirects=self.redirects,
                )
            except requests.RequestException as exc:
                self.logger.warning("企业微信机器人连接失败: %s", type(exc).__name__)
                return False
            if r.status_code != requests.codes.ok:
                self.logger.warning("企业微信机器人返回 HTTP %s", r.status_code)
                return False
            try:
                errcode = r.json().get("errcode", 0)
            except ValueError:
                errcode = 0
            if errcode:
                self.logger.warning("企业微信机器人返回 errcode=%s", errcode)
                return False
            return True

    # A singleton: the same manager Apprise itself consults when it parses a URL.
    NotificationManager().add(NotifyWeComMarkdown, schemas="wecombot", force=True)
    email_base.ssl = _SslShim()  # type: ignore[assignment]
