"""One arithmetic for numbers and symbols.

Every rule in cnncalc is written with the helpers below, so the same code gives an
exact ``int`` for numeric shapes and a sympy expression for symbolic ones (``[3, H, W]``).
sympy is imported only when a value actually is symbolic: a numeric spec never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
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
    """Turn a sympy number back into a Python ``int``, and a formula into its canonical form."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if getattr(value, "is_Integer", False):
        return int(value)
    if hasattr(value, "free_symbols"):
        return _formula(value)
    return value


@cache
def _formula(value: Any) -> Any:
    """A sympy value in canonical form, memoised: sympy does not keep an expression's
    ``free_symbols``, and walking a large sum for them again took a tenth of an analysis."""
    return _canonical(value) if value.free_symbols else value


# ---------------------------------------------------------------- the canonical form
#
# A formula is expanded into a polynomial over its atoms (H, W, ⌊…⌋, ⌈…⌉, max, min), which
# is unique, then written back as a sum of products c·(a + k)·(b + l) chosen from that
# polynomial alone. Equal formulas therefore print the same way, whichever rule built them,
# and a layer's 64·(⌊(H − 1)/2⌋ + 1)·(⌊(W − 1)/2⌋ + 1) keeps the shape a person writes.
# sympy.simplify found the same forms, but took nearly all of a symbolic analysis's time.

Monomial = tuple[tuple[Any, int], ...]
"""(atom, exponent) pairs in a fixed order; () is the constant term."""
Polynomial = dict[Monomial, Fraction]


LARGEST_EXPANSION = 64
"""Terms beyond which a formula keeps the sums and products it was built from (each factor
in canonical form): VGG's adaptive 7×7 pool sums 14 roundings per axis, and its cost, a
product of two such sums, would print as about 200 terms expanded."""


@cache
def _canonical(value: Any) -> Any:
    """The canonical form of a symbolic value, memoised: the same subexpressions recur in
    every layer of a network."""
    polynomial = _expanded(value)
    if polynomial is None:
        return _canonical_ratio(value)
    if len(polynomial) > LARGEST_EXPANSION:
        return _as_built(value)
    return _as_sum_of_products(polynomial)


def exact_sum(constant: int, formulas: list[Any]) -> Any:
    """``normalize(constant + Σ formulas)``, the same expression, without building the sum:
    the canonical form depends on the polynomial alone, and the polynomial of a sum is the
    sum of the polynomials, each formula's expanded once (a layer's MACs recur in the
    subtotal of every group around it). A sum that is not a polynomial of at most
    LARGEST_EXPANSION terms is built and normalised as before."""
    polynomial: Polynomial = {(): Fraction(constant)} if constant else {}
    for formula in formulas:
        part = _expansion(formula)
        if part is None:
            return normalize(_sympy().Add(constant, *formulas))
        _add_into(polynomial, part, Fraction(1))
    if len(polynomial) > LARGEST_EXPANSION or list(polynomial) == [()]:
        return normalize(_sympy().Add(constant, *formulas))  # as built, or a number
    if not polynomial:
        return 0
    key = frozenset(polynomial.items())
    if key not in _SUMS:
        _SUMS[key] = _as_sum_of_products(polynomial)
    return _SUMS[key]


_SUMS: dict[frozenset[tuple[Monomial, Fraction]], Any] = {}
"""exact_sum's canonical forms by polynomial: blocks repeated with the same sizes (a dense
block's layers, a stage's repeats) have the same subtotals."""


@cache
def _expansion(value: Any) -> Polynomial | None:
    """``_expanded(value)``, memoised; the polynomial is shared, so it is only read."""
    return _expanded(value)


def _as_built(value: Any) -> Any:
    """value's own sums of products, with every factor canonical and its content taken out:
    10·(512·⌊y⌋ + 512)·(…) is 5120·(⌊y⌋ + 1)·(…)."""
    sp = _sympy()
    if value.is_Add:
        return sp.Add(*(_as_built(term) for term in value.args))
    if not value.is_Mul:
        return _canonical_factor(value)
    coefficient, factors = sp.Integer(1), []
    for factor in value.args:
        content, primitive = _canonical_factor(factor).as_content_primitive()
        coefficient *= content
        factors.append(primitive)
    return sp.Mul(coefficient, *factors)


