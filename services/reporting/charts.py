"""Inline SVG charts for the HTML report: generated text, no JavaScript, no CDN, no network,
so the report opens the same on an offline compliance workstation. Pure string building."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

FONT = "font-family='PingFang SC,Microsoft YaHei,Noto Sans CJK SC,sans-serif'"
BLUE, ORANGE, GREY = "#2f6fb0", "#e07b39", "#d9d9d9"


def hbars(
    items: Sequence[tuple[str, float]],
    *,
    fmt: Callable[[float], str] = str,
    width: int = 560,
    limit: float | None = None,
    title: str = "",
) -> str:
    """Horizontal bars, one per (label, value); `limit` fixes the scale (1.0 for shares)."""
    row, left, pad = 24, 150, 60
    height = row * len(items) + 30
    top = max([limit or 0.0, *(v for _, v in items)]) or 1.0
    span = width - left - pad
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='{escape(title)}' {FONT} font-size='12'>",
        f"<text x='0' y='14' font-weight='bold'>{escape(title)}</text>",
    ]
    for i, (label, value) in enumerate(items):
        y = 24 + i * row
        w = max(0.0, value) / top * span
        parts.append(f"<text x='{left - 6}' y='{y + 14}' text-anchor='end'>{escape(label)}</text>")
        parts.append(
            f"<rect x='{left}' y='{y + 3}' width='{span}' height='15' fill='{GREY}' "
            "opacity='0.35'/>"
        )
        parts.append(f"<rect x='{left}' y='{y + 3}' width='{w:.1f}' height='15' fill='{BLUE}'/>")
        parts.append(f"<text x='{left + w + 4:.1f}' y='{y + 15}'>{escape(fmt(value))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def trend(
    points: Sequence[tuple[str, int, int]], *, width: int = 760, height: int = 260, title: str = ""
) -> str:
    """Monthly volume as columns and regulator-forwarded volume as a line."""
    left, bottom, top_pad = 46, 40, 30
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    tick, ticks = axis(max([1, *(v for _, v, _ in points)]))
    top = tick * ticks
    step = plot_w / max(len(points), 1)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='{escape(title)}' {FONT} font-size='11'>",
        f"<text x='0' y='14' font-weight='bold' font-size='12'>{escape(title)}</text>",
        f"<line x1='{left}' y1='{top_pad + plot_h}' x2='{width - 10}' "
        f"y2='{top_pad + plot_h}' stroke='#888'/>",
    ]
    for k in range(ticks + 1):
        y = top_pad + plot_h - plot_h * k / ticks
        parts.append(
            f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' fill='#666'>"
            f"{tick * k:,}</text>"
        )
    line = []
    for i, (label, volume, forwarded) in enumerate(points):
        x = left + i * step
        h = volume / top * plot_h
        parts.append(
            f"<rect x='{x + step * 0.15:.1f}' y='{top_pad + plot_h - h:.1f}' "
            f"width='{step * 0.7:.1f}' height='{h:.1f}' fill='{BLUE}'>"
            f"<title>{escape(label)}: {volume}</title></rect>"
        )
        parts.append(
            f"<text x='{x + step / 2:.1f}' y='{top_pad + plot_h + 14}' "
            f"text-anchor='middle' fill='#444'>{escape(label[2:])}</text>"
        )
        line.append(f"{x + step / 2:.1f},{top_pad + plot_h - forwarded / top * plot_h:.1f}")
    if line:
        parts.append(
            f"<polyline points='{' '.join(line)}' fill='none' stroke='{ORANGE}' stroke-width='2'/>"
        )
    parts.append(
        f"<rect x='{left}' y='{height - 14}' width='10' height='10' fill='{BLUE}'/>"
        f"<text x='{left + 14}' y='{height - 5}'>投诉量</text>"
        f"<rect x='{left + 70}' y='{height - 10}' width='14' height='3' "
        f"fill='{ORANGE}'/><text x='{left + 88}' y='{height - 5}'>监管转办量</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def axis(largest: int, most: int = 4) -> tuple[int, int]:
    """A count axis for values up to `largest`: (step, number of steps), the step a whole
    1, 2, 2.5 or 5 times a power of ten and at most `most` steps, so that no two tick labels
    read the same (a top of 2 in four equal steps would print 0, 0, 1, 2, 2)."""
    largest = max(1, largest)
    raw = largest / most
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(
        int(m * power)
        for m in (1, 2, 2.5, 5, 10)
        if m * power >= raw and float(m * power).is_integer()
    )
    return step, math.ceil(largest / step)
