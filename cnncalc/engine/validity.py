"""For which input sizes do a symbolic analysis' formulas hold?

``⌊H/4⌋ − 7`` is a row count only while it is at least 1: LeNet-5 in H needs H ≥ 32. The
formulas themselves cannot say so (sympy knows nothing of "a kernel must fit"), so the engine
answers the way a student would check it: by trying sizes. Each try is a numeric analysis
(milliseconds, no sympy), so the smallest valid size of each spatial symbol is found by
doubling and then bisecting.

Validity of a CNN grows with its input (a window that fits a size fits every larger one), so
the bisection is sound; the few sizes above the answer are tried too, so an odd size that fails
(a concat whose branches round differently) moves the answer up rather than being missed.
While one symbol is searched the others are held at a size where all of them together are
valid (found first, the same way), so a bound on one is never hidden by a too-small other.
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
    together = _smallest(lambda size: _valid(analyse, input_shape, dict.fromkeys(names, size)))
    if together is None:
        return {}
    found = {}
    for name in names:

        def valid(size: int, name: str = name) -> bool:
            held = {**dict.fromkeys(names, together), name: size}
            return _valid(analyse, input_shape, held)

        smallest = _smallest(valid)
        if smallest is not None:
            found[name] = smallest
    return found


def bounds_text(valid_from: Mapping[str, int]) -> str:
    """``H ≥ 32, W ≥ 32``: the smallest sizes as the tables and the reports write them."""
    return ", ".join(f"{name} ≥ {size:,}" for name, size in valid_from.items())


def _valid(
    analyse: Callable[[Sequence[Any]], Any], input_shape: Sequence[Any], sizes: Mapping[str, int]
) -> bool:
    values = {symbol: sizes[str(symbol)] for symbol in _symbols(input_shape)}
    shape = [dim if isinstance(dim, int) else int(dim.subs(values)) for dim in input_shape]
    if any(dim < 1 for dim in shape):
        return False
    try:
        analyse(shape)
    except SpecError:
        return False
    return True


def _symbols(input_shape: Sequence[Any]) -> set[Any]:
    return {
        symbol for dim in input_shape if not isinstance(dim, int) for symbol in dim.free_symbols
    }


def _smallest(valid: Callable[[int], bool]) -> int | None:
    """The smallest n ≥ 1 with ``valid(n)`` … ``valid(n + ABOVE)`` all true, found by doubling
    and bisecting, then scanning at most SCAN sizes further; None when there is none."""
    high = 1
    while not valid(high):
        high *= 2
        if high > LIMIT:
            return None
    low = high // 2  # invalid (or 0)
    while high - low > 1:
        middle = (low + high) // 2
        if valid(middle):
            high = middle
        else:
            low = middle
    for start in range(high, min(high + SCAN, LIMIT) + 1):
        if all(valid(size) for size in range(start, start + ABOVE + 1)):
            return start
    return None  # valid only at scattered sizes: no range to state