def _canonical_factor(factor: Any) -> Any:
    if factor.is_Add:
        return _canonical(factor)
    if factor.is_Pow and factor.base.is_Add:
        return _canonical(factor.base) ** factor.exp
    return factor


def _canonical_ratio(value: Any) -> Any:
    """A formula with symbols in a denominator (a savings ratio): common factors cancelled,
    then numerator and denominator each in canonical form."""
    sp = _sympy()
    numerator, denominator = sp.fraction(sp.cancel(sp.together(value)))
    return _polynomial_form(numerator) / _polynomial_form(denominator)


def _polynomial_form(value: Any) -> Any:
    polynomial = _expanded(value)
    return value if polynomial is None else _as_sum_of_products(polynomial)


def _expanded(value: Any) -> Polynomial | None:
    """value as a polynomial over its atoms, or None when it is not one (1/H)."""
    if value.is_Rational:
        return {(): Fraction(int(value.p), int(value.q))} if value != 0 else {}
    if value.is_Add:
        return _sum_of(_expanded(term) for term in value.args)
    if value.is_Mul:
        return _product_of(_expanded(factor) for factor in value.args)
    if value.is_Pow and value.exp.is_Integer:
        if value.exp < 0:
            return None
        return _product_of(_expanded(value.base) for _ in range(int(value.exp)))
    if value.is_Number:
        return None  # a float or an infinity: not exact arithmetic, left as it is
    if isinstance(value, _sympy().floor | _sympy().ceiling):
        rounding = _rounding_polynomial(value)
        return None if rounding is None else dict(rounding)  # a copy: the memo's stays intact
    return {((value, 1),): Fraction(1)}


@cache
def _rounding_polynomial(value: Any) -> Polynomial | None:
    """⌊y⌋ or ⌈y⌉ as one atom plus an integer, the same atom for all of ⌊y⌋, ⌊y + 1⌋, ⌊−y⌋….

    sympy takes an integer out of ⌊H/2 − 2⌋ but not out of ⌊H/32 + 31/32⌋, which is
    ⌊(H − 1)/32⌋ + 1: the atom is the rounding whose argument's constant lies in (−1, 0].
    And ⌊−y⌋ = −⌈y⌉: the atom's argument has a positive leading sign.
    """
    sp = _sympy()
    argument = value.args[0]
    if argument.could_extract_minus_sign():
        opposite = sp.ceiling if isinstance(value, sp.floor) else sp.floor
        flipped = _expanded(opposite(-argument))
        return None if flipped is None else {key: -item for key, item in flipped.items()}
    constant, rest = argument.as_coeff_Add()
    if not constant.is_Rational or constant.is_Integer:
        return {((value, 1),): Fraction(1)}
    offset = -int(sp.floor(-constant))
    atom = _rounded(type(value), rest + constant - offset)
    return {((atom, 1),): Fraction(1), (): Fraction(offset)}


@cache  # the same roundings and shifts recur in every subtotal around a layer
def _shifted_atom(atom: Any, shift: int) -> Any:
    """atom + shift as a person writes it: a rounding with a fraction in it carries the shift
    inside, leaving ``+ 1``: ⌊(H − 11)/4⌋ + 1 (the output-size formula), not ⌊(H − 3)/4⌋ − 1;
    ⌊H/2⌋ − 2 stays as it is."""
    sp = _sympy()
    if shift and isinstance(atom, sp.floor | sp.ceiling) and atom.args[0].as_coeff_Add()[0]:
        return _rounded(type(atom), atom.args[0] + shift - 1) + 1
    return atom + shift


def _sum_of(polynomials: Iterator[Polynomial | None]) -> Polynomial | None:
    total: Polynomial = {}
    for polynomial in polynomials:
        if polynomial is None:
            return None
        _add_into(total, polynomial, Fraction(1))
    return total


def _product_of(polynomials: Iterator[Polynomial | None]) -> Polynomial | None:
    result: Polynomial = {(): Fraction(1)}
    for polynomial in polynomials:
        if polynomial is None:
            return None
        result = _multiply(result, polynomial)
    return result


