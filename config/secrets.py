"""Secrets the configuration names but never holds: a value written `${NAME}` is taken from the
environment, else from the secrets file outside the repository (KEY=VALUE lines; `#` starts a
comment). The file is the one the notifications use: `TOUSU_NOTIFY_SECRETS`, else
`[notifications] secrets_file` (relative: under the installation, like config/).

The notification routing (notifications/routing.py) and the evidence object store
(services/casefile/evidence_store.py) both resolve their `${NAME}`s here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from config import PROJECT_ROOT, Config

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def secrets_file(config: Config, environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    value = env.get("TOUSU_NOTIFY_SECRETS") or str(
        config.section("notifications").get("secrets_file", "") or ""
    )
    if not value:
        return None
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_secrets(path: Path | None) -> dict[str, str]:
    if path is None or not path.exists():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def reference(value: str) -> str | None:
    """The NAME of a value that is exactly `${NAME}`; None for anything else."""
    found = REFERENCE.fullmatch(value.strip())
    return found.group(1) if found else None


def lookup(name: str, config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret `name`: the environment first, then the secrets file; None when unset."""
    env = os.environ if environ is None else environ
    if env.get(name):
        return env[name]
    return read_secrets(secrets_file(config, env)).get(name) or None
