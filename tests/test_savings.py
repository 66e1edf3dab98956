"""``cnncalc savings`` and ``cnncalc compare``: every number worked by hand.

Params are weights + biases (the biases the layers have); MACs are multiply-accumulates
without bias adds, for the batch. Each "network" alternative is also checked against the
engine's own rows, and each "baseline" against a spec that builds it where one exists.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import sympy
from typer import Typer
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli.savings import register
from cnncalc.engine.compare import compare, stages
from cnncalc.engine.savings import (
    FACTORISED,
    GLOBAL_POOLING,
    GROUPED,
    REDUCTION,
    SEPARABLE,
    STACKED,
    Saving,
    find_savings,
    ratio_text,
)
from cnncalc.report.compare_report import render_comparison
from cnncalc.report.savings_report import render_savings
from cnncalc.report.text_report import equation_line

from .conftest import ROOT, analyse_text


def spec(name: str, input_shape=None, batch: int = 1) -> cnncalc.Analysis:
    return cnncalc.analyse(cnncalc.load_spec(ROOT / "specs" / f"{name}.yaml"), input_shape, batch)


def only(savings: list[Saving], kind: str) -> list[Saving]:
    return [saving for saving in savings if saving.kind == kind]


def by_paths(savings: list[Saving], *paths: str) -> Saving:
    (found,) = [saving for saving in savings if saving.paths == paths]
    return found


def rows_macs(analysis: cnncalc.Analysis, paths: tuple[str, ...]) -> int:
    return sum(analysis.row(path).macs for path in paths)


def rows_params(analysis: cnncalc.Analysis, paths: tuple[str, ...]) -> int:
    return sum(analysis.row(path).params for path in paths)


# ------------------------------------------------------------------ (a) 1×1 reductions


def test_inception_5x5_branch_reduction():
    analysis = spec("savings_inception")
    savings = find_savings(analysis)
    assert [saving.kind for saving in savings] == [REDUCTION, REDUCTION]
    five = by_paths(savings, "inception3a.b5x5.conv1", "inception3a.b5x5.conv2")
    # direct: 28·28·32·(5·5·192); reduced: 28·28·16·192 + 28·28·32·(5·5·16)
    assert five.baseline.macs == 28 * 28 * 32 * (5 * 5 * 192) == 120_422_400
    assert five.network.macs == 2_408_448 + 10_035_200 == 12_443_648
    assert five.baseline.params == 5 * 5 * 192 * 32 + 32 == 153_632
    assert five.network.params == (192 * 16 + 16) + (5 * 5 * 16 * 32 + 32) == 15_920
    assert five.macs_ratio == Fraction(120_422_400, 12_443_648) == Fraction(300, 31)
    assert five.ratio == five.macs_ratio and ratio_text(five.ratio) == "9.68"
    # the network side is what the engine counted for the branch
    assert five.network.macs == analysis.row("inception3a.b5x5").macs
    assert five.network.params == analysis.row("inception3a.b5x5").params
    working = [equation_line(equation) for equation in five.equations]
    assert "MACs = H·W·K·(F·F·C_in) = 28·28·32·(5·5·192) = 120,422,400" in working
    assert any("28·28·16·(1·1·192) + 28·28·32·(5·5·16) = 12,443,648" in line for line in working)


def test_direct_alternative_is_the_naive_module_branch():
    """The naive module (no reductions) builds the baseline: same numbers, and no savings."""
    reduced = {saving.paths[1]: saving for saving in find_savings(spec("savings_inception"))}
    naive = spec("savings_inception_naive")
    assert find_savings(naive) == []
    for branch in ("b3x3", "b5x5"):
        direct = naive.row(f"inception_naive.{branch}.conv1")
        baseline = reduced[f"inception3a.{branch}.conv2"].baseline
        assert (baseline.params, baseline.macs) == (direct.params, direct.macs)


def test_googlenet_has_18_reductions_and_a_gap_head():
    savings = find_savings(spec("googlenet"))
    assert len(only(savings, REDUCTION)) == 18  # conv2_reduce keeps 64 channels: no reduction
    five = by_paths(savings, "inception3a.branch3.5x5_reduce", "inception3a.branch3.5x5")
    assert (five.baseline.macs, five.network.macs) == (120_422_400, 12_443_648)
    (head,) = only(savings, GLOBAL_POOLING)  # 7×7 average pool on 7×7: one window, global
    assert head.paths == ("pool5", "flatten1", "fc")
    assert (head.baseline.params, head.network.params) == (50_177_000, 1_025_000)


def test_reduction_needs_fewer_channels_and_a_larger_kernel():
    analysis = analyse_text(
        """
        name: r
        input: [64, 8, 8]
        layers:
          - conv: {filters: 64, kernel: 1}     # keeps 64: not a reduction
          - conv: {filters: 32, kernel: 3, padding: 1}
          - conv: {filters: 16, kernel: 1}     # reduces, but a 1×1 follows
          - conv: {filters: 16, kernel: 1}
        """
    )
    assert only(find_savings(analysis), REDUCTION) == []


def test_resnext_reduction_keeps_the_groups_of_the_larger_conv():
    analysis = analyse_text(
        """
        name: resnext
        input: [256, 56, 56]
        defaults:
          conv: {bias: false}
        layers:
          - conv: {filters: 128, kernel: 1}
          - batchnorm
          - relu
          - conv: {filters: 128, kernel: 3, padding: 1, groups: 32}
        """
    )
    saving = by_paths(find_savings(analysis), "conv1", "conv2")
    assert saving.kind == REDUCTION
    assert saving.baseline.params == 128 * (256 // 32) * 9 == 9_216
    assert saving.network.params == 256 * 128 + 128 * 4 * 9 == 37_376
    assert saving.network.macs == rows_macs(analysis, saving.paths)


# ------------------------------------------------------------------ (b) global average pooling


def test_gap_head_against_flatten_fc():
    gap, fc = spec("savings_gap"), spec("savings_gap_fc")
    (saving,) = find_savings(gap)
    assert saving.kind == GLOBAL_POOLING and saving.measure == "params"
    assert saving.baseline.params == 1024 * 7 * 7 * 1000 + 1000 == 50_177_000
    assert saving.network.params == 1024 * 1000 + 1000 == 1_025_000
    assert saving.baseline.macs == 50_176_000 and saving.network.macs == 1_024_000
    assert saving.ratio == Fraction(50_177_000, 1_025_000)
    assert ratio_text(saving.ratio) == "48.95"
    assert saving.macs_ratio == 49
    # the two specs are the two alternatives
    assert (saving.baseline.params, saving.baseline.macs) == (fc.totals.params, fc.totals.macs)
    assert (saving.network.params, saving.network.macs) == (gap.totals.params, gap.totals.macs)
    assert find_savings(fc) == []


@pytest.mark.parametrize(
    ("pool", "found"),
    [("adaptive_avgpool: 1", True), ("adaptive_avgpool: 2", False), ("global_maxpool", False)],
)
def test_which_pools_are_global_average(pool, found):
    analysis = analyse_text(
        f"""
        name: head
        input: [512, 7, 7]
        layers:
          - {pool}
          - flatten
          - dropout: 0.5
          - linear: {{features: 10, bias: false}}
        """
    )
    savings = only(find_savings(analysis), GLOBAL_POOLING)
    assert bool(savings) == found
    if found:
        assert savings[0].baseline.params == 512 * 49 * 10  # no bias: weights only
        assert savings[0].network.params == 5_120


def test_vgg_adaptive_pool_to_7_is_not_global():
    assert only(find_savings(spec("vgg16")), GLOBAL_POOLING) == []


def test_resnet50_gap_head():
    saving = only(find_savings(spec("resnet50")), GLOBAL_POOLING)[0]
    assert saving.baseline.params == 2048 * 49 * 1000 + 1000
    assert saving.network.params == 2_049_000


# ------------------------------------------------------------------ (c) stacked 3×3

STACK = """
name: stack
input: [{c}, 32, 32]
defaults:
  conv: {{bias: false}}
