"""Spec arguments (``args:``, ``--set``), expressions and conditional items (``if:``)."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.cli.fast import parse_fast
from cnncalc.expr import ExpressionError, evaluate, make_divisible

from .conftest import ROOT, analyse_text

FAMILY = str(ROOT / "tests" / "errors" / "valid" / "family.yaml")


@pytest.mark.parametrize(
    ("value", "divisor", "expected"),
    [
        # torchvision's _make_divisible, worked by hand: int(v + d/2) // d * d, at least d,
        # and up one step when that fell more than 10% below v
        (32 * 0.5, 8, 16),
        (16 * 0.75, 8, 16),  # 12 + 4 = 16 → 16
        (24 * 0.75, 8, 24),  # 18 + 4 = 22 → 16, below 0.9·18 = 16.2: one step up
        (32 * 1.4, 8, 48),  # 44.8 + 4 → 48
        (1280 * 1.0, 8, 1280),
        (3.0, 8, 8),  # at least the divisor
        (90, 64, 128),  # 90 + 32 = 122 → 64, below 0.9·90 = 81: one step up
    ],
)
def test_make_divisible_is_torchvisions(value, divisor, expected):
    assert make_divisible(value, divisor) == expected


def test_expressions():
    env = {"width": 1.4, "depth": 50, "stages": {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}, "t": 6}
    assert evaluate("make_divisible(32 * width, 8)", env) == 48
    assert evaluate("ceil(3 * 1.2)", env) == 4
    assert evaluate("floor(7 / 2.0)", env) == 3
    assert evaluate("round(2.5)", env) == 2  # Python's round: halves to even
    assert evaluate("int(1.99)", env) == 1
    assert evaluate("stages[depth][2]", env) == 6
    assert evaluate("t != 1 and depth >= 50", env) is True
    assert evaluate("not (t == 6)", env) is False
    assert evaluate("64 if depth < 50 else 256", env) == 256
    assert evaluate("max(1, t // 4, 2)", env) == 2


def test_integer_division_stays_exact():
    with pytest.raises(ExpressionError, match="not a whole number"):
        evaluate("7 / 2", {})
    assert evaluate("7 / 2.0", {}) == 3.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages[20]", "20 is not one of 18, 50"),
        ("__import__('os')", "only these functions"),
        ("width.real", "something other than"),
        ("t < H", "depends on the input size"),
    ],
)
def test_bad_expressions(text, message):
    import sympy

    env = {"stages": {18: [2], 50: [3]}, "width": 1.0, "t": 6, "H": sympy.Symbol("H")}
    with pytest.raises(ExpressionError, match=message):
        evaluate(text, env)


SPEC = """
args:
  width: 1.0
  expand: 6
  deep: false
input: [3, 16, 16]
blocks:
  unit:
    args: [c, t: 1]
    layers:
      - conv: {filters: round(in_channels * t), kernel: 1, name: expand, if: t != 1}
      - depthwise: {kernel: 3, padding: 1}
      - conv: {filters: c, kernel: 1, name: project}
layers:
  - conv: {filters: "make_divisible(32 * width, 8)", kernel: 3, padding: 1}
  - unit: {c: "make_divisible(16 * width, 8)"}
  - unit: {c: "make_divisible(24 * width, 8)", t: expand}
  - sequence: [conv: {filters: 8, kernel: 1}, relu]
    if: deep
"""


def _spec(**settings: str) -> cnncalc.Analysis:
    return cnncalc.analyse(cnncalc.parse_spec(SPEC, "family.yaml", settings))


def test_conditional_items_and_arguments():
    default = _spec()
    assert [row.path for row in default.layers] == [
        "conv1",
        "unit1.dwconv1",
        "unit1.project",
        "unit2.expand",
        "unit2.dwconv1",
        "unit2.project",
    ]
    assert default.row("unit2.expand").output_shape == (96, 16, 16)
    wide = _spec(width="1.4", deep="true", expand="3")
    assert wide.row("conv1").output_shape[0] == 48
    assert wide.row("unit2.expand").output_shape[0] == 24 * 3
    assert wide.row("unit2.project").output_shape[0] == 32  # make_divisible(33.6, 8)
    assert wide.row("sequence1.conv1").output_shape == (8, 16, 16)


def test_a_spec_without_args_refuses_set():
    with pytest.raises(cnncalc.SpecError, match="no argument 'width'"):
        cnncalc.parse_spec("input: [3, 8, 8]\nlayers: [relu]\n", "x.yaml", {"width": "2"})


runner = CliRunner()


@pytest.mark.parametrize(
    "command", ["shape", "params", "flops", "summary", "report", "check", "memory", "savings"]
)
def test_every_analysis_command_takes_set(command):
    result = runner.invoke(app, [command, FAMILY, "--set", "width=0.5"])
    assert result.exit_code == 0, result.output
    wide = runner.invoke(app, [command, FAMILY, "--set", "width=2"])
    # check and savings print no numbers for this spec (no claims, no savings)
    assert command in ("check", "savings") or wide.output != result.output
    wrong = runner.invoke(app, [command, FAMILY, "--set", "widht=2"])
    assert wrong.exit_code == 2


def test_compare_takes_set():
    result = runner.invoke(app, ["compare", FAMILY, FAMILY, "--set", "width=0.5"])
    assert result.exit_code == 0, result.output


def test_verify_and_export_take_set(tmp_path):
    pytest.importorskip("torch")
    result = runner.invoke(app, ["verify", FAMILY, "--set", "width=1.4", "--format", "json"])
    assert result.exit_code == 0, result.output
    # width 1.4: conv1 make_divisible(44.8, 8) = 48 filters, conv2 round(22.4) = 22:
    # (3·9 + 1)·48 + (48 + 1)·22 = 1,344 + 1,078
    assert '"cnncalc": 2422' in result.output
    target = tmp_path / "family.py"
    result = runner.invoke(app, ["export", FAMILY, "--set", "width=0.5", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "nn.Conv2d(3, 16," in target.read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["params", FAMILY, "--set", "width=0.5"],
        ["summary", FAMILY, "--set=width=1.4", "-f", "json"],
    ],
)
def test_fast_path_takes_set(argv, capsys, monkeypatch):
    from cnncalc.cli import fast as entry

    assert parse_fast(argv) is not None
    monkeypatch.setattr(sys, "argv", ["cnncalc", *argv])
    with pytest.raises(SystemExit) as status:
        entry.main()
    assert status.value.code == 0
    assert capsys.readouterr().out == runner.invoke(app, argv).output


def test_symbolic_input_with_arguments():
    analysis = analyse_text(SPEC, input_shape=[3, "H", "W"])
    assert [str(dim) for dim in analysis.output_shape] == ["24", "H", "W"]


def test_published_totals_hold_for_the_default_arguments_only():
    path = ROOT / "examples" / "mobilenet_v2_family.yaml"
    assert cnncalc.analyse(cnncalc.load_spec(path)).published["params"] == 3_504_872
    assert cnncalc.analyse(cnncalc.load_spec(path, {"width": "1.0"})).published
    assert not cnncalc.analyse(cnncalc.load_spec(path, {"width": "0.5"})).published
