"""Configuration: one TOML file (config/tousu.toml) plus the taxonomy, with environment overrides.

Owns reading and validating settings; entry points (CLI, flows, benchmarks) call
`load_config()` once and pass the result down. Imports nothing of the project.

Overrides, strongest first:
  TOUSU__SECTION__KEY=value   one value (TOML syntax accepted: numbers, booleans, lists)
  TOUSU_DATABASE_URL          shorthand for TOUSU__DATABASE__URL
  TOUSU_CONFIG=/path.toml     a file whose tables replace the defaults key by key
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DEFAULT_FILE = PACKAGE_DIR / "tousu.toml"
TAXONOMY_FILE = PACKAGE_DIR / "taxonomy.toml"


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the setting."""


class DeadlineRule(BaseModel):
    label: str
    start: str
    amount: int = Field(gt=0)
    unit: Literal["hours", "calendar_days", "working_days"]
    pausable: bool = False
    extensions: list[int] = []
    # False for the complainant's own windows (review_request): nothing to escalate.
    escalate: bool = True
    rule: str
    # False: the rule is kept but no clock of it is started (the optional acceptance notice).
    enabled: bool = True


class EscalationLevel(BaseModel):
    code: str
    label: str
    at_fraction: float = Field(gt=0, le=1)
    after_due_days: int = 0
    to: str
    level: int


class Calendar(BaseModel):
    holiday_roll_forward: bool = False
    verified_years: list[int] = []
    extra_holidays: list[str] = []
    extra_workdays: list[str] = []
    workday_start: time = time(9, 0)
    workday_end: time = time(18, 0)


class Priority(BaseModel):
    key_amount: float = 100_000
    major_amount: float = 1_000_000
    major_group_size: int = 20
    key_group_size: int = 5
    regulator_forwarded: Literal["normal", "key", "major"] = "key"
    media_involved: Literal["normal", "key", "major"] = "key"
    vulnerable: Literal["normal", "key", "major"] = "key"
    repeat: Literal["normal", "key", "major"] = "key"


class Repeat(BaseModel):
    window_days: int = 180
    match: list[str] = ["complainant", "policy", "category"]
    identifiers: list[Literal["id_number", "phone", "policy_name"]] = [
        "id_number",
        "phone",
        "policy_name",
    ]
    backlog_open_days: int = 60
    backlog_repeat_count: int = 3
    backlog_group_size: int = 5
    backlog_group_open_days: int = 15
    merge_states: list[str] = [
        "registered",
        "accepted",
        "investigating",
        "negotiating",
        "appraisal",
        "consulting",
        "decided",
        "mediating",
        "reopened",
    ]
    new_facts: Literal["differs", "always", "never"] = "differs"


# The institution hierarchy (Art. 20; seed practice: 总公司 / 分公司 / 中心支公司), highest first.
INSTITUTION_LEVELS: dict[str, str] = {
    "head_office": "总公司",
    "branch": "分公司",
    "central_sub": "中心支公司",
}


class Institution(BaseModel):
    """Where a branch code sits: its level and the institution directly above it."""

    level: Literal["head_office", "branch", "central_sub"] = "branch"
    parent: str | None = "head_office"


class Taxonomy(BaseModel):
    categories: dict[str, str]
    products: dict[str, str]
    channels: dict[str, str]
    # Code → label. In taxonomy.toml an entry is a label, or a table with `label`, `level`
    # and `parent`; a bare label is a 分公司 under head_office.
    branches: dict[str, str]
    institutions: dict[str, Institution] = {}

    @model_validator(mode="before")
    @classmethod
    def _split_branches(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("branches"), dict):
            return data
        labels: dict[str, Any] = {}
        places: dict[str, Any] = {}
        for code, entry in data["branches"].items():
            if isinstance(entry, dict):
                labels[code] = entry.get("label", code)
                places[code] = {k: v for k, v in entry.items() if k in ("level", "parent")}
            else:
                labels[code] = entry
                places[code] = {}
            if code == "head_office":
                places[code] = {"level": "head_office", "parent": None, **places[code]}
        return {**data, "branches": labels, "institutions": places}

    @model_validator(mode="after")
    def _check_hierarchy(self) -> Taxonomy:
        order = list(INSTITUTION_LEVELS)
        for code, place in self.institutions.items():
            if place.level == "head_office":
                if place.parent is not None:
                    raise ValueError(f"branches.{code}: 总公司没有上级机构")
                continue
            parent = self.institutions.get(place.parent or "")
            if parent is None:
                raise ValueError(
                    f"branches.{code}.parent: 上级机构 {place.parent} 不在 branches 中"
                )
            if order.index(parent.level) >= order.index(place.level):
                raise ValueError(
                    f"branches.{code}: 上级机构 {place.parent} 的层级须高于"
                    f"{INSTITUTION_LEVELS[place.level]}"
                )
        return self

    def above(self, code: str) -> list[str]:
        """The institutions above `code`, nearest first (empty for head office or unknown)."""
        chain: list[str] = []
        place = self.institutions.get(code)
        while place is not None and place.parent is not None and place.parent not in chain:
            chain.append(place.parent)
            place = self.institutions.get(place.parent)
        return chain

    def level_of(self, code: str) -> str:
        place = self.institutions.get(code)
        return place.level if place is not None else "branch"


