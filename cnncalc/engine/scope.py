"""The engine's state along an edge (:class:`Flow`) and its naming scopes (:class:`Scope`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Loc, SpecError


@dataclass(frozen=True)
class Flow:
    """What travels along an edge of the network: a tensor's shape and its history."""

    shape: tuple[Any, ...]
    depth: int = 0
    field: tuple[tuple[Any, Any, Any], ...] = ((1, 1, 0), (1, 1, 0))
    """(receptive-field size, jump, start) per spatial axis; start is the input pixel where
    the first output's window begins (negative: inside the padding)."""
    source: str = ""
    """The path of the layer or merge that produced this tensor ('' for the network input):
    references to earlier outputs find it by this path, and an error about a width names it."""


@dataclass
class Scope:
    """A naming scope: the path prefix, the nesting level and the names used so far."""

    prefix: str
    level: int
    counters: dict[str, int] = field(default_factory=dict)
    used: dict[str, Loc | None] = field(default_factory=dict)
    """Names taken so far, with where each was first given."""

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def claim(self, given: str | None, auto_prefix: str, loc: Loc | None) -> str:
        if given is not None:
            if given in self.used:
                first = self.used[given]
                where = f" (first at line {first.line})" if first else ""
                raise SpecError(
                    f"name '{given}' is used twice in {self.prefix or 'the top level'}{where}",
                    loc,
                    layer=self.path(given),
                    key="name",
                    hint="names must be unique within their block",
                )
            self.used[given] = loc
            return given
        number = self.counters.get(auto_prefix, 0)
        while True:
            number += 1
            joiner = "_" if auto_prefix[-1:].isdigit() else ""  # relu6_1, not relu61
            name = f"{auto_prefix}{joiner}{number}"
            if name not in self.used:
                break
        self.counters[auto_prefix] = number
        self.used[name] = None
        return name

    def child(self, name: str) -> Scope:
        return Scope(self.path(name), self.level + 1)
