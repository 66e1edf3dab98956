"""For which input sizes do a symbolic analysis' formulas hold?

``⌊H/4⌋ − 7`` is a row count only while it is at least 1: LeNet-5 in H needs H ≥ 32. The
formulas themselves cannot say so (sympy knows nothing of "a kernel must fit"), so the engine
answers the way a student would check it: by trying sizes. Each try is a numeric analysis
(milliseconds, no sympy), so the smallest valid size of each spatial symbol is found by
doubling and then bisecting. Each input shape is analysed once (a memo), and a symbol's own
search steps down from the joint answer instead of doubling up from 1 again: about 20
analyses for a network in H and W where there were 50 to 70.

Validity of a CNN grows with its input (a window that fits a size fits every larger one), so
the bisection is sound; the few sizes above the answer are tried too, so an odd size that fails
(a concat whose branches round differently) moves the answer up rather than being missed.
While one symbol is searched the others are held at a size where all of them together are
valid (found first, the same way), so a bound on one is never hidden by a too-small other.
Above that joint answer (up to its ABOVE sizes, all valid together) the others move with
the searched symbol: for a network that treats H and W alike these are the joint search's
own tries, and for any network whose axes are independent the answer is the same as with
the others held still.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import SpecError

LIMIT = 1 << 20
"""The largest size tried; a network that needs more is reported without a range."""

ABOVE = 8
"""Sizes just above the answer that must be valid too (both parities, and stride periods)."""

SCAN = 64
"""How far past the bisection's answer to look for ABOVE valid sizes in a row, at most."""


def smallest_inputs(
    analyse: Callable[[Sequence[Any]], Any], input_shape: Sequence[Any]
) -> Mapping[str, int]:
    """The smallest value of each symbol in H or W for which ``analyse`` (a numeric analysis
    of an input shape) succeeds, the other symbols held at a size where all of them together
    are valid; ``{}`` when the spatial sizes are numbers or no size up to LIMIT is valid."""
    if len(input_shape) != 3:
        return {}
    symbols = [dim for dim in input_shape[1:] if not isinstance(dim, int)]
    names = sorted({str(symbol) for dim in symbols for symbol in dim.free_symbols})
    if not names:
        return {}
    tried = _Tries(analyse, input_shape)
    together = _smallest(lambda size: tried.valid(dict.fromkeys(names, size)))
    if together is None:
        return {}
    found = {}
    for name in names:

        def valid(size: int, name: str = name) -> bool:
            held = max(size, together) if size <= together + ABOVE else together
            return tried.valid({**dict.fromkeys(names, held), name: size})

        # valid at ``together``: the smallest size lies at or below it, so bisecting
        # 0…together finds it without doubling up from 1 again
        smallest = _smallest(valid, start=together)
        if smallest is not None:
            found[name] = smallest
    return found


class _Tries:
    """Numeric analyses by concrete input shape, each made once: the searches meet the same
    shapes again (the bisection's answer is the scan's first size, a symbol's search starts
    where the search of all of them together ended)."""

    def __init__(self, analyse: Callable[[Sequence[Any]], Any], input_shape: Sequence[Any]):
        self.analyse = analyse
        self.input_shape = input_shape
        self.symbols = _symbols(input_shape)
        self.answers: dict[tuple[int, ...], bool] = {}

    def valid(self, sizes: Mapping[str, int]) -> bool:
        values = {symbol: sizes[str(symbol)] for symbol in self.symbols}
        shape = tuple(
            dim if isinstance(dim, int) else int(dim.subs(values)) for dim in self.input_shape
        )
        if shape not in self.answers:
            self.answers[shape] = _valid(self.analyse, shape)
        return self.answers[shape]


def bounds_text(valid_from: Mapping[str, int]) -> str:
    """``H ≥ 32, W ≥ 32``: the smallest sizes as the tables and the reports write them."""
    return ", ".join(f"{name} ≥ {size:,}" for name, size in valid_from.items())


def _valid(analyse: Callable[[Sequence[Any]], Any], shape: Sequence[int]) -> bool:
    if any(dim < 1 for dim in shape):
        return False
    try:
        analyse(list(shape))
    except SpecError:
        return False
    return True


def _symbols(input_shape: Sequence[Any]) -> set[Any]:
    return {
        symbol for dim in input_shape if not isinstance(dim, int) for symbol in dim.free_symbols
    }


def _smallest(valid: Callable[[int], bool], start: int | None = None) -> int | None:
    """The smallest n ≥ 1 with ``valid(n)`` … ``valid(n + ABOVE)`` all true, found by doubling
    and bisecting, then scanning at most SCAN sizes further; None when there is none.
    ``start``: a size known to be valid, which the bisection starts from instead of doubling."""
    if start is None:
        high = 1
        while not valid(high):
            high *= 2
            if high > LIMIT:
                return None
        low = high // 2  # invalid (or 0)
    else:  # down from a valid size in growing steps: one try when it is the answer itself
        high, step = start, 1
        while high - step >= 1 and valid(high - step):
            high, step = high - step, step * 2
        low = max(high - step, 0)  # invalid (or 0)
    while high - low > 1:
        middle = (low + high) // 2
        if valid(middle):
            high = middle
        else:
            low = middle
    for first in range(high, min(high + SCAN, LIMIT) + 1):
        if all(valid(size) for size in range(first, first + ABOVE + 1)):
            return first
    return None  # valid only at scattered sizes: no range to state
