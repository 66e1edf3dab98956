"""The network as a plan of steps: what runs after what, and which branches merge.

The engine emits it alongside the rows; the torch builder, the exporter and the
architecture diagram read it. Three kinds of step:

- ``LayerStep``: one layer (its row holds the kind, resolved values and input shape);
- ``GroupStep``: a named group (block, branch, repetition, shortcut) with its own steps;
- ``MergeStep``: branches on the same input, each a list of steps (empty = identity),
  joined by concat, add or multiply. A residual block is an add of [body, shortcut];
  a dense layer is a concat of [identity, new features].
"""

from __future__ import annotations

from dataclasses import dataclass

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


Step = LayerStep | GroupStep | MergeStep