def _add_into(total: Polynomial, polynomial: Polynomial, scale: Fraction) -> None:
    """total += scale·polynomial, dropping the terms that cancel."""
    if scale == 1:  # a plain sum: no product of fractions per term
        for monomial, coefficient in polynomial.items():
            value = total.get(monomial, 0) + coefficient
            if value:
                total[monomial] = value
            else:
                total.pop(monomial, None)
        return
    for monomial, coefficient in polynomial.items():
        value = total.get(monomial, 0) + scale * coefficient
        if value:
            total[monomial] = value
        else:
            total.pop(monomial, None)


def _multiply(first: Polynomial, second: Polynomial) -> Polynomial:
    result: Polynomial = {}
    for left, left_coefficient in first.items():
        for right, right_coefficient in second.items():
            monomial = _monomial_product(left, right)
            value = result.get(monomial, 0) + left_coefficient * right_coefficient
            if value:
                result[monomial] = value
            else:
                result.pop(monomial, None)
    return result


def _monomial_product(left: Monomial, right: Monomial) -> Monomial:
    if not left or not right:
        return left or right
    exponents = dict(left)
    for atom, exponent in right:
        exponents[atom] = exponents.get(atom, 0) + exponent
    return tuple(sorted(exponents.items(), key=lambda pair: _atom_key(pair[0])))


def _monomial_quotient(monomial: Monomial, atom: Any) -> Monomial:
    """monomial / atom, for an atom of the monomial."""
    return tuple(
        (other, exponent - (other == atom))
        for other, exponent in monomial
        if other != atom or exponent > 1
    )


@cache
def _atom_key(atom: Any) -> str:
    """A fixed order of atoms, the same in every run (sympy's own order can vary with hashes)."""
    return str(atom)


def _monomial_order(monomial: Monomial) -> tuple[int, tuple[tuple[str, int], ...]]:
    degree = sum(exponent for _, exponent in monomial)
    return degree, tuple((_atom_key(atom), exponent) for atom, exponent in monomial)


def _as_sum_of_products(polynomial: Polynomial) -> Any:
    """The polynomial written as Σ c·Π (a + k)^e + constant, a function of the polynomial only.

    Greedily, highest-degree monomial first: for c·a^e·b·… take, for each atom, the integer
    shift k that accounts for the coefficient of the monomial divided by that atom (if the
    next-lower terms come from c·(a + k)^e·(b + l)·…, k is exact); subtract that product's
    expansion and go on. Each step removes its monomial and adds only lower-degree ones, so
    it ends, and the products add up to the polynomial exactly.
    """
    sp = _sympy()
    remaining = dict(polynomial)
    terms = []
    while remaining:
        monomial = max(remaining, key=_monomial_order)
        coefficient = remaining[monomial]
        shifts = {atom: _shift(remaining, monomial, atom, coefficient) for atom, _ in monomial}
        product = _shifted_product(monomial, shifts)
        _add_into(remaining, product, -coefficient)
        factors = [_shifted_atom(atom, shifts[atom]) ** exponent for atom, exponent in monomial]
        terms.append(sp.Mul(sp.Rational(coefficient.numerator, coefficient.denominator), *factors))
    return sp.Add(*terms)


def _shift(remaining: Polynomial, monomial: Monomial, atom: Any, coefficient: Fraction) -> int:
    """k such that c·(a + k)^e·… gives the coefficient of monomial/a; 0 unless an integer."""
    exponent = dict(monomial)[atom]
    below = remaining.get(_monomial_quotient(monomial, atom), Fraction(0))
    shift = below / (coefficient * exponent)
    return int(shift) if shift.denominator == 1 else 0


def _shifted_product(monomial: Monomial, shifts: dict[Any, int]) -> Polynomial:
    """The expansion of Π (a + k)^e."""
    result: Polynomial = {(): Fraction(1)}
    for atom, exponent in monomial:
        factor: Polynomial = {((atom, 1),): Fraction(1)}
        if shifts[atom]:
            factor[()] = Fraction(shifts[atom])
        for _ in range(exponent):
            result = _multiply(result, factor)
    return result


# ---------------------------------------------------------------- floor and ceiling