layers:
{layers}
"""


def stack_of(count: int, channels: int = 64) -> cnncalc.Analysis:
    layers = "\n".join(
        f"  - conv: {{filters: {channels}, kernel: 3, padding: 1}}\n  - batchnorm\n  - relu"
        for _ in range(count)
    )
    return analyse_text(STACK.format(c=channels, layers=layers))


def test_two_stacked_3x3_against_one_5x5():
    c = 64
    analysis = stack_of(2, c)
    (saving,) = find_savings(analysis)
    assert saving.kind == STACKED and saving.paths == ("conv1", "conv2")
    assert saving.network.params == 2 * 9 * c * c == 18 * c**2 == 73_728
    assert saving.baseline.params == 25 * c**2 == 102_400
    assert saving.ratio == Fraction(25, 18)
    assert saving.baseline.macs == 32 * 32 * 25 * c**2
    assert saving.network.macs == rows_macs(analysis, saving.paths) == 32 * 32 * 18 * c**2
    remark = equation_line(saving.remarks[0])
    assert remark.endswith("18·c² vs 25·c²")


def test_three_stacked_3x3_against_one_7x7():
    c = 32
    (saving,) = find_savings(stack_of(3, c))
    assert saving.network.params == 27 * c**2 and saving.baseline.params == 49 * c**2
    assert saving.ratio == Fraction(49, 27)


@pytest.mark.parametrize(
    ("count", "sizes"), [(4, [2, 2]), (5, [3, 2]), (6, [3, 3]), (7, [3, 2, 2])]
)
def test_long_runs_are_cut_into_threes_and_twos(count, sizes):
    savings = find_savings(stack_of(count, 16))
    assert [len(saving.paths) for saving in savings] == sizes


def test_stacked_general_channels_vgg_first_block():
    """C_in 3, C_mid 64, C_out 64: 9·3·64 + 9·64·64 weights against 25·3·64."""
    saving = only(find_savings(spec("vgg16")), STACKED)[0]
    assert saving.paths == ("features.conv1", "features.conv2")
    assert saving.network.weights == 9 * 3 * 64 + 9 * 64 * 64 == 38_592
    assert saving.baseline.weights == 25 * 3 * 64 == 4_800
    assert saving.ratio < 1  # reported honestly: here the stack costs more
    assert "more params" in equation_line(saving.equations[4])


def test_strided_3x3_is_not_stacked():
    analysis = analyse_text(
        """
        name: s
        input: [16, 32, 32]
        layers:
          - conv: {filters: 16, kernel: 3, stride: 2, padding: 1}
          - conv: {filters: 16, kernel: 3, padding: 1}
        """
    )
    assert find_savings(analysis) == []


# ------------------------------------------------------------------ (d) 1×n + n×1


@pytest.mark.parametrize(
    ("first", "second"),
    [("[1, 7]", "[7, 1]"), ("[7, 1]", "[1, 7]")],
)
def test_1x7_then_7x1_against_7x7(first, second):
    pad_first = "[0, 3]" if first == "[1, 7]" else "[3, 0]"
    pad_second = "[3, 0]" if first == "[1, 7]" else "[0, 3]"
    analysis = analyse_text(
        f"""
        name: factorised
        input: [64, 17, 17]
        defaults:
          conv: {{bias: false}}
        layers:
          - conv: {{filters: 64, kernel: {first}, padding: {pad_first}}}
          - relu
          - conv: {{filters: 64, kernel: {second}, padding: {pad_second}}}
        """
    )
    (saving,) = find_savings(analysis)
    assert saving.kind == FACTORISED
    assert analysis.output_shape == (64, 17, 17)
    assert saving.network.params == 2 * 7 * 64 * 64 == 57_344
    assert saving.baseline.params == 49 * 64 * 64 == 200_704
    assert saving.ratio == Fraction(49, 14)
    assert saving.network.macs == rows_macs(analysis, saving.paths) == 17 * 17 * 57_344
    assert saving.baseline.macs == 17 * 17 * 200_704 == 58_003_456


# ------------------------------------------------------------------ (e) depthwise separable


def test_mobilenet_block1_depthwise_separable():
    analysis = spec("mobilenet_v1")
    savings = find_savings(analysis)
    assert len(only(savings, SEPARABLE)) == 13 and len(only(savings, GLOBAL_POOLING)) == 1
    block = by_paths(savings, "block1.dw", "block1.pw")
    # standard 3×3, 32 → 64 on 112×112 against 3×3 depthwise (32) + 1×1 (32 → 64); no biases
    assert block.baseline.params == 3 * 3 * 32 * 64 == 18_432
    assert block.baseline.macs == 112 * 112 * 64 * (3 * 3 * 32) == 231_211_008
    assert block.network.params == 3 * 3 * 32 + 32 * 64 == 2_336
    assert block.network.macs == 3_612_672 + 25_690_112 == 29_302_784
    assert block.network.macs == rows_macs(analysis, block.paths)
    assert block.network.params == rows_params(analysis, block.paths)
    # MobileNet's rule: with / without = 1/N + 1/D_K² = 1/64 + 1/9
    assert 1 / block.macs_ratio == Fraction(1, 64) + Fraction(1, 9)
    assert ratio_text(block.ratio) == "7.89"


def test_conv_with_groups_equal_to_channels_is_depthwise():
    analysis = analyse_text(
        """
        name: dw
        input: [32, 16, 16]
        layers:
          - conv: {filters: 32, kernel: 3, padding: 1, groups: 32}
          - batchnorm
          - relu6
          - conv: {filters: 48, kernel: 1}
        """
    )
    (saving,) = find_savings(analysis)
    assert saving.kind == SEPARABLE
    assert (
        saving.network.params == rows_params(analysis, saving.paths) == (288 + 32) + (32 * 48 + 48)
    )
    assert saving.baseline.params == 9 * 32 * 48 + 48  # the pointwise conv's bias


# ------------------------------------------------------------------ (f) grouped


def test_grouped_32_against_dense():
    analysis = analyse_text(
        """
        name: resnext
        input: [128, 56, 56]
        layers:
          - conv: {filters: 128, kernel: 3, padding: 1, groups: 32, bias: false}
        """
    )
    (saving,) = find_savings(analysis)
    assert saving.kind == GROUPED
    assert saving.network.params == 128 * (128 // 32) * 9 == 4_608
    assert saving.baseline.params == 128 * 128 * 9 == 147_456
    assert saving.ratio == 32 and saving.macs_ratio == 32
    assert saving.network.macs == analysis.layers[0].macs == 56 * 56 * 4_608
    assert saving.baseline.macs == 462_422_016


def test_grouped_with_biases_is_not_exactly_the_group_count():
    analysis = analyse_text(
        """
        name: g
        input: [8, 4, 4]
        layers:
          - conv: {filters: 8, kernel: 3, groups: 2}
        """
    )
    (saving,) = find_savings(analysis)
    assert (saving.baseline.params, saving.network.params) == (8 * 8 * 9 + 8, 8 * 4 * 9 + 8)
    assert saving.macs_ratio == 2  # MACs have no bias adds


# ------------------------------------------------------------------ batch, symbols, structure


def test_batch_scales_macs_not_params():
    one, four = (
        find_savings(spec("savings_inception")),
        find_savings(spec("savings_inception", batch=4)),
    )
    for single, batched in zip(one, four, strict=True):
        assert batched.baseline.macs == 4 * single.baseline.macs
        assert batched.network.macs == 4 * single.network.macs
        assert batched.network.params == single.network.params


def test_symbolic_input():
    (gap,) = find_savings(spec("savings_gap", [1024, "H", "W"]))
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert gap.ratio.subs({H: 7, W: 7}) == sympy.Rational(50_177_000, 1_025_000)
    reductions = find_savings(spec("savings_inception", [192, "H", "W"]))
    assert reductions[1].ratio == Fraction(300, 31)  # the pixels cancel: exact at any size


def test_merges_end_a_sequence():
    """A 1×1 at the end of one residual block is not followed by the next block's 3×3."""
    analysis = analyse_text(
        """
        name: res
        input: [64, 8, 8]
        layers:
          - residual:
              body:
                - conv: {filters: 64, kernel: 3, padding: 1}
                - conv: {filters: 32, kernel: 1}
                - conv: {filters: 64, kernel: 1}
          - conv: {filters: 64, kernel: 3, padding: 1}
        """
    )
    assert find_savings(analysis) == []


