"""One arithmetic for numbers and symbols.

Every rule in cnncalc is written with the helpers below, so the same code gives an
exact ``int`` for numeric shapes and a sympy expression for symbolic ones (``[3, H, W]``).
sympy is imported only when a value actually is symbolic: a numeric spec never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:  # pragma: no cover
    import sympy

Dim = Union[int, "sympy.Expr"]
"""A dimension or a count: an exact ``int``, or a sympy expression in the input symbols."""


@cache
def _sympy() -> Any:
    import sympy

    return sympy


def is_symbolic(value: object) -> bool:
    """True for a sympy expression that still contains symbols."""
    return not isinstance(value, int) and bool(getattr(value, "free_symbols", ()))


def symbol(name: str) -> Any:
    """A dimension symbol: a positive integer, so sympy can simplify floor and ceil."""
    return _sympy().Symbol(name, integer=True, positive=True)


def normalize(value: Any) -> Any:
    """Turn a sympy number back into a Python ``int`` (or keep the expression)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if getattr(value, "is_Integer", False):
        return int(value)
    if hasattr(value, "free_symbols"):
        return _canonical(value) if value.free_symbols else value
    return value


@cache
def _canonical(value: Any) -> Any:
    """``sympy.simplify``, memoised: the same subexpressions recur in every layer of a
    symbolic network (ResNet-18 in H, W: 7.6 s → 4.6 s). simplify is what gives the forms a
    person writes (150·(H − 4)·(W − 4), not 150·H·W − 600·H − …); cheaper canonical forms
    (expand, sympy's automatic evaluation) print worse."""
    return _sympy().simplify(value)


def floor_div(numerator: Dim, denominator: Dim) -> Dim:
    """⌊n / d⌋ exactly, as PyTorch's integer shape arithmetic does."""
    if isinstance(numerator, int) and isinstance(denominator, int):
        return numerator // denominator
    sp = _sympy()
    return normalize(sp.floor(_unfloor(numerator, denominator) / denominator))


def _unfloor(numerator: Any, denominator: Any) -> Any:
    """⌊⌊y⌋ + c⌋/d = ⌊(y + c)/d⌋ for an integer c and d: keeps formulas flat.

    ``floor(floor(H/2)/2)`` becomes ``floor(H/4)``, as a person would write it.
    """
    sp = _sympy()
    if not isinstance(denominator, int):
        return sp.Integer(1) * numerator
    constant, rest = sp.Integer(1) * numerator, sp.Integer(0)
    constant, rest = constant.as_coeff_Add()
    if isinstance(rest, sp.floor) and constant.is_Integer:
        return rest.args[0] + constant
    return sp.Integer(1) * numerator


def ceil_div(numerator: Dim, denominator: Dim) -> Dim:
    """⌈n / d⌉ exactly."""
    if isinstance(numerator, int) and isinstance(denominator, int):
        return -(-numerator // denominator)
    sp = _sympy()
    return normalize(sp.ceiling(sp.Integer(1) * numerator / denominator))


def remainder(numerator: Dim, denominator: Dim) -> Dim | None:
    """n mod d, or None when it cannot be known (symbolic)."""
    if isinstance(numerator, int) and isinstance(denominator, int):
        return numerator % denominator
    value = normalize(_sympy().Mod(numerator, denominator))
    return value if isinstance(value, int) else None


def maximum(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return normalize(_sympy().Max(a, b))


def minimum(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return normalize(_sympy().Min(a, b))


def product(values: Any) -> Dim:
    result: Dim = 1
    for value in values:
        result = result * value
    return normalize(result) if not isinstance(result, int) else result


def sign_of(value: Dim) -> int | None:
    """-1, 0 or 1 for a known value; None when a symbolic value's sign is unknown."""
    if isinstance(value, int):
        return (value > 0) - (value < 0)
    if value.is_positive:
        return 1
    if value.is_zero:
        return 0
    if value.is_negative:
        return -1
    return None


def equal(a: Dim, b: Dim) -> bool | None:
    """True/False when decidable, None when two symbolic values cannot be compared."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    difference = normalize(a - b)
    if isinstance(difference, int):
        return difference == 0
    if any(value != 0 for value in _at_samples(difference)):
        return False  # differs for some input sizes: ⌊H/2⌋ vs ⌈H/2⌉ at odd H
    return None


SAMPLE_SIZES = (224, 225, 227, 299, 320, 513, 1001)
"""Input sizes, odd and even, at which two formulas are compared: formulas that differ at one
of them are different; formulas equal at all of them are taken as possibly equal (None)."""


def _at_samples(value: Any) -> Iterator[Any]:
    names = sorted(value.free_symbols, key=str)
    count = len(SAMPLE_SIZES)
    for index in range(count):
        yield value.subs({name: SAMPLE_SIZES[(index + k) % count] for k, name in enumerate(names)})


def as_text(value: Any, thousands: bool = False) -> str:
    """A value as people read it: ``34,944`` or ``⌊(H − 11)/4⌋ + 1``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if thousands else str(value)
    if hasattr(value, "free_symbols"):
        printed = _superscripts(_printer().doprint(value))
        return printed.replace("*", "·").replace(" - ", " − ")
    return str(value)


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscripts(text: str) -> str:
    """``(S − 4)**2`` → ``(S − 4)²``: a power is not a product."""
    import re

    return re.sub(r"\*\*(\d+)", lambda match: match.group(1).translate(_SUPERSCRIPT), text)


def as_factor(value: Any) -> str:
    """Like :func:`as_text`, parenthesised when it is a sum: ``6×(H − 4)×(W − 4)``."""
    text = as_text(value)
    return f"({text})" if getattr(value, "is_Add", False) else text


@cache
def _printer() -> Any:
    sp = _sympy()
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        """sympy's printer with ⌊(H − 11)/4⌋ instead of floor(H/4 - 11/4)."""

        def _print_floor(self, expr: Any) -> str:
            return f"⌊{self._print(sp.together(expr.args[0]))}⌋"

        def _print_ceiling(self, expr: Any) -> str:
            return f"⌈{self._print(sp.together(expr.args[0]))}⌉"

    return Printer()


def as_json(value: Any) -> Any:
    """Exact JSON: ints stay ints, symbolic values become strings."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, tuple | list):
        return [as_json(item) for item in value]
    return str(value)
