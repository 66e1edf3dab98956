"""The network as a plan of steps: what runs after what, and which branches merge.

The engine emits it alongside the rows; the torch builder, the exporter and the
architecture diagram read it. Three kinds of step:

- ``LayerStep``: one layer (its row holds the kind, resolved values and input shape);
- ``GroupStep``: a named group (block, branch, repetition, shortcut) with its own steps;
- ``MergeStep``: branches on the same input, each a list of steps (empty = identity),
  joined by concat, add or multiply. A residual block is an add of [body, shortcut];
  a dense layer is a concat of [identity, new features];
- ``ReadStep``: the current tensor becomes an earlier output (``from: enc1``), so the plan
  is a graph: a U-Net skip is a branch that starts with a read, a second head an item
  after a read. A read also resumes the main line after a training-only head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .result import Row


@dataclass(frozen=True)
class LayerStep:
    row: Row


@dataclass(frozen=True)
class GroupStep:
    row: Row
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class MergeStep:
    row: Row
    branches: tuple[tuple[Step, ...], ...]
    input_shape: tuple[Any, ...] = ()
    """The shape entering the merge (what an identity branch passes on; a branch that
    starts with a read begins elsewhere)."""
    input_field: tuple[Any, ...] = ()
    """The receptive field entering the merge."""


@dataclass(frozen=True)
class ReadStep:
    """Read the output of the row at ``path`` ('' is the network's input); ``row`` is that
    row (the input gets a row of kind ``input``), for its shape and receptive field."""

    path: str
    row: Row


Step = LayerStep | GroupStep | MergeStep | ReadStep