# ------------------------------------------------------------------ compare


def test_compare_totals_and_ratios():
    googlenet, alexnet = spec("googlenet"), spec("alexnet")
    comparison = compare(googlenet, alexnet)
    first, second = comparison.first_totals, comparison.second_totals
    assert (first.params, first.macs, first.depth) == (6_998_552, 1_582_671_872, 22)
    assert (second.params, second.macs) == (alexnet.totals.params, alexnet.totals.macs)
    assert first.activation_bytes == 4 * googlenet.totals.activation_elements
    assert comparison.ratios["params"] == Fraction(alexnet.totals.params, 6_998_552)
    assert comparison.ratios["depth"] == Fraction(alexnet.totals.depth, 22)
    assert first.receptive_field == (907, 907)


@pytest.mark.parametrize("name", ["googlenet", "alexnet", "vgg16", "resnet50", "densenet121"])
def test_stages_add_up_to_the_totals(name):
    analysis = spec(name)
    parts = stages(analysis)
    assert sum(stage.measures.params for stage in parts) == analysis.totals.params
    assert sum(stage.measures.macs for stage in parts) == analysis.totals.macs
    activation = sum(stage.measures.activation_bytes for stage in parts)
    assert activation == 4 * analysis.totals.activation_elements
    assert parts[-1].measures.depth == analysis.totals.depth


