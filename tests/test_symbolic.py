"""Symbolic analysis is exact: a formula in H and W, at any size, is the numeric answer.

Every bundled spec is analysed once with input [C, H, W]; its formulas are then evaluated
at sizes odd and even (and different per axis) and compared with the numeric engine, row
by row. Also the canonical form itself: equal formulas print alike, factored forms stay,
and roundings inside roundings are taken out where that is exact.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Any

import pytest
import sympy

import cnncalc
from cnncalc import arith

from .conftest import SPECS, analyse_text

SIZES = ((224, 224), (225, 233), (255, 320), (300, 287))
"""(H, W): every bundled network accepts these; residues mod 32 differ, odd and even mixed."""

H, W = sympy.symbols("H W", integer=True, positive=True)

ROW_FIELDS = (
    "input_shape",
    "output_shape",
    "weights",
    "biases",
    "buffers",
    "macs",
    "ops",
    "activation_elements",
    "peers",  # every peer tool's count (engine/peers.py)
    "receptive_field",
)


@cache
def symbolic_analysis(stem: str) -> cnncalc.Analysis:
    channels = cnncalc.load_spec(SPECS_BY_STEM[stem]).input[0]
    return cnncalc.analyse_file(SPECS_BY_STEM[stem], [channels, "H", "W"])


SPECS_BY_STEM = {path.stem: path for path in SPECS}


def at(value: Any, values: dict[Any, int], seen: dict[Any, Any]) -> Any:
    """value with H and W replaced by numbers; repeated formulas are evaluated once."""
    if isinstance(value, tuple | list):
        return tuple(at(item, values, seen) for item in value)
    if isinstance(value, dict):
        return {key: at(item, values, seen) for key, item in value.items()}
    if not arith.is_symbolic(value):
        return value
    if value not in seen:
        number = value.xreplace(values)
        # an adaptive pool's mean spacing L/n may be a fraction: compare it exactly
        seen[value] = int(number) if number.is_Integer else Fraction(int(number.p), int(number.q))
    return seen[value]


def numeric_view(row: cnncalc.Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ROW_FIELDS}


@pytest.mark.parametrize("stem", sorted(SPECS_BY_STEM))
def test_symbolic_formulas_equal_the_numeric_analysis(stem: str) -> None:
    symbolic = symbolic_analysis(stem)
    channels = symbolic.layers[0].input_shape[0]
    for height, width in SIZES:
        numeric = cnncalc.analyse_file(SPECS_BY_STEM[stem], [channels, height, width])
        values, seen = {H: sympy.Integer(height), W: sympy.Integer(width)}, {}
        assert len(symbolic.layers) == len(numeric.layers)
        for formula, number in zip(symbolic.layers, numeric.layers, strict=True):
            substituted = {
                key: at(item, values, seen) for key, item in numeric_view(formula).items()
            }
            assert substituted == numeric_view(number), (formula.path, height, width)
        for name in ("params", "macs", "flops", "activation_elements", "ops"):
            total = getattr(symbolic.totals, name)
            assert at(total, values, seen) == getattr(numeric.totals, name), (name, height, width)


def formula(text: str) -> Any:
    """A formula in H and W, as the engine would hold it."""
    symbols = {"H": arith.symbol("H"), "W": arith.symbol("W"), "floor": sympy.floor}
    return arith.normalize(sympy.sympify(text, locals=symbols))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "(floor(H/2) + 1)*(floor(W/2) + 1)*64",
            "64*floor(H/2)*floor(W/2) + 64*floor(H/2) + 64*(floor(W/2) + 1)",
        ),
        ("floor(H/32 + 31/32)", "floor((H - 1)/32) + 1"),
        ("150*(H - 4)*(W - 4)", "150*H*W - 600*H - 600*W + 2400"),
    ],
)
def test_equal_formulas_print_alike(first: str, second: str) -> None:
    assert formula(first) == formula(second)
    assert arith.as_text(formula(first)) == arith.as_text(formula(second))


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        (
            "512*(floor((H - 1)/2) + 1)*(floor((W - 1)/2) + 1)",
            "512·(⌊(H − 1)/2⌋ + 1)·(⌊(W − 1)/2⌋ + 1)",
        ),
        (
            "10*(512*floor((H - 1)/32) + 512)*(floor((W - 1)/32) + 1)",
            "5120·(⌊(H − 1)/32⌋ + 1)·(⌊(W − 1)/32⌋ + 1)",
        ),
        ("96*(floor((H - 11)/4) + 1)", "96·⌊(H − 11)/4⌋ + 96"),
        ("floor(H/2) - 2", "⌊H/2⌋ − 2"),
        ("6*(H - 4)**2", "6·(H − 4)²"),
        (
            "(floor((H - 1)/2) + 1)*(floor((W - 1)/2) + 1) + 7",
            "(⌊(H − 1)/2⌋ + 1)·(⌊(W − 1)/2⌋ + 1) + 7",
        ),
    ],
)
def test_factored_forms_are_kept(text: str, printed: str) -> None:
    assert arith.as_text(formula(text)) == printed


@pytest.mark.parametrize(
    ("nested", "flat"),
    [
        (lambda h: arith.floor_div(arith.floor_div(h, 2), 2), "⌊H/4⌋"),
        (lambda h: arith.ceil_div(arith.ceil_div(h, 2), 2), "⌈H/4⌉"),
        (lambda h: arith.ceil_div(arith.floor_div(h - 1, 2), 2), "⌊(H − 3)/4⌋ + 1"),
        (lambda h: arith.floor_div(arith.ceil_div(h, 2) + 1, 3), "⌈(H − 2)/6⌉"),
        (lambda h: arith.floor_div(-arith.floor_div(h, 2), 2), "-⌊(H − 2)/4⌋ − 1"),
    ],
)
def test_roundings_inside_roundings_are_taken_out(nested: Any, flat: str) -> None:
    """The same rule on an int and on H: the flat formula is the nested one at every size."""
    value = nested(H)
    assert arith.as_text(value) == flat
    for size in range(1, 100):
        assert value.xreplace({H: size}) == nested(size)


def test_a_negative_divisor_keeps_the_inner_rounding() -> None:
    """⌊(⌊y⌋)/d⌋ = ⌊y/d⌋ needs d > 0: ⌊−⌊H/2⌋⌋ is not ⌊−H/2⌋ at odd H."""
    value = arith.floor_div(arith.floor_div(arith.symbol("H"), 2), -1)
    assert value.xreplace({arith.symbol("H"): 3}) == -1


def test_a_ratio_of_formulas_cancels() -> None:
    pixels = formula("(floor((H - 1)/2) + 1)*(floor((W - 1)/2) + 1)")
    assert arith.normalize(300 * pixels / (31 * pixels)) == sympy.Rational(300, 31)
    ratio = arith.normalize((pixels + 1) / pixels)
    assert ratio.xreplace({H: 9, W: 9}) == sympy.Rational(26, 25)


def test_tf_same_pools_halve_exactly() -> None:
    """max(0, 2·⌈H/2⌉ − H) is never negative: TF "same" pooling gives ⌈H/2⌉, then ⌈H/4⌉."""
    pool = "maxpool: {kernel: 2, stride: 2, padding: same_tf}"
    analysis = analyse_text(f"input: [3, H, W]\nlayers: [{pool}, {pool}]\n")
    assert [row.output_shape[1] for row in analysis.layers] == [
        sympy.ceiling(H / 2),
        sympy.ceiling(H / 4),
    ]


def test_max_and_min_stay_when_neither_side_is_larger() -> None:
    assert arith.as_text(arith.maximum(H - 4, 2 * sympy.floor(H / 3))) == "Max(H − 4, 2·⌊H/3⌋)"
    assert arith.minimum(H, H + 1) == H


def test_a_large_product_keeps_its_factors() -> None:
    """Past LARGEST_EXPANSION terms a formula is not expanded: 14 × 14 terms stay a product."""
    heights = sum(sympy.floor(H / divisor) for divisor in range(2, 16))
    widths = sum(sympy.floor(W / divisor) for divisor in range(2, 16))
    value = arith.normalize(10 * heights * widths)
    assert value.is_Mul and len(value.args) == 3
    assert value.xreplace({H: 100, W: 37}) == 10 * sum(100 // d for d in range(2, 16)) * sum(
        37 // d for d in range(2, 16)
    )
