"""The course notes' worked examples (specs/lecture_notes/): every claim judged as expected.

Each file carries the notes' answers as ``expect:`` claims, right or wrong. The tests pin the
exact set of claims judged wrong in each file, and the number of claims, so that a regression
in either direction fails: a right answer judged wrong, a wrong one judged right, or a claim lost.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.engine.claims import Claim
from cnncalc.errors import SpecError
from cnncalc.report.check_report import check_text
from cnncalc.report.claim_fixes import output_fixes

from .conftest import ROOT, analyse_text

NOTES = ROOT / "specs" / "lecture_notes"

# file -> (number of claims, the (path, key) of every claim judged wrong)
EXPECTED: dict[str, tuple[int, set[tuple[str, str]]]] = {
    "alexnet_no_padding": (23, {("", "weights")}),
    "alexnet_no_padding_stated_strides": (
        8,
        {("pool1", "output"), ("conv2", "output"), ("pool2", "output"), ("conv3", "output")},
    ),
    "zfnet_no_padding": (13, {("conv1", "output")}),
    "alexnet_227": (10, set()),  # 62.3M: 62,378,344 cut off at its precision
    "lenet5_torchsummary": (7, set()),
    "lenet5_classic": (8, {("", "params")}),
    "fashion_mnist_cnn": (4, set()),
    "vgg16": (
        26,
        {("features", "params"), ("classifier", "params")},
    ),
    "googlenet": (10, set()),  # 6M: 6,998,552 cut off at its precision
    "googlenet_head_without_gap": (1, set()),
    "receptive_field_3x3": (2, set()),
    "stride_5x5": (1, set()),
    "fc_instead_of_conv1": (2, set()),
    "resnet_151_layers": (1, {("", "depth")}),
}

runner = CliRunner()


def claims(name: str) -> dict[tuple[str, str], Claim]:
    analysis = cnncalc.analyse_file(NOTES / f"{name}.yaml")
    return {(claim.path, claim.key): claim for claim in analysis.claims}


def test_every_file_is_covered():
    assert {path.stem for path in NOTES.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_wrong_claims(name):
    count, wrong = EXPECTED[name]
    judged = claims(name)
    assert len(judged) == count
    assert {where for where, claim in judged.items() if not claim.ok} == wrong


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_exit_code(name):
    _count, wrong = EXPECTED[name]
    result = runner.invoke(app, ["check", str(NOTES / f"{name}.yaml")])
    assert result.exit_code == (1 if wrong else 0), result.output
    assert f"{len(wrong)} wrong" in result.output


# ------------------------------------------------------------ AlexNet without padding


def test_alexnet_total_is_28_813_344_not_27_55m():
    analysis = cnncalc.analyse_file(NOTES / "alexnet_no_padding.yaml")
    assert analysis.totals.weights == 28_813_344
    total = claims("alexnet_no_padding")[("", "weights")]
    assert (total.claimed, total.actual) == ("27.55M", "28,813,344")
    # the notes' own per-layer figures, all right, are what add up to 28,813,344
    layers = [
        34_848,
        614_400,
        884_736,
        1_327_104,
        884_736,
        4_194_304,
        16_777_216,
        4_096_000,
    ]
    assert sum(layers) == 28_813_344
    output = runner.invoke(app, ["check", str(NOTES / "alexnet_no_padding.yaml")]).output
    assert "✗ totals weights: claimed 27.55M, correct 28,813,344" in output
    assert "correct 28,813,344 ≈ 28.81M" in output
    for value in layers:  # the working adds the layers up, each named
        assert f" {value:,} " in output
    assert "= 28,813,344" in output


def test_alexnet_sizes_hold_only_with_stride_2():
    # the notes' 27 and 11 are what stride 2 gives (alexnet_no_padding.yaml)
    judged = claims("alexnet_no_padding")
    assert judged[("pool1", "output")].ok and judged[("pool2", "output")].ok


def test_alexnet_stated_pool_stride_4_gives_14():
    analysis = cnncalc.analyse_file(NOTES / "alexnet_no_padding_stated_strides.yaml")
    assert analysis.row("pool1").output_shape == (96, 14, 14)
    judged = claims("alexnet_no_padding_stated_strides")
    assert judged[("pool1", "output")].actual == "14×14×96"
    assert judged[("conv2", "output")].actual == "10×10×256"
    assert judged[("pool2", "output")].actual == "3×3×256"
    assert judged[("conv3", "output")].actual == "1×1×384"
    output = runner.invoke(app, ["check", str(NOTES / "alexnet_no_padding_stated_strides.yaml")])
    assert "✗ pool1 output: claimed 27x27x96, correct 14×14×96" in output.output
    assert "(55 − 3 + 2·0)/4 + 1 = 14" in output.output


def test_check_says_what_would_make_each_wrong_size_right():
    output = runner.invoke(
        app, ["check", str(NOTES / "alexnet_no_padding_stated_strides.yaml")]
    ).output
    pool1 = output.split("✗ pool1 output")[1].split("✗ conv2")[0]
    assert "→ 27 holds only with stride 2: (55 − 3 + 2·0)/2 + 1 = 27" in pool1
    conv2 = output.split("✗ conv2 output")[1].split("✗ pool2")[0]
    assert "→ 23 follows from pool1's claimed 27×27×96: (27 − 5 + 2·0)/1 + 1 = 23" in conv2
    pool2 = output.split("✗ pool2 output")[1].split("✗ conv3")[0]
    assert "→ even from conv2's claimed 23×23×256: (23 − 3 + 2·0)/3 + 1 = 7.6667 → 7" in pool2
    assert "→ 11 holds only with stride 2: (23 − 3 + 2·0)/2 + 1 = 11" in pool2
    conv3 = output.split("✗ conv3 output")[1]
    assert "→ 9 follows from pool2's claimed 11×11×256: (11 − 3 + 2·0)/1 + 1 = 9" in conv3
    zfnet = runner.invoke(app, ["check", str(NOTES / "zfnet_no_padding.yaml")]).output
    # the 55 was copied from AlexNet: F = 11 (or 8 to 10, rounded down) gives it at stride 4
    assert "→ 55 holds with F = 8 to 11: (227 − 11 + 2·0)/4 + 1 = 55" in zfnet


def test_check_fixes_padding_and_depth():
    analysis = analyse_text("""
        name: fixes
        input: [3, 32, 32]
        layers:
          - conv: {filters: 16, kernel: 5, expect: {output: 32x32x8}}
    """)
    (claim,) = analysis.claims
    fixes = output_fixes(analysis, claim)
    assert fixes == [
        "→ 32 holds with padding 2: (32 − 5 + 2·2)/1 + 1 = 32, or F = 1",
        "→ a depth of 8 needs K = 8 filters (D_out = K)",
    ]


def test_totals_receptive_field_claim():
    analysis = analyse_text("""
        name: rf
        input: [1, 32, 32]
        expect: {receptive_field: 9x9}
        layers:
          - conv: {filters: 4, kernel: 3}
          - maxpool: 2
          - conv: {filters: 4, kernel: 3}
          - relu
          - flatten
          - linear: 10
    """)
    (claim,) = analysis.claims
    assert (claim.key, claim.actual, claim.ok) == ("receptive_field", "8×8", False)
    text = check_text(analysis)
    assert "the network's receptive field is that of its last spatial layer, relu1" in text
    assert "conv2 made it, and the layers after it keep it:" in text
    assert "r_out = r_in + (k − 1)·j_in = 4 + (3 − 1)·2 = 8" in text
    flat = analyse_text("""
        name: flat
        input: [10]
        expect: {receptive_field: 1}
        layers:
          - linear: 10
    """)
    assert flat.claims[0].actual == "none (a flat output)" and not flat.claims[0].ok


def test_alexnet_stated_pool_stride_3_on_the_notes_23_gives_7():
    analysis = analyse_text("""
        name: pool2 as stated
        input: [256, 23, 23]
        layers:
          - maxpool: {kernel: 3, stride: 3, expect: {output: 11x11x256}}
    """)
    (claim,) = analysis.claims
    assert not claim.ok
    assert claim.actual == "7×7×256"


def test_alexnet_with_the_stated_strides_does_not_exist():
    text = (NOTES / "alexnet_no_padding_stated_strides.yaml").read_text(encoding="utf-8")
    text += "  - conv: {filters: 384, kernel: 3, stride: 1, padding: 0, name: conv4}\n"
    with pytest.raises(SpecError, match="larger than the padded input"):
        cnncalc.analyse(cnncalc.parse_spec(text, "stated.yaml"))


# ------------------------------------------------------------ other corrected values


@pytest.mark.parametrize(
    ("name", "where", "actual"),
    [
        ("zfnet_no_padding", ("conv1", "output"), "56×56×96"),
        ("alexnet_227", ("", "params"), "62,378,344"),
        ("lenet5_classic", ("", "params"), "61,706"),
        ("vgg16", ("features", "params"), "14,714,688"),
        ("vgg16", ("classifier", "params"), "123,642,856"),
        ("vgg16", ("classifier.fc1", "params"), "102,764,544"),
        ("googlenet", ("", "params"), "6,998,552"),
        ("resnet_151_layers", ("", "depth"), "152"),
    ],
)
def test_corrected_values(name, where, actual):
    assert claims(name)[where].actual == actual


def test_zfnet_minus_alexnet_is_not_1_45_million():
    zfnet = cnncalc.analyse_file(NOTES / "zfnet_no_padding.yaml").totals.weights
    alexnet = cnncalc.analyse_file(NOTES / "alexnet_no_padding.yaml").totals.weights
    assert (zfnet, zfnet - alexnet) == (40_507_168, 11_693_824)