def test_vgg16_against_resnet50_stages_match_by_resolution():
    comparison = compare(spec("vgg16"), spec("resnet50"))
    matched = [
        pair.first.resolution
        for pair in comparison.stages
        if pair.first is not None and pair.second is not None
    ]
    assert matched == ["112×112", "56×56", "28×28", "14×14", "7×7", "flat"]
    layer3 = next(
        pair for pair in comparison.stages if pair.first and pair.first.resolution == "14×14"
    )
    assert layer3.second is not None and layer3.second.names == ("layer3",)
    assert comparison.ratios["params"] == Fraction(25_557_032, 138_357_544)
    assert ratio_text(comparison.ratios["params"]) == "0.18"


def test_same_names_match_and_a_network_against_itself_is_one():
    comparison = compare(spec("resnet18"), spec("resnet50"))
    names = [pair.first.names for pair in comparison.stages if pair.first]
    assert [pair.second.names for pair in comparison.stages if pair.second] == names
    same = compare(spec("resnet18"), spec("resnet18"))
    assert set(same.ratios.values()) == {1}


# GoogLeNet's auxiliary heads (examples/googlenet_aux.yaml, from the examples' header):
# aux1 3,188,968 + aux2 3,191,016 parameters, on inception4a and inception4d (14×14).
AUX_PARAMS = 3_188_968 + 3_191_016


