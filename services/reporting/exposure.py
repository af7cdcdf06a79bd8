"""Exposure inputs for the ratio metrics (docs/rules.md §6): premium (亿元), policies in force and
insured persons per branch and period, read from small CSV files the finance side supplies.

One file per period, named by the `[reports] exposure_pattern` setting (default
`config/exposure/{period}.csv`, period `2026-10` or `2026Q3`), columns:
`branch,premium_100m,policies,insured_persons`. A quarter without its own file is the sum of
its three months; a span that is not whole months has no exposure (ratios show "—").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from services.reporting.periods import Period
from states.errors import InvalidInput


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
    total: dict[str, Exposure] = {}
    for m in months:
        for branch, exp in _read(path_for(m)).items():
            total.setdefault(branch, Exposure())
            total[branch] += exp
    return total
