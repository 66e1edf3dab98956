"""The architecture as an SVG drawing, laid out from the plan (``Analysis.steps``).

Data flows down. Every layer is a box labelled with its name, kind and output shape
(C×H×W); a group (block, branch, repetition, shortcut) is a labelled frame around its
steps; a merge's branches stand side by side and join in the merge node (⊕ add,
‖ concat, ⊗ multiply), an empty branch (identity) drawn as a plain line. Nothing is
collapsed: a ResNet-152 is a tall picture, meant to be scrolled.

The layout is a tree of boxes measured bottom-up: every part is centred on its column,
so a part's entry and exit are the middle of its top and bottom edges. Text widths are
estimated from per-character advances (no font is measured), rounded up so labels fit
whatever sans-serif the browser picks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from .. import arith
from ..engine.plan import GroupStep, LayerStep, MergeStep, ReadStep
from ..engine.result import Analysis, Row
from ..layers import KINDS

NODE_H = 36
NODE_MIN_W = 132
NODE_PAD_X = 12
GAP = 16
"""Vertical space between consecutive parts (the arrow)."""
FRAME_PAD_X = 8
FRAME_PAD_BOTTOM = 8
LABEL_LINE = 13
BRANCH_GAP = 14
IDENTITY_W = 28
FORK_Y = 8
"""The fork bar's height below a merge's entry."""
FORK_H = 24
"""From a merge's entry to the top of its branches."""
JOIN_H = 12
"""From the lowest branch to the join bar, and from the bar to the merge node."""
MARGIN = 12
NAME_SIZE = 12
SHAPE_SIZE = 11
LABEL_SIZE = 10.5
LABEL_CLEARANCE = 10
"""Space between a frame's label and the flow line down its middle."""

SVG_NAMESPACE = ' xmlns="http://www.w3.org/2000/svg"'

MERGE_SIGNS = {"add": "⊕", "concat": "‖", "multiply": "⊗"}

STYLE = """
.cn-d{font-family:"DejaVu Sans","Segoe UI",Helvetica,Arial,sans-serif}
.cn-d text{fill:#111827;text-anchor:middle}
.cn-d .fl,.cn-d .fk,.cn-d .lt{text-anchor:start}
.cn-d .e{fill:none;stroke:#6b7280;stroke-width:1.3}
.cn-d .n{stroke-width:1.2}
.cn-d .nm{font-size:12px;font-weight:600}
.cn-d .k{font-size:11px;fill:#4b5563}
.cn-d .s{font-size:11px;font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace}
.cn-d .f{fill:#f9fafb;stroke:#9ca3af;stroke-dasharray:4 3}
.cn-d .f2{fill:#f3f4f6}
.cn-d .fl{font-size:10.5px;font-weight:600;fill:#374151}
.cn-d .fk{font-size:10.5px;fill:#6b7280}
.cn-d a:hover .n{stroke-width:2.4}
.cn-d .conv{fill:#dbeafe;stroke:#2563eb}
.cn-d .linear{fill:#ede9fe;stroke:#7c3aed}
.cn-d .pool{fill:#dcfce7;stroke:#16a34a}
.cn-d .norm{fill:#fef9c3;stroke:#ca8a04}
.cn-d .activation{fill:#f3f4f6;stroke:#6b7280}
.cn-d .regularization,.cn-d .reshape,.cn-d .other{fill:#ffffff;stroke:#9ca3af}
.cn-d .merge{fill:#ffedd5;stroke:#ea580c}
.cn-d .warn{stroke:#dc2626;stroke-width:2}
"""


# ----------------------------------------------------------------------- text width

_NARROW = set("il.,:;'|!()[]{}jtfrI1 /")
_WIDE = set("mwMW%@")


def text_width(text: str, size: float, bold: bool = False) -> float:
    """An upper estimate of ``text``'s width in a sans-serif font at ``size`` px."""
    units = 0.0
    for char in text:
        if char in _NARROW:
            units += 0.36
        elif char in _WIDE:
            units += 0.9
        elif char.isupper() or char in "×⊕⊗‖−+=<>~_":
            units += 0.74
        elif char.isdigit():
            units += 0.64
        else:
            units += 0.62
    return units * size * (1.08 if bold else 1.0)


def mono_width(text: str, size: float) -> float:
    return len(text) * size * 0.61


