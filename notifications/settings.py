"""The `[notifications]` table of config/tousu.toml, validated here (its owner).

Defaults below mirror the shipped tousu.toml so a configuration without the table still
works; every value can be overridden with TOUSU__NOTIFICATIONS__KEY.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import PROJECT_ROOT, Config, ConfigError
from config.secrets import secrets_file


@dataclass(frozen=True)
class ServiceLimits:
    """Per Apprise service: seconds between two sends of one dispatcher (Apprise's own
    throttle), socket timeouts, the shared rate budget per robot (`per_window` posts in
    `window` seconds, counted across every dispatcher in the database; 0 = none) and the
    largest message in bytes (0 = no limit of ours)."""

    rate: float = 0.0
    cto: float = 3.0
    rto: float = 5.0
    per_window: int = 0
    window: float = 60.0
    max_bytes: int = 0


@dataclass(frozen=True)
class NotifySettings:
    apprise_file: Path
    secrets_file: Path | None
    fallback_after: int = 3
    # Seconds a delivery may wait on a failing channel before its fallback takes it (0 = off).
    fallback_delay: float = 900.0
    backoff_base: float = 30.0
    backoff_max: float = 1800.0
    lease_seconds: int = 300
    batch: int = 1000
    workers: int = 8
    unrouted_tag: str = "fallback"
    urgent_kinds: tuple[str, ...] = ("deadline_breach", "breach", "major", "media")
    quiet_hours: bool = True
    digest_roles: tuple[str, ...] = ("supervisor",)
    services: dict[str, ServiceLimits] = field(default_factory=dict)
    # Whom a robot alert @-mentions, per audience tag: "owner" or user roles.
    mentions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Report files attached to an email up to this many bytes in all; larger: their location.
    attach_max_bytes: int = 10_000_000
    consultation_place: str = ""
    # Told (once) when no channel of the routing file can send: a tag of the routing file.
    admin_audience: str = "role:admin"

    def limits(self, schema: str) -> ServiceLimits:
        return self.services.get(schema) or self.services.get("default") or ServiceLimits()


def _path(value: str, root: Path) -> Path:
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else root / p


def _limits(raw: dict[str, Any]) -> ServiceLimits:
    return ServiceLimits(
        rate=float(raw.get("rate", 0.0)),
        cto=float(raw.get("cto", 3.0)),
        rto=float(raw.get("rto", 5.0)),
        per_window=int(raw.get("per_window", 0)),
        window=float(raw.get("window", 60.0)),
        max_bytes=int(raw.get("max_bytes", 0)),
    )


def load_settings(config: Config, environ: dict[str, str] | None = None) -> NotifySettings:
    raw: dict[str, Any] = config.section("notifications")
    env = os.environ if environ is None else environ
    root = PROJECT_ROOT  # relative paths name files of the installation, like config/
    try:
        apprise_file = env.get("TOUSU_APPRISE_FILE") or raw.get(
            "apprise_file", "config/apprise.yaml"
        )
        services = {name: _limits(limits) for name, limits in raw.get("services", {}).items()}
        mentions = {
            tag.strip().lower().replace(":", "-"): tuple(
                [who] if isinstance(who, str) else map(str, who)
            )
            for tag, who in raw.get("mentions", {}).items()
        }
        return NotifySettings(
            apprise_file=_path(apprise_file, root),
            secrets_file=secrets_file(config, env),
            fallback_after=int(raw.get("fallback_after", 3)),
            fallback_delay=float(raw.get("fallback_delay_seconds", 900)),
            backoff_base=float(raw.get("backoff_base_seconds", 30)),
            backoff_max=float(raw.get("backoff_max_seconds", 1800)),
            lease_seconds=int(raw.get("lease_seconds", 300)),
            batch=int(raw.get("batch", 1000)),
            workers=int(raw.get("workers", 8)),
            unrouted_tag=str(raw.get("unrouted_tag", "fallback")),
            urgent_kinds=tuple(
                raw.get("urgent_kinds", ["deadline_breach", "breach", "major", "media"])
            ),
            quiet_hours=bool(raw.get("quiet_hours", True)),
            digest_roles=tuple(raw.get("digest_roles", ["supervisor"])),
            services=services,
            mentions=mentions,
            attach_max_bytes=int(raw.get("attach_max_bytes", 10_000_000)),
            consultation_place=str(raw.get("consultation_place", "")),
            admin_audience=str(raw.get("admin_audience", "role:admin")),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"配置 [notifications] 无效: {exc}") from exc