def googlenet_aux() -> cnncalc.Analysis:
    return cnncalc.analyse_file(ROOT / "examples" / "googlenet_aux.yaml")


def test_training_only_heads_count_params_not_macs_in_their_stage():
    """The totals' conventions per stage: a head's parameters count (in the 14×14 stage it
    branches from), its MACs and memory do not; it is never a stage of its own."""
    with_heads, plain = googlenet_aux(), spec("googlenet_torchvision")
    parts = stages(with_heads)
    assert (
        [stage.resolution for stage in parts]
        == [stage.resolution for stage in stages(plain)]
        == ["112×112", "56×56", "28×28", "14×14", "7×7", "1×1", "flat"]
    )
    assert sum(stage.measures.params for stage in parts) == with_heads.totals.params
    assert sum(stage.measures.macs for stage in parts) == with_heads.totals.macs
    activation = sum(stage.measures.activation_bytes for stage in parts)
    assert activation == 4 * with_heads.totals.activation_elements
    comparison = compare(plain, with_heads)
    for pair in comparison.stages:
        first, second = pair.first.measures, pair.second.measures
        assert (second.macs, second.activation_bytes) == (first.macs, first.activation_bytes)
        assert (second.depth, second.receptive_field) == (first.depth, first.receptive_field)
        extra = AUX_PARAMS if pair.second.resolution == "14×14" else 0
        assert second.params == first.params + extra, pair.second.label
    fourteen = next(pair.second for pair in comparison.stages if pair.second.resolution == "14×14")
    assert fourteen.label == "14×14 maxpool3…inception4e"
    assert fourteen.heads == ("aux1", "aux2") and "aux1" not in fourteen.names
    assert comparison.ratios["macs"] == 1
    assert comparison.second_totals.params == 13_004_888 == 6_624_904 + AUX_PARAMS


