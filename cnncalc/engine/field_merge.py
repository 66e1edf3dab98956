"""The largest of several receptive-field sizes, kept flat so that its cost stays polynomial.

A residual block with squeeze-and-excitation merges a sliding window with a global pool's
whole-input extent; in H and W neither is always the larger, so the merged size is a max.
Written as ``max(a, b)`` and carried through the next layers it nests: the next merge
compares ``max(a, b) + c`` with a new extent, and the expression doubles at every block
(RegNet-Y's 16 blocks never finished). Here every size is taken as a flat list of linear
candidates — ``max(a, b) + c`` is ``[a + c, b + c]`` — and the candidates that another is
shown to exceed at every size are dropped (:func:`cnncalc.arith.maximum`'s proof), so the
list grows at most by one candidate per merge and the comparisons by its square.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from .. import arith


def candidates(size: Any) -> list[Any]:
    """``max(a, b) + c`` → [a + c, b + c]; a size with no max → [size]."""
    if isinstance(size, int | Fraction) or not hasattr(size, "func"):
        return [size]
    sp = arith._sympy()
    if isinstance(size, sp.Max):
        return [term for argument in size.args for term in candidates(argument)]
    if isinstance(size, sp.Add):
        maxima = [term for term in size.args if isinstance(term, sp.Max)]
        if len(maxima) == 1:
            rest = size - maxima[0]
            return [arith.normalize(term + rest) for term in candidates(maxima[0])]
    return [size]


def largest(sizes: Iterable[Any]) -> Any:
    """The max of ``sizes``, as one flat max of the candidates no other is shown to exceed."""
    kept: list[Any] = []
    for candidate in (term for size in sizes for term in candidates(size)):
        if any(_at_least(other, candidate) for other in kept):
            continue
        kept = [other for other in kept if not _at_least(candidate, other)]
        kept.append(candidate)
    if len(kept) == 1:
        return kept[0]
    return arith.normalize(arith._sympy().Max(*kept, evaluate=False))


def _at_least(first: Any, second: Any) -> bool:
    """first ≥ second at every size, as far as can be shown (equal formulas included)."""
    if isinstance(first, int | Fraction) and isinstance(second, int | Fraction):
        return first >= second
    return arith.maximum(first, second) == first
