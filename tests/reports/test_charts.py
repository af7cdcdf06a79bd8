"""The trend chart's count axis: whole, distinct tick labels and room for the largest bar."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from services.reporting import charts


@given(st.integers(min_value=0, max_value=10**9))
def test_the_axis_covers_the_largest_value_in_at_most_four_whole_steps(largest: int) -> None:
    step, steps = charts.axis(largest)
    assert 1 <= steps <= 4 and step >= 1
    assert step * steps >= largest
    # Not needlessly tall: one step fewer would not reach the largest value.
    assert step * (steps - 1) < max(largest, 1)


def _labels(svg: str) -> list[str]:
    return re.findall(r"text-anchor='end' fill='#666'>([0-9,]+)</text>", svg)


@given(st.lists(st.integers(min_value=0, max_value=500_000), min_size=1, max_size=12))
def test_no_two_tick_labels_of_the_trend_chart_read_the_same(volumes: list[int]) -> None:
    svg = charts.trend([(f"2026-{i + 1:02d}", v, v // 2) for i, v in enumerate(volumes)])
    labels = _labels(svg)
    assert labels[0] == "0" and len(labels) == len(set(labels)) >= 2
    values = [int(label.replace(",", "")) for label in labels]
    assert values == sorted(values) and values[-1] >= max(volumes)


def test_two_complaints_a_month_read_0_1_2() -> None:
    assert _labels(charts.trend([("2026-11", 2, 0), ("2026-12", 1, 1)])) == ["0", "1", "2"]
