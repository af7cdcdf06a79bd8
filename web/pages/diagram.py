"""The lifecycle diagram as SVG, drawn from the same table as docs/lifecycle.md's Mermaid
source (states/lifecycle.py ACTIONS), so that the page needs no diagram library.

States stand in columns by their distance from `registered` along the moves; a move to a later
column is a solid arrow, a move back (or within a column) a dashed curve. Each arrow's action
is its tooltip; the table under the diagram lists them all.
"""

from __future__ import annotations

from collections import deque
from html import escape

from states.lifecycle import ACTIONS, TERMINAL, State

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 128, 44, 64, 22, 16
FONT = "font-family='Noto Sans CJK SC,PingFang SC,Microsoft YaHei,sans-serif'"


def edges() -> list[tuple[State, State, str]]:
    """(from, to, "trigger 中文") of every move that changes the state."""
    out = []
    for a in ACTIONS:
        if a.dest is None:
            continue
        for src in a.sources:
            if src != a.dest:
                out.append((src, a.dest, f"{a.trigger} {a.label}"))
    return out


def columns() -> dict[State, int]:
    """Each state's column: its distance from `registered` (breadth first)."""
    nexts: dict[State, list[State]] = {}
    for src, dest, _ in edges():
        nexts.setdefault(src, []).append(dest)
    col = {State.registered: 0}
    todo = deque([State.registered])
    while todo:
        here = todo.popleft()
        for there in nexts.get(here, []):
            if there not in col:
                col[there] = col[here] + 1
                todo.append(there)
    last = max(col.values()) + 1
    return {s: col.get(s, last) for s in State}


def svg() -> str:
    col = columns()
    rows: dict[int, list[State]] = {}
    for s in State:
        rows.setdefault(col[s], []).append(s)
    where: dict[State, tuple[float, float]] = {}
    for c, states in rows.items():
        for r, s in enumerate(states):
            where[s] = (PAD + c * (BOX_W + GAP_X), PAD + 20 + r * (BOX_H + GAP_Y))
    width = PAD * 2 + (max(rows) + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + 20 + max(len(v) for v in rows.values()) * (BOX_H + GAP_Y)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='投诉生命周期' {FONT} "
        "font-size='12' class='lifecycle'>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
        "fill='#555'/></marker></defs>",
    ]
    for src, dest, label in edges():
        (x1, y1), (x2, y2) = where[src], where[dest]
        if col[dest] > col[src]:
            sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
            mid = (sx + ex) / 2
            path = f"M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} {mid:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"
            style = "stroke='#555'"
        else:
            sx, sy, ex, ey = x1 + BOX_W / 2, y1, x2 + BOX_W / 2, y2
            lift = 28 + abs(sx - ex) * 0.15
            top = min(sy, ey) - lift
            path = f"M{sx:.0f},{sy:.0f} C{sx:.0f},{top:.0f} {ex:.0f},{top:.0f} {ex:.0f},{ey:.0f}"
            style = "stroke='#999' stroke-dasharray='4 3'"
        parts.append(
            f"<path d='{path}' fill='none' {style} marker-end='url(#arrow)'>"
            f"<title>{escape(src.label)} → {escape(dest.label)}: {escape(label)}</title></path>"
        )
    for s, (x, y) in where.items():
        fill = "#f2f4f7" if s in TERMINAL or s == State.closed else "#e8f0fa"
        parts.append(
            f"<g><rect x='{x}' y='{y}' width='{BOX_W}' height='{BOX_H}' rx='8' fill='{fill}' "
            f"stroke='#2f6fb0'/><text x='{x + BOX_W / 2}' y='{y + 18}' text-anchor='middle'>"
            f"{escape(s.label[:9])}</text><text x='{x + BOX_W / 2}' y='{y + 34}' "
            f"text-anchor='middle' fill='#666' font-size='10'>{s.value}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