def test_a_head_read_from_an_earlier_output_joins_the_stage_it_reads():
    """FCN-ResNet50's aux head reads layer3 (65×65) after the upsampled output (520×520):
    its parameters go to the 65×65 stage, and neither read makes a stage."""
    fcn = cnncalc.analyse_file(ROOT / "examples" / "fcn_resnet50.yaml")
    parts = stages(fcn)
    assert [stage.resolution for stage in parts] == ["260×260", "130×130", "65×65", "520×520"]
    assert parts[2].label == "65×65 backbone.layer2…classifier"
    assert parts[2].heads == ("aux_classifier", "aux")
    assert sum(stage.measures.params for stage in parts) == fcn.totals.params == 35_322_218
    assert sum(stage.measures.macs for stage in parts) == fcn.totals.macs
    assert fcn.totals.training_only_params == 2_365_205  # the aux head, in the 65×65 stage
    assert parts[3].measures.params == 0


def test_compare_googlenet_against_googlenet_with_heads_keeps_its_stages():
    comparison = compare(spec("googlenet"), googlenet_aux())
    assert all(pair.first and pair.second for pair in comparison.stages)
    fourteen = next(pair for pair in comparison.stages if pair.first.resolution == "14×14")
    assert fourteen.second.measures.macs == 518_568_960  # inception4a…4e, no heads
    assert fourteen.first.measures.macs == 549_878_784
    text = render_comparison(comparison)
    assert "aux1" not in text  # no stage of its own
    assert "params include training-only heads" in text
    assert "training-only" not in render_comparison(compare(spec("vgg16"), spec("resnet50")))


# ------------------------------------------------------------------ renderers and CLI

runner = CliRunner()


def cli() -> Typer:
    app = Typer()

    @app.callback()
    def main() -> None:
        """cnncalc"""

    register(app)
    return app


def invoke(*args: str):
    return runner.invoke(cli(), list(args))


@pytest.mark.parametrize("fmt", ["table", "json", "md"])
def test_savings_command(fmt):
    result = invoke("savings", str(ROOT / "specs" / "savings_inception.yaml"), "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        document = json.loads(result.output)
        assert document["schema"] == "cnncalc/savings@1"
        five = document["savings"][1]
        assert five["without"]["macs"] == 120_422_400 and five["with"]["macs"] == 12_443_648
        assert five["ratio"] == {"fraction": "300/31", "decimal": 9.6774}
    else:
        assert "120,422,400" in result.output and "12,443,648" in result.output
        assert "9.68×" in result.output


@pytest.mark.parametrize("fmt", ["table", "json", "md"])
def test_compare_command(fmt):
    specs = [str(ROOT / "specs" / name) for name in ("savings_gap.yaml", "savings_gap_fc.yaml")]
    result = invoke("compare", *specs, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        document = json.loads(result.output)
        assert document["schema"] == "cnncalc/compare@1"
        assert document["totals"]["ratios"]["params"]["fraction"] == "50177/1025"
    else:
        assert "48.95" in result.output and "50,177,000" in result.output


def test_commands_report_spec_errors_with_status_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninput: [3, 8, 8]\nlayers:\n  - conv: {filters: 4}\n")
    for args in (
        ("savings", str(bad)),
        ("compare", str(ROOT / "specs" / "lenet5.yaml"), str(bad)),
        ("savings", str(tmp_path / "missing.yaml")),
        ("savings", str(ROOT / "specs" / "lenet5.yaml"), "--input", "3x"),
    ):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "error" in result.output.lower() or "error" in (result.stderr or "").lower()


def test_docstrings_have_examples():
    for command in ("savings", "compare"):
        assert f"Example: cnncalc {command} specs/" in invoke(command, "--help").output


def test_renderers_without_savings():
    lenet = spec("lenet5")
    assert "no savings found" in render_savings(lenet, find_savings(lenet))
    assert json.loads(render_savings(lenet, [], "json"))["savings"] == []
    assert "B/A" in render_comparison(compare(lenet, lenet))


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_spec_network_side_is_the_engines_count(path):
    """Whatever is found, the "with" alternative is exactly what the engine counted."""
    analysis = cnncalc.analyse(cnncalc.load_spec(path))
    for saving in find_savings(analysis):
        assert saving.network.macs == rows_macs(analysis, saving.paths), saving.paths
        assert saving.network.params == rows_params(analysis, saving.paths), saving.paths
        assert saving.baseline.params > 0 and saving.baseline.macs > 0
    render_savings(analysis, find_savings(analysis), "md")
