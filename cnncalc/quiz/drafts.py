"""What a generator returns before the paper numbers it: a draft question.

A draft holds the prompt, the answer boxes (label, exact value, what it measures), the
working and the specs. :func:`draw` samples layers until the engine accepts them, so every
question is valid (or, for the questions about a configuration that cannot work, invalid in
the way the question says).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .model import Measure, QuizError

T = TypeVar("T")

MAX_TRIES = 400


@dataclass(frozen=True)
class Box:
    label: str
    value: Any
    measure: Measure
    marks: int = 1
    unit: str = ""
    decimals: int | None = None
    tolerance: float = 0.0


@dataclass
class Draft:
    title: str
    prompt: list[str]
    boxes: list[Box]
    working: list[str]
    specs: dict[str, str]
    table: list[tuple[str, ...]] = field(default_factory=list)

    def signature(self, topic: str) -> str:
        """The question without its wording: the specs and what is asked of them. Layer names
        are generated (conv1, pool1), so two drafts with equal signatures are one question."""
        return json.dumps(
            [
                topic,
                sorted(self.specs.values()),
                [
                    (
                        box.measure.quantity,
                        box.measure.spec,
                        box.measure.layer,
                        box.measure.axis,
                        box.measure.of,
                    )
                    for box in self.boxes
                ],
            ]
        )


def draw(rng: random.Random, make: Callable[[random.Random], T | None], what: str) -> T:
    """The first ``make(rng)`` that is not None (a sample the engine accepted)."""
    for _ in range(MAX_TRIES):
        result = make(rng)
        if result is not None:
            return result
    raise QuizError(
        f"could not draw a valid {what} question in {MAX_TRIES} tries"
    )  # pragma: no cover


def pick(rng: random.Random, values: Any) -> Any:
    """``rng.choice`` over a tuple or range (one call, so a seed always draws the same)."""
    return values[rng.randrange(len(values))]
