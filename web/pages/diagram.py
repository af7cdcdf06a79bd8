"""The lifecycle diagram as SVG, drawn from the same table as docs/lifecycle.md's Mermaid
source (states/lifecycle.py ACTIONS), so that the page needs no diagram library.

The open and closed states stand in columns by their distance from `registered`; a move to a
later column is a solid arrow, a move back runs over the top as a dashed arrow, a move within a
column is a short arrow down or a dashed arc. The final states (withdrawn, declined, merged) sit
in a row below; a move every open state may make (e.g. withdraw) is drawn once, from a box
standing for all of them. Each arrow's action is its tooltip; the tables under the diagram list
them all.
"""

from __future__ import annotations

from collections import deque
from html import escape

from states.lifecycle import ACTIONS, OPEN, TERMINAL, State

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 132, 44, 60, 22, 16
LANE = 9  # vertical spacing of the arcs that run back over the top
FONT = "font-family='Noto Sans CJK SC,PingFang SC,Microsoft YaHei,sans-serif'"
ANY_OPEN = "any_open"  # the box standing for every open state


def edges() -> list[tuple[str, str, str]]:
    """(from, to, "trigger 中文") of every move that changes the state; a move from every open
    state comes once, from ANY_OPEN."""
    out = []
    for a in ACTIONS:
        if a.dest is None:
            continue
        label = f"{a.trigger} {a.label}"
        if set(OPEN) <= set(a.sources):
            out.append((ANY_OPEN, a.dest.value, label))
            rest = [s for s in a.sources if s not in OPEN]
        else:
            rest = list(a.sources)
        out += [(s.value, a.dest.value, label) for s in rest if s != a.dest]
    return out


def layout() -> dict[str, tuple[int, int]]:
    """(column, row) of each box: columns by distance from `registered` along the moves
    between open and closed states; the final states and ANY_OPEN in a row below them."""
    final = {s.value for s in TERMINAL}
    nexts: dict[str, list[str]] = {}
    for src, dest, _ in edges():
        if src != ANY_OPEN and dest not in final:
            nexts.setdefault(src, []).append(dest)
    col = {State.registered.value: 0}
    todo = deque([State.registered.value])
    while todo:
        here = todo.popleft()
        for there in nexts.get(here, []):
            if there not in col:
                col[there] = col[here] + 1
                todo.append(there)
    last = max(col.values()) + 1
    where: dict[str, tuple[int, int]] = {}
    used: dict[int, int] = {}
    for s in State:
        if s.value in final:
            continue
        c = col.get(s.value, last)
        where[s.value] = (c, used.get(c, 0))
        used[c] = used.get(c, 0) + 1
    bottom = max(used.values())
    right = max(c for c, _ in where.values())
    # Below the early columns, the final states reached from a few of them; at the right,
    # the box standing for every open state and the final states it leads to.
    from_any = sorted({dest for src, dest, _ in edges() if src == ANY_OPEN})
    where[ANY_OPEN] = (max(0, right - len(from_any)), bottom)
    taken = {where[ANY_OPEN][0]}
    for i, key in enumerate(from_any):
        where[key] = (where[ANY_OPEN][0] + 1 + i, bottom)
        taken.add(where[key][0])
    for s in sorted(TERMINAL, key=lambda t: t.value):
        if s.value in where:
            continue
        sources = [where[src][0] for src, dest, _ in edges() if dest == s.value and src in where]
        c = min(sources) if sources else 0
        while c in taken:
            c += 1
        taken.add(c)
        where[s.value] = (c, bottom)
    return where


def _label(key: str) -> tuple[str, str]:
    if key == ANY_OPEN:
        return "任一在办状态", "open"
    state = State(key)
    return state.label.split("(")[0], state.value


