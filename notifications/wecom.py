"""WeCom group robot sending markdown (msgtype "markdown"), not Apprise's plain text.

Registered over Apprise's `wecombot://` schema, so the routing file keeps the standard URL.
WeCom refuses markdown content over 4096 bytes: templates keep within it and this class cuts
at a character boundary as a last resort.
"""

from __future__ import annotations

from json import dumps
from typing import Any

WECOM_MARKDOWN_LIMIT = 4096  # bytes, WeCom group-robot API


def fit_bytes(text: str, limit: int = WECOM_MARKDOWN_LIMIT) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 12].decode("utf-8", errors="ignore") + "\n…(已截断)"


def register() -> None:
    import requests
    from apprise.manager_plugins import NotificationManager
    from apprise.plugins.wecombot import NotifyWeComBot

    class NotifyWeComMarkdown(NotifyWeComBot):  # type: ignore[misc]
        def send(self, body: str, title: str = "", notify_type: Any = None,
                 **kwargs: Any) -> bool:
            payload = {"msgtype": "markdown", "markdown": {"content": fit_bytes(body)}}
            self.throttle()
            try:
                r = requests.post(
                    self.api_url, data=dumps(payload, ensure_ascii=False).encode("utf-8"),
                    headers={"User-Agent": self.app_id,
                             "Content-Type": "application/json; charset=utf-8"},
                    verify=self.verify_certificate, timeout=self.request_timeout,
                    allow_redirects=self.redirects)
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
