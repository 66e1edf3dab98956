"""The exact-size rule of a symbolic analysis (engine/divisibility.py) and the periodic
formulas behind it (quasilinear.py), on hand-worked networks and against brute force."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc import arith
from cnncalc.cli import app
from cnncalc.layers.geometry import lost_pixels
from cnncalc.quasilinear import constant, value_range

from .conftest import ROOT, analyse_text

H = arith.symbol("H")
W = arith.symbol("W")


def _brute_range(value, sizes=range(1, 400)):
    found = [value.subs(H, size) for size in sizes]
    return min(found), max(found)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        # U-Net's deepest crop: encoder ⌊(H − 60)/8⌋ against decoder 2·⌊(H − 124)/16⌋
        (arith.floor_div(arith.floor_div(H - 60, 8) - 2 * arith.floor_div(H - 124, 16), 2), (4, 4)),
        (arith.floor_div(H, 2) - arith.floor_div(H - 1, 2), (0, 1)),
        (arith.ceil_div(H, 4) * 4 - H, (0, 3)),  # TF "same" padding of a stride-4 window
        (arith.floor_div(H, 4) - 2 * arith.floor_div(H, 8), (0, 1)),
    ],
)
def test_periodic_formulas_are_decided_over_one_period(formula, expected):
    assert value_range(formula) == expected == _brute_range(formula)


@pytest.mark.parametrize(
    "formula",
    [H, arith.floor_div(H, 2), H * W - W * H + H, arith.floor_div(H, 2) * arith.floor_div(W, 2)],
)
def test_growing_formulas_have_no_range(formula):
    assert value_range(formula) is None


def test_constant_needs_one_whole_value():
    assert constant(arith.floor_div(H + 1, 2) - arith.floor_div(H, 2)) is None
    assert constant(arith.floor_div(2 * H + 1, 2) - H) == 0


# ---------------------------------------------------------------------------- the rule


CHAIN = """\
name: chain
input: [1, 64, 64]
layers:
{layers}
"""


def _symbolic(layers, shape=(1, "H", "W")):
    return analyse_text(CHAIN.format(layers=layers), list(shape))


def _drops(layers, size):
    analysis = analyse_text(CHAIN.format(layers=layers), [1, size, size])
    return any(lost_pixels(axis) for row in analysis.layers for axis in row.details.get("axes", ()))


@pytest.mark.parametrize(
    ("layers", "modulus", "residues"),
    [
        ("  - conv: {filters: 2, kernel: 3, stride: 2}", 2, (1,)),  # (H − 3)/2 whole: H odd
        # (H − 3)/4 leaves (H − 3) mod 4 rows, one of them padding: H mod 4 ∈ {3, 0}
        ("  - conv: {filters: 2, kernel: 5, stride: 4, padding: 1}", 4, (0, 3)),
        ("  - maxpool: 2\n  - maxpool: 2\n  - maxpool: 2", 8, (0,)),
        # LeNet-like: 5×5 conv, pool, 5×5 conv, pool: (H − 4) even, then (H/2 − 2 − 4) even
        (
            "  - conv: {filters: 2, kernel: 5}\n  - maxpool: 2\n"
            "  - conv: {filters: 2, kernel: 5}\n  - maxpool: 2",
            4,
            (0,),
        ),
    ],
)
def test_the_rule_is_exactly_the_sizes_that_drop_nothing(layers, modulus, residues):
    analysis = _symbolic(layers)
    (rule_h, rule_w) = analysis.exact.rules
    assert (rule_h.symbol, rule_w.symbol) == ("H", "W")
    assert (rule_h.modulus, rule_h.residues) == (modulus, residues)
    start = max(analysis.valid_from.values())
    for size in range(start, start + 3 * modulus):
        assert _drops(layers, size) == (size % modulus not in residues), size
    assert all(size % modulus in residues for size in rule_h.sizes)


def test_no_rule_when_every_size_is_exact():
    # padded 3×3/2 convs and pools lose only padding (ResNet): nothing to state
    assert _symbolic("  - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}").exact is None
    assert cnncalc.analyse_file(ROOT / "specs" / "resnet18.yaml", [3, "H", "W"]).exact is None


def test_a_numeric_axis_gets_no_rule():
    analysis = _symbolic("  - maxpool: 2", shape=(1, "H", 30))
    assert [rule.symbol for rule in analysis.exact.rules] == ["H"]


def test_alexnet_is_exact_at_227_not_224():
    analysis = cnncalc.analyse_file(ROOT / "specs" / "alexnet.yaml", [3, "H", "W"])
    rule = analysis.exact.rules[0]
    assert (rule.modulus, rule.residues) == (32, (3,))  # 227 = 7·32 + 3
    assert rule.layers == ("conv1", "pool1", "pool2", "pool5")
    assert analysis.exact.outputs == ()  # a flat 1000: nothing to simplify


def test_json_states_the_rule():
    result = CliRunner().invoke(
        app, ["shape", str(ROOT / "specs" / "lenet5.yaml"), "--input", "1xHxW", "-f", "json"]
    )
    document = json.loads(result.output)
    assert document["valid_from"] == {"H": 32, "W": 32}
    assert document["exact_for"]["H"] == {
        "modulus": 4,
        "residues": [0],
        "sizes": [32, 36, 40],
        "layers": ["s2", "s4"],
    }
