"""Exposure inputs for the ratio metrics (docs/rules.md §6): premium (亿元), policies and insured
persons per branch and period, read from small CSV files the finance side supplies.

One file per period, named by the `[reports] exposure_pattern` setting (default
`config/exposure/{period}.csv`, period `2026-10` or `2026Q3`), columns:
`branch,premium_100m,policies,insured_persons`. Beside the files, `format.toml` (in the same
folder) says for each measure whether it is a flow or a stock, which decides how a quarter or
a span of whole months without its own file is made from its month files:
- `kind = "flow"` (premium written, new policies): the months are summed;
- `kind = "stock"` (policies in force, insured persons covered): a level at a moment, never
  summed: `take = "end"` is the last month's figure, `take = "average"` the mean of the months.
A span that is not whole months has no exposure (ratios show "—").
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from config import ConfigError
from services.reporting.periods import Period
from states.errors import InvalidInput

FORMAT_FILE = "format.toml"
MEASURES = ("premium_100m", "policies", "insured_persons")


@dataclass
class Exposure:
    premium_100m: float = 0.0  # 亿元
    policies: float = 0.0  # 张
    insured_persons: float = 0.0  # 人次

    def __iadd__(self, other: Exposure) -> Exposure:
        self.premium_100m += other.premium_100m
        self.policies += other.policies
        self.insured_persons += other.insured_persons
        return self


@dataclass(frozen=True)
class Measure:
    """How one measure adds up over months: summed (flow), or the end or average (stock)."""

    kind: Literal["flow", "stock"]
    take: Literal["sum", "end", "average"]


def read_format(path: Path) -> dict[str, Measure]:
    """The measures of `format.toml`; every measure must be declared (nothing is assumed)."""
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"缺少保费/保单/承保人次数据格式文件 {path}: 须为每项指标注明 kind = flow 或 stock"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"数据格式文件 {path} 格式错误: {exc}") from None
    out: dict[str, Measure] = {}
    for name in MEASURES:
        spec = raw.get(name)
        if not isinstance(spec, dict):
            raise ConfigError(f"数据格式文件 {path} 缺少指标 [{name}]")
        kind, take = spec.get("kind"), spec.get("take")
        if kind == "flow" and take in (None, "sum"):
            out[name] = Measure("flow", "sum")
        elif kind == "stock" and take in ("end", "average"):
            out[name] = Measure("stock", take)
        else:
            raise ConfigError(
                f"数据格式文件 {path} [{name}]: kind 须为 flow(按月求和) 或 stock"
                f"(take = end 取期末 / average 取月均), 当前 kind={kind!r} take={take!r}"
            )
    return out


def _read(path: Path) -> dict[str, Exposure]:
    out: dict[str, Exposure] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                out[row["branch"].strip()] = Exposure(
                    float(row.get("premium_100m") or 0),
                    float(row.get("policies") or 0),
                    float(row.get("insured_persons") or 0),
                )
            except (KeyError, ValueError) as exc:
                raise InvalidInput("exposure", f"{path} 第 {line} 行无效: {exc}") from None
    return out


def combine(months: list[dict[str, Exposure]], measures: dict[str, Measure]) -> dict[str, Exposure]:
    """Month files (in order) into one period's exposure per branch, measure by measure."""
    branches = sorted({b for month in months for b in month})
    out: dict[str, Exposure] = {}
    for branch in branches:
        values: dict[str, float] = {}
        for f in fields(Exposure):
            series = [getattr(m.get(branch, Exposure()), f.name) for m in months]
            take = measures[f.name].take
            if take == "sum":
                values[f.name] = sum(series)
            elif take == "end":
                values[f.name] = series[-1]
            else:
                values[f.name] = sum(series) / len(series)
        out[branch] = Exposure(**values)
    return out


def load(pattern: str, root: Path, period: Period) -> dict[str, Exposure] | None:
    """Exposure per branch for the period, or None when no file covers it."""

    def path_for(label: str) -> Path:
        p = Path(pattern.format(period=label))
        return p if p.is_absolute() else root / p

    own = path_for(period.label)
    if own.exists():
        return _read(own)
    months = period.months()
    if not months or not all(path_for(m).exists() for m in months):
        return None
    if len(months) == 1:
        return _read(path_for(months[0]))
    measures = read_format(path_for(months[0]).parent / FORMAT_FILE)
    return combine([_read(path_for(m)) for m in months], measures)
