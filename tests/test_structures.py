"""Blocks, repeats, branches, residuals, dense blocks, SE, names and symbols."""

from __future__ import annotations

import pytest
import sympy

import cnncalc
from cnncalc import SpecError

from .conftest import analyse_text

BASIC = """
name: basic blocks
input: [64, 56, 56]
defaults:
  conv: {bias: false}
blocks:
  basic:
    args: [filters, stride: 1]
    residual:
      body:
        - conv: {filters: filters, kernel: 3, stride: stride, padding: 1}
        - batchnorm
        - relu
        - conv: {filters: filters, kernel: 3, padding: 1}
        - batchnorm
      shortcut: auto
    then: relu
layers:
  - repeat: 2
    block: basic
    with: {filters: 128}
    first: {stride: 2}
    name: layer2
"""


def test_residual_auto_projection_and_names():
    analysis = analyse_text(BASIC)
    paths = [row.path for row in analysis.layers]
    assert paths[:6] == [
        "layer2.0.conv1",
        "layer2.0.bn1",
        "layer2.0.relu1",
        "layer2.0.conv2",
        "layer2.0.bn2",
        "layer2.0.downsample.0",
    ]
    projection = analysis.row("layer2.0.downsample.0")
    assert projection.output_shape == (128, 28, 28)
    assert projection.params == 64 * 128  # 1×1, stride 2, no bias
    assert projection.values["stride"] == (2, 2)
    assert "layer2.1.downsample.0" not in paths  # second block: identity
    add = analysis.row("layer2.0.add")
    assert add.ops["add"] == 128 * 28 * 28
    assert analysis.totals.depth == 4  # two convs per block on the longest path


def test_identity_shortcut_with_a_shape_change_is_an_error():
    text = BASIC.replace("shortcut: auto", "shortcut: identity")
    with pytest.raises(SpecError, match="identity shortcut") as error:
        analyse_text(text)
    assert error.value.loc is not None and error.value.key == "shortcut"


def test_concat_depth_is_the_sum_and_depth_the_longest_branch():
    analysis = analyse_text("""
        name: inception 3a
        input: [192, 28, 28]
        layers:
          - concat:
              - [conv: {filters: 64, kernel: 1}]
              - [conv: {filters: 96, kernel: 1}, conv: {filters: 128, kernel: 3, padding: 1}]
              - [conv: {filters: 16, kernel: 1}, conv: {filters: 32, kernel: 5, padding: 2}]
              - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {filters: 32, kernel: 1}]
            name: inception3a
    """)
    assert analysis.output_shape == (64 + 128 + 32 + 32, 28, 28)
    assert analysis.totals.depth == 2
    assert analysis.row("inception3a.branch2.conv2").input_shape == (96, 28, 28)


def test_concat_of_different_sizes_is_an_error():
    with pytest.raises(SpecError, match="same spatial size"):
        analyse_text("""
            name: bad
            input: [3, 32, 32]
            layers:
              - concat:
                  - [conv: {filters: 8, kernel: 3}]
                  - [conv: {filters: 8, kernel: 3, padding: 1}]
        """)


def test_squeeze_and_excitation_multiply():
    analysis = analyse_text("""
        name: se
        input: [64, 14, 14]
        layers:
          - multiply:
              - []
              - [global_avgpool, conv: {filters: 16, kernel: 1}, relu,
                 conv: {filters: 64, kernel: 1}, sigmoid]
            name: se
    """)
    assert analysis.output_shape == (64, 14, 14)
    assert analysis.row("se.multiply").ops["multiply"] == 64 * 14 * 14
    assert analysis.totals.params == 64 * 16 + 16 + 16 * 64 + 64


