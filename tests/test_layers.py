"""Hand-worked numbers for every layer kind (the lecture notes' examples where they exist).

``CASES`` is checked against the registry: a layer kind without a hand-worked case fails.
"""

from __future__ import annotations

import pytest

from cnncalc import SpecError
from cnncalc.layers import KINDS

from .conftest import one_layer

# kind → (layer YAML, input, output shape, params, MACs, other ops by category)
CASES = {
    # Lecture notes: (28 − 5 + 2·2)/1 + 1 = 28; 16 filters of 5×5×1 + 16 biases = 416.
    "conv": (
        "conv: {filters: 16, kernel: 5, padding: 2}",
        "[1, 28, 28]",
        (16, 28, 28),
        416,
        28 * 28 * 16 * 25,
        {"bias": 28 * 28 * 16},
    ),
    "depthwise": (
        "depthwise: {kernel: 3, padding: 1, bias: false}",
        "[32, 112, 112]",
        (32, 112, 112),
        288,
        112 * 112 * 32 * 9,
        {},
    ),
    # (H − 1)·s − 2p + d(k − 1) + output_padding + 1 = 6·2 − 2 + 2 + 1 + 1 = 14
    "conv_transpose": (
        "conv_transpose: {filters: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
        "[16, 7, 7]",
        (8, 14, 14),
        16 * 8 * 9 + 8,
        7 * 7 * 16 * 8 * 9,
        {"bias": 8 * 14 * 14},
    ),
    # AlexNet FC6: 9216·4096 weights + 4096 biases.
    "linear": ("linear: 4096", "[9216]", (4096,), 37_752_832, 37_748_736, {"bias": 4096}),
    # Lecture notes: ⌊(5 − 3)/2⌋ + 1 = 2.
    "maxpool": ("maxpool: {kernel: 3, stride: 2}", "[1, 5, 5]", (1, 2, 2), 0, 0, {"pooling": 36}),
    "avgpool": ("avgpool: 2", "[6, 28, 28]", (6, 14, 14), 0, 0, {"pooling": 6 * 14 * 14 * 4}),
    "global_avgpool": ("global_avgpool", "[1024, 7, 7]", (1024, 1, 1), 0, 0, {"pooling": 50176}),
    "global_maxpool": ("global_maxpool", "[512, 7, 7]", (512, 1, 1), 0, 0, {"pooling": 25088}),
    # 13 → 6: windows [0,3) [2,5) [4,7) [6,9) [8,11) [10,13): 3 each → 18 per axis.
    "adaptive_avgpool": (
        "adaptive_avgpool: 6",
        "[256, 13, 13]",
        (256, 6, 6),
        0,
        0,
        {"pooling": 256 * 18 * 18},
    ),
    "adaptive_maxpool": (
        "adaptive_maxpool: [2, 3]",
        "[4, 6, 6]",
        (4, 2, 3),
        0,
        0,
        {"pooling": 4 * 6 * 6},
    ),
    "batchnorm": ("batchnorm", "[16, 28, 28]", (16, 28, 28), 32, 0, {"norm": 2 * 16 * 28 * 28}),
    "layernorm": ("layernorm", "[96, 56, 56]", (96, 56, 56), 192, 0, {"norm": 5 * 96 * 56 * 56}),
    "lrn": ("lrn: 5", "[96, 55, 55]", (96, 55, 55), 0, 0, {"norm": 8 * 96 * 55 * 55}),
    "relu": ("relu", "[96, 55, 55]", (96, 55, 55), 0, 0, {"activation": 96 * 55 * 55}),
    "relu6": ("relu6", "[32, 4, 4]", (32, 4, 4), 0, 0, {"activation": 512}),
    "leaky_relu": ("leaky_relu: 0.2", "[8, 2, 2]", (8, 2, 2), 0, 0, {"activation": 32}),
    "elu": ("elu", "[10]", (10,), 0, 0, {"activation": 10}),
    "tanh": ("tanh", "[6, 28, 28]", (6, 28, 28), 0, 0, {"activation": 4704}),
    "sigmoid": ("sigmoid", "[64, 1, 1]", (64, 1, 1), 0, 0, {"activation": 64}),
    "gelu": ("gelu: {approximate: tanh}", "[768]", (768,), 0, 0, {"activation": 768}),
    "silu": ("silu", "[3, 2, 2]", (3, 2, 2), 0, 0, {"activation": 12}),
    "hardswish": ("hardswish", "[16, 2, 2]", (16, 2, 2), 0, 0, {"activation": 64}),
    "hardsigmoid": ("hardsigmoid", "[16, 1, 1]", (16, 1, 1), 0, 0, {"activation": 16}),
    "softmax": ("softmax", "[1000]", (1000,), 0, 0, {"activation": 3000}),
    "dropout": ("dropout: 0.5", "[4096]", (4096,), 0, 0, {}),
    # Lecture notes: 6·6·256 = 9,216 features.
    "flatten": ("flatten", "[256, 6, 6]", (9216,), 0, 0, {}),
    "identity": ("identity", "[3, 4, 4]", (3, 4, 4), 0, 0, {}),
    "zeropad": ("zeropad: [1, 2, 3, 4]", "[3, 10, 10]", (3, 13, 17), 0, 0, {}),
    "channel_shuffle": ("channel_shuffle: 2", "[116, 28, 28]", (116, 28, 28), 0, 0, {}),
    "channel_split": (
        "channel_split: {sections: [24, 40], index: 1}",
        "[64, 8, 8]",
        (40, 8, 8),
        0,
        0,
        {},
    ),
    # FCN's head: 2× bilinear, each output a weighted sum of 2×2 inputs (4 taps).
    "upsample": (
        "upsample: {scale: 2, mode: bilinear}",
        "[4, 6, 8]",
        (4, 12, 16),
        0,
        0,
        {"interpolation": 4 * 4 * 12 * 16},
    ),
    # U-Net's crop-and-copy, scaled down: 16×12 to 8×6 (4 rows, 3 columns off each side).
    "crop": ("crop: [8, 6]", "[2, 16, 12]", (2, 8, 6), 0, 0, {}),
    # ESPCN: r² = 9 channels per output channel.
    "pixel_shuffle": ("pixel_shuffle: 3", "[18, 5, 4]", (2, 15, 12), 0, 0, {}),
    "pixel_unshuffle": ("pixel_unshuffle: 2", "[3, 8, 6]", (12, 4, 3), 0, 0, {}),
    # ConvNeXt-T stage 1: γ for 96 channels; one multiply per element.
    "scale": ("scale", "[96, 56, 56]", (96, 56, 56), 96, 0, {"multiply": 96 * 56 * 56}),
    # ShuffleNet v2's head: x.mean([2, 3]) of 1024×7×7.
    "mean": ("mean", "[1024, 7, 7]", (1024,), 0, 0, {"pooling": 1024 * 49}),
}


