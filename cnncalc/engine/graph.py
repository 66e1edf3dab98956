"""Graph references: every output the engine makes, findable by name later (``from: enc1``).

A reference is looked up from the scope of the item that makes it outwards, the way a
name in a nested function is: inside ``up2`` of a U-Net, ``from: enc2`` finds ``up2.enc2``
first, then ``enc2`` at the top. A dotted reference is a path below one of those scopes
(``layer1.0.conv2``); ``input`` is the network's input unless something else is named so.
Only outputs made before the reference exist yet, so a network written this way is a
directed acyclic graph by construction; a name that exists only further on is reported as
such (a cycle, or an order to swap), any other unknown name with the nearest known ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import Loc, SpecError, did_you_mean
from ..spec.nodes import MergeNode, Node, Spec, child_lists
from .result import Row

INPUT = "input"
"""The reference to the network's input (whose path is '')."""


@dataclass(frozen=True)
class Tensor:
    """An output made so far: the row that made it and what flows on from it."""

    path: str
    row: Row
    flow: Any
    """The engine's ``Flow`` (shape, depth, receptive field) at this output."""


class Tensors:
    """The outputs made so far, by path, and the names the spec gives anywhere."""

    def __init__(self, spec: Spec) -> None:
        self.made: dict[str, Tensor] = {}
        self.spec_names = set(_given_names(spec))

    def add(self, path: str, row: Row, flow: Any) -> None:
        self.made[path] = Tensor(path, row, flow)

    def find(self, reference: str, scope: str, loc: Loc | None, key: str = "from") -> Tensor:
        """The output ``reference`` names, seen from the scope ``scope`` (a path prefix)."""
        for prefix in _enclosing(scope):
            path = f"{prefix}.{reference}" if prefix else reference
            if path in self.made:
                return self.made[path]
        if reference == INPUT and "" in self.made:
            return self.made[""]
        raise self._missing(reference, scope, loc, key)

    def _missing(self, reference: str, scope: str, loc: Loc | None, key: str) -> SpecError:
        last = reference.rsplit(".", 1)[-1]
        layer = scope or None
        candidates = [
            f"{prefix}.{reference}" if prefix else reference for prefix in _enclosing(scope)
        ]
        if any(scope == path or scope.startswith(f"{path}.") for path in candidates):
            return SpecError(
                f"'{reference}' is the group this item is inside: its output is not made yet "
                "(a reference to it here would be a cycle)",
                loc,
                layer=layer,
                key=key,
                hint="refer to an output made before this item, e.g. the group's input",
            )
        if last in self.spec_names:
            return SpecError(
                f"'{reference}' is made later in the network: an item can only read outputs "
                "made before it (the network must be a graph without cycles)",
                loc,
                layer=layer,
                key=key,
                hint=f"move '{reference}' before this item, or refer to an earlier output",
            )
        visible = sorted(self._visible(scope))
        hint = did_you_mean(reference, visible)
        if not hint:
            shown = ", ".join(visible[-8:]) if visible else "none"
            hint = f"outputs made so far here include: {shown}"
        return SpecError(f"no output named '{reference}'", loc, layer=layer, key=key, hint=hint)

    def _visible(self, scope: str) -> Iterator[str]:
        """Names a reference from ``scope`` could use: paths relative to an enclosing scope."""
        seen: set[str] = set()
        for prefix in _enclosing(scope):
            for path in self.made:
                if not path:
                    continue
                if prefix and not path.startswith(f"{prefix}."):
                    continue
                relative = path[len(prefix) + 1 :] if prefix else path
                if relative not in seen:
                    seen.add(relative)
                    yield relative
        yield INPUT


def _enclosing(scope: str) -> list[str]:
    """``layer1.0`` → ``["layer1.0", "layer1", ""]``: the scopes a name is looked up in."""
    parts = scope.split(".") if scope else []
    return [".".join(parts[:count]) for count in range(len(parts), -1, -1)]


def _given_names(spec: Spec) -> Iterator[str]:
    """Every ``name:`` the spec writes (layers, groups, branches), in blocks too."""
    lists: list[Sequence[Node]] = [spec.layers, *(block.body for block in spec.blocks.values())]
    while lists:
        for node in lists.pop():
            if node.name is not None:
                yield node.name
            lists.extend(child_lists(node))
            if isinstance(node, MergeNode):
                yield from (branch.name for branch in node.branches if branch.name)
