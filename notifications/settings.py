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


@dataclass(frozen=True)
class ServiceLimits:
    """Per Apprise service: seconds between two sends (throttle) and socket timeouts."""

    rate: float = 0.0
    cto: float = 3.0
    rto: float = 5.0


@dataclass(frozen=True)
class NotifySettings:
    apprise_file: Path
    secrets_file: Path | None
    fallback_after: int = 3
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

    def limits(self, schema: str) -> ServiceLimits:
        return self.services.get(schema) or self.services.get("default") or ServiceLimits()


def _path(value: str, root: Path) -> Path:
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else root / p


def load_settings(config: Config, environ: dict[str, str] | None = None) -> NotifySettings:
    raw: dict[str, Any] = config.section("notifications")
    env = os.environ if environ is None else environ
    root = PROJECT_ROOT  # relative paths name files of the installation, like config/
    try:
        apprise_file = env.get("TOUSU_APPRISE_FILE") or raw.get(
            "apprise_file", "config/apprise.yaml"
        )
        secrets = env.get("TOUSU_NOTIFY_SECRETS") or raw.get("secrets_file", "")
        services = {
            name: ServiceLimits(**{k: float(v) for k, v in limits.items()})
            for name, limits in raw.get("services", {}).items()
        }
        return NotifySettings(
            apprise_file=_path(apprise_file, root),
            secrets_file=_path(secrets, root) if secrets else None,
            fallback_after=int(raw.get("fallback_after", 3)),
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
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"配置 [notifications] 无效: {exc}") from exc