def shape_label(shape: Sequence[Any]) -> str:
    """C×H×W (the tables' order)."""
    return "×".join(arith.as_factor(dim) for dim in shape)


def _category(kind: str) -> str:
    layer = KINDS.get(kind)
    if layer is None:
        return "merge" if kind in MERGE_SIGNS else "other"
    return str(getattr(layer, "category", "other"))


def _number(value: Any) -> str:
    return arith.as_text(value, thousands=True)


def _tooltip(row: Row) -> str:
    lines = [
        f"{row.path} ({row.kind})",
        f"input {shape_label(row.input_shape)} → output {shape_label(row.output_shape)}",
        f"params {_number(row.params)}, MACs {_number(row.macs)}",
    ]
    lines += [f"⚠ {warning}" for warning in row.warnings]
    return escape("\n".join(lines))


def _f(value: float) -> str:
    """Coordinates as short, deterministic text."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- layout


@dataclass
class _Part:
    width: float
    height: float
    head: bool = True
    """Whether an arrow arriving at this part ends in an arrowhead (a box) or not (a frame
    or a fork, which carry the line on inside)."""

    def draw(self, x: float, y: float, out: list[str], link: str | None) -> None:
        raise NotImplementedError


def _line(points: Sequence[tuple[float, float]], out: list[str], head: bool = False) -> None:
    """A polyline of vertical and horizontal segments, with an arrowhead (a chevron) at
    its end when ``head``."""
    if len(points) < 2 or all(point == points[0] for point in points):
        return
    (x0, y0), *rest = points
    path = [f"M{_f(x0)} {_f(y0)}"]
    for x, y in rest:
        path.append(f"V{_f(y)}" if x == x0 else f"H{_f(x)}" if y == y0 else f"L{_f(x)} {_f(y)}")
        x0, y0 = x, y
    if head:
        path.append(f"M{_f(x0 - 4)} {_f(y0 - 6)}L{_f(x0)} {_f(y0)}L{_f(x0 + 4)} {_f(y0 - 6)}")
    out.append(f'<path class="e" d="{"".join(path)}"/>')


@dataclass
class _Node(_Part):
    row: Row | None = None
    merge: bool = False

    def draw(self, x: float, y: float, out: list[str], link: str | None) -> None:
        assert self.row is not None
        row = self.row
        cx = x + self.width / 2
        category = _category(row.kind)
        warn = " warn" if row.warnings else ""
        radius = NODE_H / 2 if self.merge else 5
        name = row.name or row.path
        kind = f"{MERGE_SIGNS[row.kind]} {row.kind}" if row.kind in MERGE_SIGNS else row.kind
        body = [
            f'<rect class="n {category}{warn}" x="{_f(x)}" y="{_f(y)}" width="{_f(self.width)}"'
            f' height="{NODE_H}" rx="{_f(radius)}"/>',
            f'<text x="{_f(cx)}" y="{_f(y + 15)}">'
            f'<tspan class="nm">{escape(name)}</tspan><tspan class="k"> {escape(kind)}</tspan>'
            "</text>",
            f'<text class="s" x="{_f(cx)}" y="{_f(y + 29)}">'
            f"{escape(shape_label(row.output_shape))}</text>",
        ]
        title = f"<title>{_tooltip(row)}</title>"
        if link is not None:
            href = escape(link + row.path)
            out.append(f'<a href="{href}">{title}{"".join(body)}</a>')
        else:
            out.append(f"<g>{title}{''.join(body)}</g>")


def _node(row: Row, merge: bool = False) -> _Node:
    name = row.name or row.path
    kind = f"{MERGE_SIGNS[row.kind]} {row.kind}" if row.kind in MERGE_SIGNS else row.kind
    first = text_width(name, NAME_SIZE, bold=True) + text_width(" " + kind, SHAPE_SIZE)
    second = mono_width(shape_label(row.output_shape), SHAPE_SIZE)
    width = max(NODE_MIN_W, first + 2 * NODE_PAD_X, second + 2 * NODE_PAD_X)
    return _Node(round(width), NODE_H, True, row, merge)


@dataclass
class _Sequence(_Part):
    parts: list[_Part] = field(default_factory=list)

    def draw(self, x: float, y: float, out: list[str], link: str | None) -> None:
        cx = x + self.width / 2
        top = y
        for index, part in enumerate(self.parts):
            if index:
                _line([(cx, top - GAP), (cx, top)], out, head=part.head)
            part.draw(cx - part.width / 2, top, out, link)
            top += part.height + GAP


def _sequence(parts: list[_Part]) -> _Sequence:
    if not parts:
        return _Sequence(IDENTITY_W, 0, False, [])
    width = max(part.width for part in parts)
    height = sum(part.height for part in parts) + GAP * (len(parts) - 1)
    return _Sequence(width, height, parts[0].head, parts)


@dataclass
class _Frame(_Part):
    row: Row | None = None
    inner: _Part | None = None
    label_lines: int = 1
    depth: int = 0

    def draw(self, x: float, y: float, out: list[str], link: str | None) -> None:
        assert self.row is not None and self.inner is not None
        row, inner = self.row, self.inner
        cx = x + self.width / 2
        shade = " f2" if self.depth % 2 else ""
        label_h = LABEL_LINE * self.label_lines + 6
        frame = (
            f'<rect class="f{shade}" x="{_f(x)}" y="{_f(y)}" width="{_f(self.width)}"'
            f' height="{_f(self.height)}" rx="8"/>'
        )
        name = escape(row.name or row.path)
        kind = escape(_frame_kind(row.kind))
        lx, ly = x + FRAME_PAD_X, y + LABEL_LINE
        if self.label_lines == 1:
            label = (
                f'<text class="lt" x="{_f(lx)}" y="{_f(ly)}"><tspan class="fl">{name}</tspan>'
                f'<tspan class="fk"> {kind}</tspan></text>'
            )
        else:
            label = (
                f'<text class="fl" x="{_f(lx)}" y="{_f(ly)}">{name}</text>'
                f'<text class="fk" x="{_f(lx)}" y="{_f(ly + LABEL_LINE)}">{kind}</text>'
            )
        title = f"<title>{_tooltip(row)}</title>"
        if link is not None:
            out.append(f'<a href="{escape(link + row.path)}">{title}{frame}{label}</a>')
        else:
            out.append(f"<g>{title}{frame}{label}</g>")
        top = y + label_h
        bottom = y + self.height - FRAME_PAD_BOTTOM
        if inner.height:
            _line([(cx, y), (cx, top)], out, head=inner.head)
            inner.draw(cx - inner.width / 2, top, out, link)
            _line([(cx, top + inner.height), (cx, y + self.height)], out)
        else:
            _line([(cx, y), (cx, bottom)], out)


def _frame_kind(kind: str) -> str:
    """A frame's kind, short: ``block:basic_conv2d`` → ``basic_conv2d`` (the block's name)."""
    return kind.split(":", 1)[1] if kind.startswith("block:") else kind


def _frame(row: Row, inner: _Part, depth: int) -> _Frame:
    name = row.name or row.path
    kind = _frame_kind(row.kind)
    name_w = text_width(name, LABEL_SIZE, bold=True)
    kind_w = text_width(kind, LABEL_SIZE)
    content_w = inner.width + 2 * FRAME_PAD_X
    # The label sits top-left and must end before the flow line down the middle.
    one_line = name_w + text_width(" ", LABEL_SIZE) + kind_w
    if 2 * (FRAME_PAD_X + one_line + LABEL_CLEARANCE) <= content_w:
        lines, width = 1, content_w
    else:
        longest = max(name_w, kind_w)
        lines, width = 2, max(content_w, 2 * (FRAME_PAD_X + longest + LABEL_CLEARANCE))
    height = LABEL_LINE * lines + 6 + inner.height + FRAME_PAD_BOTTOM
    return _Frame(round(width), height, False, row, inner, lines, depth)


@dataclass
class _Merge(_Part):
    branches: list[_Part] = field(default_factory=list)
    node: _Node | None = None
    branches_width: float = 0
    reading: list[bool] = field(default_factory=list)
    """Per branch: it starts from an earlier output (``{from: enc4, …}``), not from the
    merge's input, so no line runs to it from the fork (a U-Net's crop-and-copy)."""

    def draw(self, x: float, y: float, out: list[str], link: str | None) -> None:
        assert self.node is not None
        cx = x + self.width / 2
        tallest = max(branch.height for branch in self.branches)
        top = y + FORK_H
        join = top + tallest + JOIN_H
        left = cx - self.branches_width / 2
        centres = []
        for branch in self.branches:
            centres.append(left + branch.width / 2)
            left += branch.width + BRANCH_GAP
        reading = self.reading or [False] * len(self.branches)
        fed = [cx] + [c for c, read in zip(centres, reading, strict=True) if not read]
        _line([(cx, y), (cx, y + FORK_Y)], out)
        _line([(min(fed), y + FORK_Y), (max(fed), y + FORK_Y)], out)
        _line([(centres[0], join), (centres[-1], join)], out)
        for centre, branch, read in zip(centres, self.branches, reading, strict=True):
            if branch.height:
                if not read:
                    _line([(centre, y + FORK_Y), (centre, top)], out, head=branch.head)
                branch.draw(centre - branch.width / 2, top, out, link)
                _line([(centre, top + branch.height), (centre, join)], out)
            else:
                _line([(centre, y + FORK_Y), (centre, join)], out)
        _line([(cx, join), (cx, join + JOIN_H)], out, head=True)
        self.node.draw(cx - self.node.width / 2, join + JOIN_H, out, link)


def _merge(step: MergeStep, depth: int) -> _Merge:
    branches: list[_Part] = [_sequence(_parts(branch, depth)) for branch in step.branches]
    node = _node(step.row, merge=True)
    if not branches:
        branches = [_sequence([])]
    branches_width = sum(branch.width for branch in branches) + BRANCH_GAP * (len(branches) - 1)
    width = max(branches_width, node.width)
    tallest = max(branch.height for branch in branches)
    height = FORK_H + tallest + 2 * JOIN_H + node.height
    reading = [_reads_first(branch) for branch in step.branches] or [False]
    return _Merge(width, height, False, branches, node, branches_width, reading)


def _reads_first(steps: Sequence[Any]) -> bool:
    """Whether a branch's first step reads an earlier output (inside its branch frame)."""
    if not steps:
        return False
    first = steps[0]
    if isinstance(first, GroupStep):
        return _reads_first(first.steps)
    return isinstance(first, ReadStep)