def svg() -> str:
    grid = layout()
    moves = edges()
    back = [m for m in moves if grid[m[1]][0] < grid[m[0]][0] and m[1] not in _bottom(grid)]
    top = PAD + 24 + LANE * len(back)
    pos = {
        k: (
            PAD + c * (BOX_W + GAP_X),
            top + r * (BOX_H + GAP_Y) + (GAP_Y if k in _bottom(grid) else 0),
        )
        for k, (c, r) in grid.items()
    }
    width = max(x for x, _ in pos.values()) + BOX_W + GAP_X  # room for the last gap
    height = max(y for _, y in pos.values()) + BOX_H + PAD
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='投诉生命周期' {FONT} "
        "font-size='12' class='lifecycle'>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
        "fill='#555'/></marker></defs>",
    ]
    lane = 0
    low = _bottom(grid)
    for src, dest, label in moves:
        (x1, y1), (x2, y2) = (float(v) for v in pos[src]), (float(v) for v in pos[dest])
        (c1, r1), (c2, r2) = grid[src], grid[dest]
        dashed = False
        if y2 >= y1 + BOX_H and dest in low and src not in low:  # down to a final state
            sx, sy, ex, ey = x1 + BOX_W / 2, y1 + BOX_H, x2 + BOX_W / 2, y2
            bend = (ey - sy) / 2
            path = (
                f"M{sx:.0f},{sy:.0f} C{sx:.0f},{sy + bend:.0f} {ex:.0f},{ey - bend:.0f} "
                f"{ex:.0f},{ey:.0f}"
            )
        elif c2 > c1:
            sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
            mid = (sx + ex) / 2
            path = f"M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} {mid:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"
        elif c2 == c1 and r2 == r1 + 1:  # the box just below
            sx, sy, ey = x1 + BOX_W / 2, y1 + BOX_H, y2
            path = f"M{sx:.0f},{sy:.0f} L{sx:.0f},{ey:.0f}"
        elif c2 == c1:  # further down or up the same column: an arc on the right
            sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H / 2, x2 + BOX_W, y2 + BOX_H / 2
            out = sx + 26
            path = f"M{sx:.0f},{sy:.0f} C{out:.0f},{sy:.0f} {out:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"
            dashed = True
        else:  # back to an earlier column: over the top, each on its own lane
            lane += 1
            high = float(PAD + 16 + LANE * (len(back) - lane))
            off = 3 * (lane % 5)
            points: list[tuple[float, float]]
            if r1 == 0:
                points = [(x1 + BOX_W / 2 + 8, y1), (x1 + BOX_W / 2 + 8, high)]
            else:  # out of the right side, up the gap beside the column
                gap = x1 + BOX_W + GAP_X / 2 + off
                points = [(x1 + BOX_W, y1 + BOX_H / 2), (gap, y1 + BOX_H / 2), (gap, high)]
            if r2 == 0:
                points += [(x2 + BOX_W / 2 - 8, high), (x2 + BOX_W / 2 - 8, y2)]
            else:  # down the gap before the column, into the left side
                gap = x2 - GAP_X / 2 - off
                points += [(gap, high), (gap, y2 + BOX_H / 2), (x2, y2 + BOX_H / 2)]
            path = "M" + " L".join(f"{x:.0f},{y:.0f}" for x, y in points)
            dashed = True
        style = "stroke='#999' stroke-dasharray='4 3'" if dashed else "stroke='#555'"
        what = f"{_label(src)[0]} → {_label(dest)[0]}: {label}"
        parts.append(
            f"<path d='{path}' fill='none' {style} marker-end='url(#arrow)'>"
            f"<title>{escape(what)}</title></path>"
        )
    final = {s.value for s in TERMINAL} | {State.closed.value}
    for key, (x, y) in pos.items():
        name, code = _label(key)
        fill = "#f2f4f7" if key in final else "#e8f0fa"
        dash = " stroke-dasharray='5 3'" if key == ANY_OPEN else ""
        parts.append(
            f"<g><rect x='{x}' y='{y}' width='{BOX_W}' height='{BOX_H}' rx='8' fill='{fill}' "
            f"stroke='#2f6fb0'{dash}/><text x='{x + BOX_W / 2}' y='{y + 18}' "
            f"text-anchor='middle'>{escape(name)}</text><text x='{x + BOX_W / 2}' y='{y + 34}' "
            f"text-anchor='middle' fill='#666' font-size='10'>{code}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _bottom(grid: dict[str, tuple[int, int]]) -> set[str]:
    row = grid[ANY_OPEN][1]
    return {k for k, (_, r) in grid.items() if r == row}