def test_dense_block_growth():
    analysis = analyse_text("""
        name: dense
        input: [64, 56, 56]
        layers:
          - dense_block:
              count: 6
              growth: 32
              layer:
                - batchnorm
                - relu
                - conv: {filters: 4 * growth, kernel: 1, bias: false}
                - batchnorm
                - relu
                - conv: {filters: growth, kernel: 3, padding: 1, bias: false}
            name: denseblock1
    """)
    assert analysis.output_shape == (64 + 6 * 32, 56, 56)  # k0 + l·k
    assert analysis.row("denseblock1.denselayer6.conv1").input_shape == (64 + 5 * 32, 56, 56)
    assert analysis.totals.depth == 12


def test_shufflenet_unit_with_split_and_shuffle():
    analysis = analyse_text("""
        name: shufflenet v2 unit
        input: [116, 28, 28]
        layers:
          - concat:
              - [channel_split: {sections: 2, index: 0}]
              - [channel_split: {sections: 2, index: 1},
                 conv: {filters: 58, kernel: 1, bias: false}, batchnorm, relu,
                 depthwise: {kernel: 3, padding: 1, bias: false}, batchnorm,
                 conv: {filters: 58, kernel: 1, bias: false}, batchnorm, relu]
          - channel_shuffle: 2
    """)
    assert analysis.output_shape == (116, 28, 28)


def test_expressions_and_in_channels():
    analysis = analyse_text("""
        name: expressions
        input: [32, 8, 8]
        blocks:
          inverted:
            args: [expand: 6, out]
            layers:
              - conv: {filters: in_channels * expand, kernel: 1}
              - conv: {filters: out, kernel: 1}
        layers:
          - inverted: {out: 16}
          - conv: {filters: in_channels // 2, kernel: 1}
    """)
    assert [row.output_shape[0] for row in analysis.layers] == [192, 16, 8]


def test_unnamed_repeat_is_inlined_and_names_continue():
    analysis = analyse_text("""
        name: vgg-ish
        input: [3, 32, 32]
        layers:
          - repeat: 2
            layers: [conv: {filters: 8, kernel: 3, padding: 1}, relu]
          - maxpool: 2
    """)
    assert [row.path for row in analysis.layers] == ["conv1", "relu1", "conv2", "relu2", "pool1"]


def test_symbolic_input_and_substitution():
    text = """
        name: alexnet stem
        input: [3, H, W]
        layers:
          - conv: {filters: 96, kernel: 11, stride: 4}
          - maxpool: {kernel: 3, stride: 2}
    """
    symbolic = analyse_text(text)
    H, W = sympy.symbols("H W", integer=True, positive=True)
    height = symbolic.layers[0].output_shape[1]
    assert height.free_symbols == {H}
    assert height.subs(H, 227) == 55
    assert symbolic.totals.macs.subs({H: 227, W: 227}) == 105_415_200
    numeric = analyse_text(text, [3, 227, 227])
    assert numeric.layers[1].output_shape == (96, 27, 27)
    assert symbolic.layers[1].output_shape[1].subs(H, 227) == 27


def test_large_input_is_exact():
    analysis = analyse_text("""
        name: big
        input: [3, 100000, 100000]
        layers:
          - conv: {filters: 64, kernel: 3, padding: 1}
    """)
    assert analysis.totals.macs == 100000 * 100000 * 64 * 27


def test_squeeze_excitation_keeps_the_receptive_field_and_the_projection_stride():
    """The SE branch is broadcast from 1×1: its global pool makes every output depend on the
    whole input, but it must not set the jump (stride) or start of what follows."""
    analysis = analyse_text("""
        name: residual with SE
        input: [16, 56, 56]
        blocks:
          se_block:
            args: [out, stride]
            residual:
              body:
                - conv: {filters: out, kernel: 3, stride: stride, padding: 1}
                - multiply:
                    - []
                    - [global_avgpool, conv: {filters: 4, kernel: 1}, relu,
                       conv: {filters: out, kernel: 1}, sigmoid]
              shortcut: auto
        layers:
          - se_block: {out: 32, stride: 2, name: block}
          - conv: {filters: 8, kernel: 3, padding: 1}
    """)
    projection = analysis.row("block.downsample.0")
    assert projection.output_shape == (32, 28, 28)
    # 3×3 stride 2 sees 3 with jump 2 and start -1; the SE's global pool over the 28×28 map
    # sees 3 + 27·2 = 57 (the whole padded input); the next 3×3 adds (3 − 1)·2: 61, jump 2.
    assert analysis.row("block.multiply1.multiply").receptive_field == ((57, 2, -1), (57, 2, -1))
    assert analysis.layers[-1].receptive_field == ((61, 2, -3), (61, 2, -3))