def _parts(steps: Sequence[Any], depth: int) -> list[_Part]:
    parts: list[_Part] = []
    for step in steps:
        if isinstance(step, LayerStep):
            parts.append(_node(step.row))
        elif isinstance(step, GroupStep):
            inner = _sequence(_parts(step.steps, depth + 1))
            parts.append(_frame(step.row, inner, depth))
        elif isinstance(step, MergeStep):
            parts.append(_merge(step, depth))
        elif isinstance(step, ReadStep):  # a graph edge from an earlier output
            parts.append(_terminal(f"from {step.row.path or 'input'}", step.row.output_shape))
    return parts


def _terminal(label: str, shape: Sequence[Any]) -> _Part:
    text = f"{label} {shape_label(shape)}"
    width = max(NODE_MIN_W * 0.75, mono_width(text, SHAPE_SIZE) + 2 * NODE_PAD_X)
    return _Terminal(round(width), 24, True, text)


@dataclass
class _Terminal(_Part):
    text: str = ""

    def draw(self, x: float, y: float, out: list[str], link: str | None) -> None:
        out.append(
            f'<rect class="n other" x="{_f(x)}" y="{_f(y)}" width="{_f(self.width)}"'
            f' height="{_f(self.height)}" rx="12"/>'
            f'<text class="s" x="{_f(x + self.width / 2)}" y="{_f(y + 16)}"'
            f">{escape(self.text)}</text>"
        )


def diagram_svg(analysis: Analysis, link: str | None = None, standalone: bool = True) -> str:
    """The architecture of ``analysis`` as one ``<svg>`` element.

    ``link``: a prefix for each box's ``href`` (``"#w-"`` links a box to the element with
    id ``w-<path>``, the worked step in the HTML report); None for no links.
    ``standalone``: declare the SVG namespace (for a ``.svg`` file); HTML5 needs none.
    """
    parts = [_terminal("input", analysis.input_shape)]
    parts += _parts(analysis.steps, 0)
    parts.append(_terminal("output", analysis.output_shape))
    flow = _sequence(parts)
    width = round(flow.width + 2 * MARGIN)
    height = round(flow.height + 2 * MARGIN)
    body: list[str] = []
    flow.draw(MARGIN, MARGIN, body, link)
    title = escape(f"Architecture of {analysis.name}")
    return (
        f'<svg{SVG_NAMESPACE if standalone else ""} class="cn-d" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{title}"><title>{title}</title><style>{STYLE.strip()}</style>'
        + "".join(body)
        + "</svg>"
    )
