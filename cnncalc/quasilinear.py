"""Formulas that only wobble: deciding ⌊(⌊(H − 60)/8⌋ − 2·⌊(H − 124)/16⌋)/2⌋ = 4 for every H.

A size formula of a CNN is built from the input symbols by sums, rational multiples and
floors (ceilings) of such sums: it is *quasi-linear*, ``f(H) = s·H + p(H)`` with a rational
slope s and a p that repeats with some period P (for ⌊(a·H + b)/d⌋, P is d over gcd(a, d);
sums and nested roundings take the lcm). The difference of two such formulas with the same
slope is periodic, so its least and greatest value over every whole H is found by
evaluating it over one period — an exact decision where sympy's assumptions can only bound
(⌊y⌋ ≥ y − 1 loses the rounding that makes a U-Net's crop offset a constant).

Used by :func:`cnncalc.arith` to order two receptive-field windows and to fold a crop's
offset to a number: without it every crop-and-concat of a symbolic U-Net nested a sympy
Max inside the next, and the analysis took minutes.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from functools import cache
from typing import Any

LARGEST_GRID = 4096
"""The most points (period of H times period of W) evaluated to decide one formula."""


@cache
def value_range(value: Any) -> tuple[Fraction, Fraction] | None:
    """(least, greatest) of ``value`` over all whole values of its symbols, when it is a
    periodic quasi-linear formula (every slope 0) with a period grid of at most LARGEST_GRID
    points; None otherwise (a slope, a product of two symbols, a max, too long a period)."""
    form = _form(value)
    if form is None:
        return None
    slopes, periods = form
    if any(slopes.values()):
        return None
    symbols = sorted(periods, key=str)
    if math.prod(periods[symbol] for symbol in symbols) > LARGEST_GRID:
        return None
    values = [
        _evaluate(value, dict(zip(symbols, point, strict=True)))
        for point in itertools.product(*(range(1, periods[symbol] + 1) for symbol in symbols))
    ]
    return min(values), max(values)


def periods(value: Any) -> dict[Any, int] | None:
    """After how many steps of each symbol ``value`` repeats up to its slope (⌊(H − 12)/16⌋:
    16 in H); None when it is not quasi-linear."""
    form = _form(value)
    return None if form is None else form[1]


def evaluate(value: Any, point: dict[Any, int]) -> Fraction:
    """``value`` at whole symbol values, exactly; ValueError for what it cannot evaluate."""
    try:
        return _evaluate(value, point)
    except (KeyError, AttributeError, IndexError, TypeError) as error:
        raise ValueError(f"cannot evaluate {value}") from error


def constant(value: Any) -> int | None:
    """The whole number a periodic formula always equals, else None."""
    found = value_range(value)
    if found is None or found[0] != found[1] or found[0].denominator != 1:
        return None
    return int(found[0])


Form = tuple[dict[Any, Fraction], dict[Any, int]]
"""(slope per symbol, period per symbol) of a quasi-linear formula."""


def _form(value: Any) -> Form | None:
    """The slopes and periods of ``value``, or None when it is not quasi-linear."""
    import sympy as sp

    if value.is_Rational:
        return {}, {}
    if value.is_Symbol:
        return {value: Fraction(1)}, {value: 1}
    if value.is_Add:
        return _sum([_form(term) for term in value.args])
    if value.is_Mul:
        coefficient, rest = value.as_coeff_Mul()
        if not coefficient.is_Rational or rest.is_Mul:
            return None  # a product of two non-constant terms
        inner = _form(rest)
        if inner is None:
            return None
        scale = Fraction(int(coefficient.p), int(coefficient.q))
        return {symbol: slope * scale for symbol, slope in inner[0].items()}, inner[1]
    if isinstance(value, sp.floor | sp.ceiling):
        inner = _form(value.args[0])
        if inner is None:
            return None
        slopes, periods = inner
        # g(H + P) = g(H) + s·P: the rounding repeats once s·P is whole
        return slopes, {
            symbol: period * (slopes.get(symbol, Fraction(0)) * period).denominator
            for symbol, period in periods.items()
        }
    return None


def _sum(forms: list[Form | None]) -> Form | None:
    slopes: dict[Any, Fraction] = {}
    periods: dict[Any, int] = {}
    for form in forms:
        if form is None:
            return None
        for symbol, slope in form[0].items():
            slopes[symbol] = slopes.get(symbol, Fraction(0)) + slope
        for symbol, period in form[1].items():
            periods[symbol] = math.lcm(periods.get(symbol, 1), period)
    return slopes, periods


def _evaluate(value: Any, point: dict[Any, int]) -> Fraction:
    """``value`` at whole symbol values, exactly (sympy's subs is far slower)."""
    import sympy as sp

    if value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    if value.is_Symbol:
        return Fraction(point[value])
    if value.is_Add:
        return sum((_evaluate(term, point) for term in value.args), Fraction(0))
    if value.is_Mul:
        return math.prod((_evaluate(factor, point) for factor in value.args), start=Fraction(1))
    if isinstance(value, sp.floor | sp.ceiling):
        inner = _evaluate(value.args[0], point)
        return Fraction(math.floor(inner) if isinstance(value, sp.floor) else math.ceil(inner))
    raise TypeError(f"not a quasi-linear formula: {value}")