def floor_div(numerator: Dim, denominator: Dim) -> Dim:
    """⌊n / d⌋ exactly, as PyTorch's integer shape arithmetic does."""
    if isinstance(numerator, int) and isinstance(denominator, int):
        return numerator // denominator
    return _rounded_division(numerator, denominator, upward=False)


def ceil_div(numerator: Dim, denominator: Dim) -> Dim:
    """⌈n / d⌉ exactly."""
    if isinstance(numerator, int) and isinstance(denominator, int):
        return -(-numerator // denominator)
    return _rounded_division(numerator, denominator, upward=True)


def _rounded_division(numerator: Any, denominator: Any, upward: bool) -> Any:
    """⌊n/d⌋ or ⌈n/d⌉, with a rounding inside n taken out where that is exact.

    For integers c and d > 0 and any real y (the identities behind ⌊⌊x⌋/n⌋ = ⌊x/n⌋):
    ⌊(⌊y⌋ + c)/d⌋ = ⌊(y + c)/d⌋, ⌈(⌈y⌉ + c)/d⌉ = ⌈(y + c)/d⌉, and with ⌈m/d⌉ = ⌊(m + d − 1)/d⌋
    for an integer m, ⌈(⌊y⌋ + c)/d⌉ = ⌊(y + c + d − 1)/d⌋ and ⌊(⌈y⌉ + c)/d⌋ = ⌈(y + c − d + 1)/d⌉.
    So ⌊⌊H/2⌋/2⌋ is ⌊H/4⌋ and a chain of ceil-mode pools is one ⌈…⌉, as a person writes them.
    """
    sp = _sympy()
    numerator = sp.Integer(1) * normalize(numerator)
    rounding = sp.ceiling if upward else sp.floor
    if isinstance(denominator, int) and denominator > 0:
        constant, rest = numerator.as_coeff_Add()
        if isinstance(-rest, sp.floor | sp.ceiling):  # −⌊y⌋ = ⌈−y⌉
            opposite = sp.ceiling if isinstance(-rest, sp.floor) else sp.floor
            rest = opposite(-(-rest).args[0], evaluate=False)
        if constant.is_Integer and isinstance(rest, sp.floor | sp.ceiling):
            inner = rest.args[0] + constant
            if isinstance(rest, sp.ceiling) != upward:  # mixed: use the inner rounding
                inner += denominator - 1 if upward else 1 - denominator
                rounding = type(rest)
            return normalize(_rounded(rounding, inner / denominator))
    return normalize(_rounded(rounding, numerator / denominator))


def _rounded(rounding: Any, argument: Any) -> Any:
    """``rounding(argument)`` exactly as sympy's ``RoundFunction.eval`` writes it (integer
    terms outside, a lone fraction rounded, the rest inside), decided from the coefficients
    alone when every term of the argument is a number or a positive fraction times a product
    of H, W, ⌊…⌋ and ⌈…⌉ of such sums: then the integer terms are those with integer
    coefficients, and the argument grows without bound, so none of sympy's bounds (⌊y⌋ = 0
    for 0 ≤ y < 1, …) applies. sympy asks its assumptions about every term, which took a
    third of a symbolic analysis. Any other argument goes to sympy."""
    sp = _sympy()
    whole: list[Any] = []
    rest: list[Any] = []
    fraction = sp.Integer(0)
    for term in sp.Add.make_args(argument):
        if term.is_Integer:
            whole.append(term)
        elif term.is_Rational:
            fraction = term  # an Add holds at most one number
        elif _growing(term):
            (whole if term.as_coeff_Mul()[0].is_Integer else rest).append(term)
        else:
            return rounding(argument)
    if not rest:
        if not fraction:
            return argument  # an integer already
        return sp.Add(*whole, rounding(fraction))
    return sp.Add(*whole, rounding(sp.Add(*rest, fraction), evaluate=False))


def _growing(term: Any) -> bool:
    """Whether a term is a positive fraction times a product of integer symbols and of
    roundings of sums of such terms (and numbers): an integer times a positive number, that
    grows without bound with the input."""
    sp = _sympy()
    coefficient, factors = term.as_coeff_Mul()
    if not (coefficient.is_Rational and coefficient > 0):
        return False
    for factor in sp.Mul.make_args(factors):
        if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0:
            factor = factor.base
        if factor.is_Symbol:
            if factor.is_integer is not True or factor.is_positive is not True:
                return False
        elif isinstance(factor, sp.floor | sp.ceiling):
            inner = sp.Add.make_args(factor.args[0])
            if not all(item.is_Rational or _growing(item) for item in inner):
                return False
        else:
            return False
    return True


def remainder(numerator: Dim, denominator: Dim) -> Dim | None:
    """n mod d, or None when it cannot be known (symbolic)."""
    if isinstance(numerator, int) and isinstance(denominator, int):
        return numerator % denominator
    if isinstance(denominator, int) and denominator > 0:
        samples = _at_corners(numerator)
        if len({sample % denominator for sample in samples if sample.is_Integer}) > 1:
            return None  # differs between sizes: sympy's Mod cannot be a number either
    value = normalize(_sympy().Mod(numerator, denominator))
    return value if isinstance(value, int) else None


def maximum(a: Dim, b: Dim) -> Dim:
    # exact numbers (ints, and the fractions of a transposed conv's jumps) compare directly
    if isinstance(a, int | Fraction) and isinstance(b, int | Fraction):
        return max(a, b)
    order = _order(a, b)
    if order is not None:
        return normalize(a if order >= 0 else b)
    return normalize(_sympy().Max(a, b))


def minimum(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int | Fraction) and isinstance(b, int | Fraction):
        return min(a, b)
    order = _order(a, b)
    if order is not None:
        return normalize(b if order >= 0 else a)
    return normalize(_sympy().Min(a, b))


@cache  # receptive-field merges compare the same sizes again at every block
def _order(a: Dim, b: Dim) -> int | None:
    """1 when a ≥ b at every input size, -1 when a ≤ b, None when neither can be shown.

    TF-style "same" padding is max(0, 2·⌈H/2⌉ − H): with ⌈y⌉ ≥ y the difference is ≥ 0, so
    the padding is 2·⌈H/2⌉ − H and the pool's output ⌈H/2⌉, not a max inside a floor.
    """
    difference = normalize(a - b)
    if isinstance(difference, int):
        return 1 if difference >= 0 else -1
    polynomial = _expanded(difference)
    if polynomial is None:
        return None
    # an integer above −1 is at least 0: 2·⌈H/4⌉ − ⌈H/2⌉ ≥ 2·H/4 − (H/2 + 1/2) = −1/2
    whole = all(coefficient.denominator == 1 for coefficient in polynomial.values())
    floor_of_bound = -1 if whole else 0
    lower, upper = _bound(polynomial, lower=True), _bound(polynomial, lower=False)
    if lower is not None and _exceeds(lower, floor_of_bound, strictly=whole):
        return 1
    if upper is not None and _exceeds(-upper, floor_of_bound, strictly=whole):
        return -1
    return _periodic_order(difference)


def _periodic_order(difference: Any) -> int | None:
    """The order of two formulas whose difference only wobbles with the input size (a crop's
    offset ⌊(⌊(H − 60)/8⌋ − 2·⌊(H − 124)/16⌋)/2⌋): decided over one period, exactly."""
    from .quasilinear import value_range

    found = value_range(difference)
    if found is None:
        return None
    least, greatest = found
    return 1 if least >= 0 else -1 if greatest <= 0 else None


def _exceeds(value: Any, limit: int, strictly: bool) -> bool:
    """value > limit (or ≥) at every input size, as far as sympy's assumptions can show."""
    margin = _sympy().Integer(1) * value - limit
    samples = _at_corners(margin)
    if samples and (min(samples) <= 0 if strictly else min(samples) < 0):
        return False  # not so at some size: sympy, which is sound, cannot show it either
    return bool(margin.is_positive if strictly else margin.is_nonnegative)


CORNERS = (1, 2, 1_000_003)
"""Sizes at which a formula is evaluated before sympy is asked about its sign: a formula
that takes both signs there has none that sympy could prove, and asking it (its assumptions
system tries every rule before it gives up) took a quarter of a symbolic analysis."""


def _at_corners(value: Any) -> list[Any]:
    """value at every symbol equal to each of CORNERS, and at one small and the rest large;
    [] when a symbol is not a positive integer or a value is not a number."""
    sp = _sympy()
    symbols = sorted(getattr(value, "free_symbols", ()), key=str)
    if not symbols or not all(item.is_integer and item.is_positive for item in symbols):
        return []
    points = [dict.fromkeys(symbols, size) for size in CORNERS]
    points += [{**dict.fromkeys(symbols, CORNERS[-1]), item: 1} for item in symbols]
    samples = []
    for point in points:
        sample = value.xreplace({item: sp.Integer(size) for item, size in point.items()})
        if not sample.is_Rational:
            return []
        samples.append(sample)
    return samples


def _bound(polynomial: Polynomial, lower: bool) -> Any:
    """A lower (or upper) bound of a linear polynomial with each ⌊y⌋, ⌈y⌉ replaced by y and
    its slack; None when a term is not linear in a symbol or a rounding."""
    sp = _sympy()
    bound: Any = 0
    for monomial, coefficient in polynomial.items():
        factor = sp.Rational(coefficient.numerator, coefficient.denominator)
        if not monomial:
            bound += factor
            continue
        if len(monomial) > 1 or monomial[0][1] > 1:
            return None
        atom = monomial[0][0]
        if isinstance(atom, sp.floor | sp.ceiling):
            bound += factor * _rounding_bound(atom, lower=(coefficient > 0) == lower)
        elif atom.is_Symbol:
            bound += factor * atom
        else:
            return None
    return bound


@cache  # a deep network compares the same few roundings many times
def _rounding_bound(atom: Any, lower: bool) -> Any:
    """y − s ≤ ⌊y⌋ ≤ y ≤ ⌈y⌉ ≤ y + s, with s = (q − 1)/q for y an integer over q, else 1."""
    sp = _sympy()
    argument = atom.args[0]
    numerator, denominator = sp.fraction(sp.together(argument))
    exact = denominator.is_Integer and denominator > 0 and numerator.is_integer
    slack = sp.Rational(denominator - 1, denominator) if exact else sp.Integer(1)
    if isinstance(atom, sp.floor):
        return argument - slack if lower else argument
    return argument if lower else argument + slack


def product(values: Any) -> Dim:
    result: Dim = 1
    for value in values:
        result = result * value
    return normalize(result) if not isinstance(result, int) else result


def sign_of(value: Dim) -> int | None:
    """-1, 0 or 1 for a known value; None when a symbolic value's sign is unknown."""
    if isinstance(value, int):
        return (value > 0) - (value < 0)
    return _sign_of_formula(value)


@cache  # every 1×1 conv on a map asks about the same size; sympy's answer is per object
def _sign_of_formula(value: Any) -> int | None:
    samples = _at_corners(value)
    if samples and min(samples) <= 0 <= max(samples) and any(samples):
        return None  # takes both signs (or 0 and another): sympy cannot prove one either
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
        return _formula_text(value)
    return str(value)


@cache
def _formula_text(value: Any) -> str:
    """A formula printed once: a symbolic table prints the same sizes on many rows."""
    printed = _superscripts(_printer().doprint(value))
    return printed.replace("*", "·").replace(" - ", " − ")


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

        # each rounding is printed once (sp.together is slow, and a deep network's formulas
        # repeat the same few roundings thousands of times)
        @cache  # noqa: B019 (one printer, cached for the process)
        def _print_floor(self, expr: Any) -> str:
            return f"⌊{self._print(sp.together(expr.args[0]))}⌋"

        @cache  # noqa: B019
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


def quotient_text(
    numerator: int, denominator: int, decimals: int = 2, thousands: bool = True
) -> str:
    """``numerator/denominator`` rounded to ``decimals`` places, exactly at any size: a float
    overflows past 1.8e308, and an int of 10^310 elements is still an exact count."""
    from decimal import ROUND_HALF_EVEN, Decimal, localcontext

    with localcontext() as context:
        context.prec = len(str(abs(numerator))) + decimals + 8
        quotient = (Decimal(numerator) / Decimal(denominator)).quantize(
            Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN
        )
        return f"{quotient:,.{decimals}f}" if thousands else f"{quotient:.{decimals}f}"