@pytest.mark.parametrize(("count", "size"), [(1, 3), (2, 5), (3, 7)])
def test_stacked_3x3_receptive_fields(count, size):
    """Two stacked 3×3 convs see 5×5, three see 7×7 (r_out = r_in + (k − 1)·j_in)."""
    layers = "\n".join("  - conv: {filters: 4, kernel: 3, padding: 1}" for _ in range(count))
    analysis = analyse_text(f"name: stack\ninput: [3, 32, 32]\nlayers:\n{layers}\n")
    assert analysis.layers[-1].receptive_field == ((size, 1, -count),) * 2


def test_receptive_field_of_alexnet_layers():
    """conv1 11/4: r = 11, j = 4; pool1 3/2: r = 11 + 2·4 = 19, j = 8; conv2 5 p2:
    r = 19 + 4·8 = 51, start = 0 − 2·8 = −16."""
    analysis = analyse_text("""
        name: alexnet stem
        input: [3, 227, 227]
        layers:
          - conv: {filters: 96, kernel: 11, stride: 4}
          - maxpool: {kernel: 3, stride: 2}
          - conv: {filters: 256, kernel: 5, padding: 2}
    """)
    fields = [row.receptive_field[0] for row in analysis.layers]
    assert fields == [(11, 4, 0), (19, 8, 0), (51, 8, -16)]


def test_a_date_in_a_name_is_text():
    analysis = analyse_text("""
        name: 2024-05-01
        input: [3, 8, 8]
        layers: [relu]
    """)
    assert analysis.name == "2024-05-01"


@pytest.mark.parametrize(
    "layers",
    [
        "[add: [[], [maxpool: 2]]]",
        "[multiply: [[], [maxpool: 2]]]",
        "[residual: {body: [maxpool: 2], shortcut: identity}]",
        # equal at even H only: a network that fails at H = 225 is refused
        "[concat: [[maxpool: {kernel: 2, ceil_mode: true}], [maxpool: 2]]]",
    ],
)
def test_symbolic_merges_of_different_shapes_are_errors(layers: str) -> None:
    with pytest.raises(cnncalc.SpecError, match=r"shape|needs|broadcast"):
        analyse_text(f"input: [3, H, W]\nlayers: {layers}\n")


def test_symbolic_merges_of_equal_formulas_in_different_forms_pass() -> None:
    # ⌊(H − 1)/2⌋ + 1 (3×3, stride 2, padding 1) = ⌈H/2⌉ (ceil_mode 2×2 pool) for every H
    analysis = analyse_text(
        "input: [3, H, W]\nlayers: [add: [[conv: {filters: 3, kernel: 3, stride: 2, "
        "padding: 1}], [maxpool: {kernel: 2, ceil_mode: true}]]]\n"
    )
    assert analysis.totals.depth == 1


def test_powers_print_as_superscripts() -> None:
    analysis = analyse_text("input: [1, S, S]\nlayers: [conv: {filters: 6, kernel: 5}]\n")
    assert cnncalc.arith.as_text(analysis.totals.macs) == "150·(S − 4)²"


def test_generated_names_of_kinds_ending_in_a_digit_are_readable() -> None:
    analysis = analyse_text("input: [3, 8, 8]\nlayers: [relu6, relu6, relu]\n")
    assert [row.path for row in analysis.layers] == ["relu6_1", "relu6_2", "relu1"]
