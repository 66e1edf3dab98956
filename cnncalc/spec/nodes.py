"""The parsed spec: a tree of nodes that still holds raw field values and their positions.

Field values are resolved (arguments substituted, expressions evaluated, types checked)
by the engine, which knows each layer's path and input shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Loc
from .arguments import Arguments


@dataclass
class Node:
    loc: Loc
    name: str | None = None
    then: list[Node] = field(default_factory=list)
    inline: bool = False
    name_loc: Loc | None = None
    expect: dict[str, Any] = field(default_factory=dict)
    """Claimed answers for this layer or block (``expect:``), checked by ``cnncalc check``."""
    expect_locs: dict[str, Loc] = field(default_factory=dict)
    """A structure that is a block's whole body: it adds no group of its own."""
    source: str | None = None
    """``from:``: the item reads this earlier output (a name or dotted path) instead of the
    previous item's."""
    source_loc: Loc | None = None
    condition: Any = None
    """``if: expand != 1``: the item is present only when this holds (None: always)."""
    condition_loc: Loc | None = None
    training_only: bool = False
    """``training_only: true``: a side head (an auxiliary classifier) that runs in
    ``train()`` only; the items after it continue from its input."""


@dataclass
class LayerNode(Node):
    """One layer of a registered kind, e.g. ``conv: {filters: 96, kernel: 11}``."""

    kind: str = ""
    spelled: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    key_locs: dict[str, Loc] = field(default_factory=dict)
    value_locs: dict[str, Loc] = field(default_factory=dict)


@dataclass
class CallNode(Node):
    """A call of a block defined under ``blocks:``."""

    block: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    key_locs: dict[str, Loc] = field(default_factory=dict)


@dataclass
class SequenceNode(Node):
    items: list[Node] = field(default_factory=list)


@dataclass
class Branch:
    loc: Loc
    name: str | None
    items: list[Node]
    source: str | None = None
    """``{from: enc1}``: the branch starts from this earlier output, not the merge's input."""
    source_loc: Loc | None = None


@dataclass
class MergeNode(Node):
    """Branches on the same input, merged by ``concat``, ``add`` or ``multiply``."""

    merge: str = "concat"
    branches: list[Branch] = field(default_factory=list)


@dataclass
class ResidualNode(Node):
    body: list[Node] = field(default_factory=list)
    shortcut: str | list[Node] = "auto"
    shortcut_name: str = "downsample"
    shortcut_loc: Loc | None = None


@dataclass
class DenseNode(Node):
    count: Any = 1
    growth: Any = 1
    layer: list[Node] | None = None
    block: str | None = None
    with_args: dict[str, Any] = field(default_factory=dict)
    key_locs: dict[str, Loc] = field(default_factory=dict)


@dataclass
class RepeatNode(Node):
    count: Any = 1
    items: list[Node] | None = None
    block: str | None = None
    with_args: dict[str, Any] = field(default_factory=dict)
    first_args: dict[str, Any] = field(default_factory=dict)
    key_locs: dict[str, Loc] = field(default_factory=dict)


@dataclass
class BlockDef:
    name: str
    params: list[tuple[str, Any]]
    """(argument name, default value or ``REQUIRED``) in order."""
    body: list[Node]
    loc: Loc


@dataclass
class Spec:
    """A loaded spec: metadata, input, defaults, blocks and the layer tree."""

    file: str
    name: str
    input: list[Any]
    input_loc: Loc
    layers: list[Node]
    source: str | None = None
    description: str | None = None
    published: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_locs: dict[str, dict[str, Loc]] = field(default_factory=dict)
    blocks: dict[str, BlockDef] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list, repr=False)
    train: dict[str, Any] = field(default_factory=dict)
    """The ``train:`` section as written (a located mapping): settings for ``cnncalc train``."""
    expect: dict[str, Any] = field(default_factory=dict)
    """Claimed totals (``expect:`` at the top level)."""
    expect_locs: dict[str, Loc] = field(default_factory=dict)
    outputs: list[tuple[str, Loc]] = field(default_factory=list)
    """``outputs: [boxes, scores]``: the tensors the network returns (default: the last)."""
    arguments: Arguments = field(default_factory=Arguments)
    """``args:``: the spec's own arguments (a family's width, depth, ...), and ``--set``."""


def child_lists(node: Node) -> list[Sequence[Node]]:
    """The lists of nodes directly inside ``node``, its ``then:`` first: a sequence's items,
    each branch, a residual's body and listed shortcut, a dense block's layer, a repeat's
    body. Walks over the tree (key checks, the names a reference may use) go through here."""
    lists: list[Sequence[Node]] = [node.then]
    if isinstance(node, SequenceNode):
        lists.append(node.items)
    elif isinstance(node, MergeNode):
        lists.extend(branch.items for branch in node.branches)
    elif isinstance(node, ResidualNode):
        lists.append(node.body)
        if isinstance(node.shortcut, list):
            lists.append(node.shortcut)
    elif isinstance(node, DenseNode):
        lists.append(node.layer or [])
    elif isinstance(node, RepeatNode):
        lists.append(node.items or [])
    return lists