class Config(BaseModel):
    database_url: str
    # `[database] sqlite_cache_mib`: SQLite's page cache per connection (storage/db.py).
    sqlite_cache_mib: int = Field(default=64, ge=1, le=4096)
    timezone: str = "Asia/Shanghai"
    data_dir: Path
    key_file: Path
    # The personal-data key itself when given as TOUSU_KEY (never printed).
    key: str = Field(default="", repr=False)
    default_user: str = ""
    calendar: Calendar = Calendar()
    deadlines: dict[str, DeadlineRule]
    escalation: list[EscalationLevel]
    priority: Priority = Priority()
    repeat: Repeat = Repeat()
    retention_years: int = Field(default=10, ge=1)
    # Keep the keyed hashes (storage/vault.py) of erased parties: repeat matching and
    # `tousu find` still recognise the person, who can no longer be read.
    retention_keep_hashes: bool = False
    taxonomy: Taxonomy
    # Sections later features add (notifications, flows, ledger, callbacks, reports) are kept
    # as raw tables and validated by the feature that reads them.
    extra: dict[str, Any] = {}

    @field_validator("deadlines")
    @classmethod
    def _required_deadlines(cls, value: dict[str, DeadlineRule]) -> dict[str, DeadlineRule]:
        required = {
            "acceptance",
            "investigation",
            "internal_target",
            "decision",
            "review_request",
            "review_decision",
        }
        missing = required - value.keys()
        if missing:
            raise ValueError(f"deadlines 缺少规则: {', '.join(sorted(missing))}")
        return value

    def section(self, name: str) -> dict[str, Any]:
        """A raw configuration table owned by a later feature (empty if absent)."""
        return dict(self.extra.get(name, {}))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    if environ.get("TOUSU_DATABASE_URL"):
        tree = _merge(tree, {"database": {"url": environ["TOUSU_DATABASE_URL"]}})
    for name, raw in environ.items():
        if not name.startswith("TOUSU__"):
            continue
        path = [part.lower() for part in name[len("TOUSU__") :].split("__") if part]
        node: dict[str, Any] = {}
        cursor = node
        for part in path[:-1]:
            cursor[part] = {}
            cursor = cursor[part]
        cursor[path[-1]] = _parse_env_value(raw)
        tree = _merge(tree, node)
    return tree


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"配置文件不存在: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件格式错误 {path}: {exc}") from exc


def load_config(
    path: Path | None = None, environ: dict[str, str] | None = None, root: Path | None = None
) -> Config:
    """Read the defaults, the file named by TOUSU_CONFIG (or `path`), then the environment."""
    env = dict(os.environ if environ is None else environ)
    raw = _read(DEFAULT_FILE)
    override = path or (Path(env["TOUSU_CONFIG"]) if env.get("TOUSU_CONFIG") else None)
    if override is not None:
        raw = _merge(raw, _read(override))
    raw = _merge(raw, _env_overrides(env))
    taxonomy = _read(TAXONOMY_FILE)
    if "taxonomy" in raw:
        taxonomy = _merge(taxonomy, raw.pop("taxonomy"))

    base = Path(root) if root else Path(env.get("TOUSU_ROOT", PROJECT_ROOT))
    general = raw.get("general", {})
    data_dir = Path(general.get("data_dir", "data"))
    data_dir = data_dir if data_dir.is_absolute() else base / data_dir
    # The personal-data key lives outside the data directory (a copy of `data/` must not
    # carry the key to its own database): by default in the user's configuration directory.
    key_file = Path(
        env.get("TOUSU_KEY_FILE") or general.get("key_file", "~/.config/tousu/tousu.key")
    ).expanduser()
    key_file = key_file if key_file.is_absolute() else base / key_file
    url = raw.get("database", {}).get("url") or f"sqlite:///{data_dir / 'tousu.db'}"
    known = {
        "database",
        "general",
        "calendar",
        "deadlines",
        "escalation",
        "priority",
        "repeat",
        "retention",
    }
    try:
        return Config(
            database_url=url,
            sqlite_cache_mib=raw.get("database", {}).get(
                "sqlite_cache_mib", Config.model_fields["sqlite_cache_mib"].default
            ),
            timezone=general.get("timezone", "Asia/Shanghai"),
            data_dir=data_dir,
            key_file=key_file,
            key=env.get("TOUSU_KEY", ""),
            default_user=general.get("default_user", ""),
            calendar=Calendar(**raw.get("calendar", {})),
            deadlines={k: DeadlineRule(**v) for k, v in raw.get("deadlines", {}).items()},
            escalation=[
                EscalationLevel(**lv) for lv in raw.get("escalation", {}).get("levels", [])
            ],
            priority=Priority(**raw.get("priority", {})),
            repeat=Repeat(**raw.get("repeat", {})),
            retention_years=raw.get("retention", {}).get("years", 10),
            retention_keep_hashes=raw.get("retention", {}).get("keep_hashes", False),
            taxonomy=Taxonomy(**taxonomy),
            extra={k: v for k, v in raw.items() if k not in known},
        )
    except (ValidationError, TypeError) as exc:
        raise ConfigError(f"配置无效: {exc}") from exc