def test_every_kind_has_a_hand_worked_case():
    assert sorted(CASES) == sorted(KINDS)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_hand_worked(kind):
    layer, input_shape, output, params, macs, ops = CASES[kind]
    row = one_layer(layer, input_shape)
    assert row.kind == kind
    assert row.output_shape == output
    assert row.params == params
    assert row.macs == macs
    assert {name: count for name, count in row.ops.items() if count} == ops


def test_alexnet_conv1_lecture_numbers():
    """(227 − 11 + 2·0)/4 + 1 = 55; (11·11·3)·96 = 34,848 weights + 96 biases."""
    row = one_layer("conv: {filters: 96, kernel: 11, stride: 4}", "[3, 227, 227]")
    assert row.output_shape == (96, 55, 55)
    assert (row.weights, row.biases, row.params) == (34_848, 96, 34_944)
    assert row.macs == 55 * 55 * 96 * (11 * 11 * 3) == 105_415_200
    assert row.details["axes"][1].formula() == "(227 − 11 + 2·0)/4 + 1 = 55"


def test_alexnet_at_224_warns_that_pixels_are_never_covered():
    """(224 − 11)/4 + 1 = 54.25 → 54: PyTorch floors; the last column is never used."""
    row = one_layer("conv: {filters: 96, kernel: 11, stride: 4}", "[3, 224, 224]")
    assert row.output_shape == (96, 54, 54)
    assert row.warnings == (
        "H and W: (224 − 11 + 0)/4 + 1 = 213/4 + 1 = 54.25 → 54: the last 1 row and column of "
        "its input are never covered; exact if its input were 227 or 223, or with 3 more "
        "padding: 1 before, 2 after",
    )


@pytest.mark.parametrize(
    "layer, input_shape, fix",
    [
        # 51/2: one more pixel of padding, after (PyTorch pads symmetrically: use same_tf)
        ("maxpool: {kernel: 3, stride: 2}", "[1, 54, 54]", "55 or 53, or with 1 more "
         "padding after"),
        # 7/3: 2 more pixels, one each side
        ("conv: {filters: 1, kernel: 3, stride: 3}", "[1, 10, 10]", "12 or 9, or with 2 "
         "more padding: 1 before, 1 after"),
    ],
)  # fmt: skip
def test_an_inexact_division_says_what_makes_it_exact(layer, input_shape, fix):
    (warning,) = one_layer(layer, input_shape).warnings
    assert warning.endswith("exact if its input were " + fix)


