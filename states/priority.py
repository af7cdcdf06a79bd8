"""Priority 一般/重点/重大 (docs/rules.md §4) from configurable thresholds; Art. 29 for 重大."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

Level = Literal["normal", "key", "major"]
ORDER: dict[Level, int] = {"normal": 0, "key": 1, "major": 2}


class Thresholds(Protocol):
    """What `assess` reads (config.Priority satisfies it). Read-only members, so that a
    narrower field type in the configuration (a Literal, an int amount) still matches."""

    @property
    def key_amount(self) -> float: ...
    @property
    def major_amount(self) -> float: ...
    @property
    def major_group_size(self) -> int: ...
    @property
    def key_group_size(self) -> int: ...
    @property
    def regulator_forwarded(self) -> Level: ...
    @property
    def media_involved(self) -> Level: ...
    @property
    def vulnerable(self) -> Level: ...
    @property
    def repeat(self) -> Level: ...


def assess(case: Mapping[str, Any], rules: Thresholds) -> tuple[str, list[str]]:
    """The highest priority any rule gives, with the reasons (zh-CN) that raised it."""
    found: list[tuple[Level, str]] = [("normal", "一般投诉")]
    amount = float(case.get("amount") or 0)
    group = int(case.get("group_size") or 1)
    if amount >= rules.major_amount:
        found.append(("major", f"涉及金额 ≥ {rules.major_amount:,.0f} 元"))
    elif amount >= rules.key_amount:
        found.append(("key", f"涉及金额 ≥ {rules.key_amount:,.0f} 元"))
    if group >= rules.major_group_size:
        found.append(("major", f"群体投诉 {group} 人(第二十九条)"))
    elif group >= rules.key_group_size:
        found.append(("key", f"群体投诉 {group} 人"))
    if case.get("major_designated"):
        found.append(("major", "监管认定或重大灾害事故引发(第二十九条)"))
    for flag, label in (
        ("regulator_forwarded", "监管转办"),
        ("media_involved", "涉及舆情"),
        ("vulnerable", "特殊群体消费者"),
        ("repeat", "重复投诉"),
    ):
        if case.get(flag):
            found.append((getattr(rules, flag), label))
    top = max(ORDER[level] for level, _ in found)
    level = next(k for k, v in ORDER.items() if v == top)
    return level, [why for lv, why in found if lv == level]