def test_padding_that_is_never_reached_does_not_warn():
    # ResNet's stem: (224 − 7 + 6)/2 + 1 = 112.5; the unreached pixel is padding.
    row = one_layer("conv: {filters: 64, kernel: 7, stride: 2, padding: 3}", "[3, 224, 224]")
    assert row.output_shape == (64, 112, 112)
    assert row.warnings == ()


@pytest.mark.parametrize(
    ("padding", "stride", "size", "expected"),
    [
        ("same", 1, 28, 28),  # PyTorch: total d(k − 1) = 4
        ("same_tf", 2, 28, 14),  # Keras: ceil(28 / 2)
        ("same_tf", 2, 27, 14),  # ceil(27 / 2) = 14, extra pixel at the bottom
        ("same_tf", 3, 224, 75),
        ("valid", 1, 28, 24),
        ("full", 1, 28, 32),
    ],
)
def test_padding_words(padding, stride, size, expected):
    row = one_layer(
        f"conv: {{filters: 4, kernel: 5, stride: {stride}, padding: {padding}}}",
        f"[1, {size}, {size}]",
    )
    assert row.output_shape == (4, expected, expected)


def test_same_tf_padding_is_resolved_and_asymmetric():
    row = one_layer("conv: {filters: 4, kernel: 3, stride: 2, padding: same_tf}", "[1, 28, 28]")
    axis = row.details["axes"][0]
    # out = 14; total = (14 − 1)·2 + 3 − 28 = 1 → 0 before, 1 after (TensorFlow puts it after)
    assert (axis.pad_before, axis.pad_after) == (0, 1)


def test_even_kernel_same_padding_puts_the_extra_pixel_after():
    row = one_layer("conv: {filters: 4, kernel: 4, padding: same}", "[1, 10, 10]")
    axis = row.details["axes"][0]
    assert (axis.pad_before, axis.pad_after, axis.size_out) == (1, 2, 10)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [
        (112, 3, 2, 0, 56),  # ⌈(112 − 3)/2⌉ + 1 = 56 (GoogLeNet torchvision)
        (5, 2, 2, 0, 3),  # ⌈3/2⌉ + 1 = 3, last window starts inside the input
        (6, 2, 2, 1, 4),  # ⌈6/2⌉ + 1 = 4; (4 − 1)·2 = 6 ≥ 6 + 1? no → 4
        (4, 2, 2, 1, 3),  # ⌈4/2⌉ + 1 = 3; (3 − 1)·2 = 4 ≥ 4 + 1? no → 3
        (3, 3, 2, 1, 2),  # ⌈2/2⌉ + 1 = 2; (2 − 1)·2 = 2 ≥ 3 + 1? no → 2
        (2, 1, 2, 0, 1),  # ⌈1/2⌉ + 1 = 2; (2 − 1)·2 = 2 ≥ 2 → dropped → 1
    ],
)
def test_ceil_mode_matches_pytorch(size, kernel, stride, padding, expected):
    row = one_layer(
        f"maxpool: {{kernel: {kernel}, stride: {stride}, padding: {padding}, ceil_mode: true}}",
        f"[1, {size}, {size}]",
    )
    assert row.output_shape == (1, expected, expected)


def test_dilation_and_groups():
    row = one_layer(
        "conv: {filters: 64, kernel: 3, dilation: 2, padding: 2, groups: 4}", "[32, 20, 20]"
    )
    assert row.output_shape == (64, 20, 20)
    assert row.weights == 64 * (32 // 4) * 9
    assert row.macs == 20 * 20 * row.weights


def test_asymmetric_kernels_inception_v3():
    row = one_layer(
        "conv: {filters: 192, kernel: [1, 7], padding: [0, 3], bias: false}", "[128, 17, 17]"
    )
    assert row.output_shape == (192, 17, 17)
    assert row.params == 192 * 128 * 7


def test_batchnorm_buffers_are_not_parameters():
    row = one_layer("batchnorm", "[64, 8, 8]")
    assert row.params == 128
    assert row.buffers == 2 * 64 + 1  # running mean, running var, num_batches_tracked
    assert row.peers["keras"] == 128


def test_exact_integers_at_huge_sizes():
    row = one_layer("conv: {filters: 1000000000000, kernel: 3, padding: 1}", "[3, 224, 224]")
    assert row.params == 10**12 * 27 + 10**12
    assert row.macs == 224 * 224 * 10**12 * 27
    assert isinstance(row.macs, int)


def test_lrn_needs_an_image_input():
    """nn.LocalResponseNorm refuses a flat (N, C) tensor, so the engine does too."""
    with pytest.raises(SpecError, match="lrn needs a C×H×W input"):
        one_layer("lrn: 1", "[16]")
