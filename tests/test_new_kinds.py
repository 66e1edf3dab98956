"""upsample, crop, pixel_shuffle / pixel_unshuffle, scale and mean: hand-worked numbers, and
every peer count checked against the real tool run on the real torch op.

Measured (fvcore 0.1.5, torch 2.13, input 4×6×8, batch 1; FlopCounterMode counts 0 for all):

=============================  =================  ======================================
layer                          fvcore             why
=============================  =================  ======================================
upsample nearest ×2            768 = 1 per output aten::upsample_nearest2d handle
upsample bilinear ×2           3,072 = 4 per out  aten::upsample_bilinear2d (either corners)
upsample bicubic ×2            0                  no handle ("unsupported operator")
pixel_shuffle / unshuffle      0                  no handle ("unsupported operator")
crop (slice)                   0                  a view
scale (γ·x)                    0                  aten::mul is not counted
mean ``x.mean([2, 3])``        0                  aten::mean is not counted
gap (AdaptiveAvgPool2d(1))     192 = 1 per input  for contrast: why ``mean`` is its own kind
=============================  =================  ======================================
"""

from __future__ import annotations

import pytest

import cnncalc

from .conftest import analyse_text, one_layer

SPEC = "name: {name}\ninput: [4, 6, 8]\nlayers:\n  - {layer}\n"

# layer → fvcore's count on input 4×6×8 (measured as the module docstring says)
FVCORE = {
    "upsample: 2": 4 * 12 * 16,
    "upsample: {scale: 2, mode: bilinear}": 4 * 4 * 12 * 16,
    "upsample: {scale: 2, mode: bilinear, align_corners: true}": 4 * 4 * 12 * 16,
    "upsample: {scale: 2, mode: bicubic}": 0,
    "upsample: {size: [9, 13], mode: bilinear}": 4 * 4 * 9 * 13,
    "upsample: {size: [9, 13]}": 4 * 9 * 13,
    "upsample: {scale: 1.5}": 4 * 9 * 12,
    "crop: [4, 5]": 0,
    "pixel_shuffle: 2": 0,
    "pixel_unshuffle: 2": 0,
    "scale": 0,
    "mean": 0,
    "mean: true": 0,
    "gap": 4 * 6 * 8,
}


def test_upsample_shorthand_is_the_scale():
    # shorthand: `upsample: 2` is a scale of 2, nearest
    row = one_layer("upsample: 2", "[4, 6, 8]")
    assert row.output_shape == (4, 12, 16)
    assert row.ops == {"interpolation": 4 * 12 * 16}


@pytest.mark.parametrize("layer", sorted(FVCORE))
def test_fvcore_counts_are_the_measured_ones(layer):
    analysis = analyse_text(SPEC.format(name="peer", layer=layer))
    assert analysis.totals.peers["fvcore"] == FVCORE[layer]
    assert analysis.totals.macs == 0  # FlopCounterMode: 2 × MACs = 0


torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")


@pytest.mark.parametrize("layer", sorted(FVCORE))
def test_every_peer_agrees_on_the_real_op(layer):
    """Shapes, parameters, FlopCounterMode, fvcore (eval and training) and torchinfo, each
    run by the real tool on the module cnncalc builds."""
    from cnncalc.torch.verify import verify

    analysis = analyse_text(SPEC.format(name="peer", layer=layer))
    result = verify(analysis, device="cpu", peers=("flopcounter", "fvcore", "torchinfo"))
    assert result.ok, (result.failure, result.mismatches)
    assert not result.skipped, result.skipped
    names = {check.name for check in result.totals}
    assert {"fvcore convention = FlopCountAnalysis", "flopcounter convention = FlopCounterMode",
            "torchinfo convention = torchinfo mult-adds"} <= names, names  # fmt: skip


def test_upsample_matches_f_interpolate_values():
    """The built module is F.interpolate itself: same values, not only the same shape."""
    layer = "upsample: {size: [9, 13], mode: bicubic, align_corners: true}"
    model = cnncalc.build(analyse_text(SPEC.format(name="v", layer=layer))).eval()
    image = torch.rand(1, 4, 6, 8)
    expected = torch.nn.functional.interpolate(
        image, size=(9, 13), mode="bicubic", align_corners=True
    )
    assert torch.equal(model(image), expected)


def test_crop_takes_the_centre():
    model = cnncalc.build(analyse_text(SPEC.format(name="c", layer="crop: [3, 5]"))).eval()
    image = torch.arange(4 * 6 * 8, dtype=torch.float32).reshape(1, 4, 6, 8)
    # ⌊(6 − 3)/2⌋ = 1 row and ⌊(8 − 5)/2⌋ = 1 column off the top and left
    assert torch.equal(model(image), image[:, :, 1:4, 1:6])


def test_scale_is_gamma_times_x_with_c_parameters():
    analysis = analyse_text(SPEC.format(name="s", layer="scale: 0.5"))
    model = cnncalc.build(analysis).eval()
    assert sum(parameter.numel() for parameter in model.parameters()) == 4
    image = torch.rand(1, 4, 6, 8)
    assert torch.allclose(model(image), 0.5 * image)


def test_mean_is_x_mean_2_3():
    model = cnncalc.build(analyse_text(SPEC.format(name="m", layer="mean"))).eval()
    image = torch.rand(2, 4, 6, 8)
    assert torch.equal(model(image), image.mean([2, 3]))


def test_new_kinds_analyse_symbolically():
    """3×H×W through every new kind: sizes stay formulas in H and W."""
    analysis = analyse_text(
        """
        name: symbolic
        input: [8, H, W]
        layers:
          - upsample: {scale: 2, mode: bilinear}
          - pixel_unshuffle: 2
          - pixel_shuffle: 2
          - crop: [8, 8]
          - scale
          - mean
        """
    )
    shapes = [row.output_shape for row in analysis.layers]
    assert [str(dim) for dim in shapes[0]] == ["8", "2*H", "2*W"]
    assert [str(dim) for dim in shapes[1]] == ["32", "H", "W"]
    assert shapes[3] == (8, 8, 8) and shapes[-1] == (8,)
    assert analysis.totals.params == 8


def test_upsample_to_a_size_that_is_not_whole_is_an_error():
    with pytest.raises(cnncalc.SpecError) as caught:
        one_layer("upsample: {scale: 1.5}", "[4, 7, 8]")
    assert caught.value.key == "scale"
    assert "10.5 pixels, not a whole number" in caught.value.message
    assert "size: 10" in caught.value.hint


def test_align_corners_with_nearest_is_refused_as_pytorch_does():
    with pytest.raises(cnncalc.SpecError, match="bilinear and bicubic only"):
        one_layer("upsample: {scale: 2, align_corners: true}", "[4, 6, 8]")


# ------------------------------------------------------------------ declared widths


@pytest.mark.parametrize(
    "layer",
    [
        "conv: {filters: 8, kernel: 3, in_channels: 4}",
        "depthwise: {kernel: 3, in_channels: 4}",
        "conv_transpose: {filters: 2, kernel: 2, in_channels: 4}",
    ],
)
def test_a_declared_width_that_agrees_is_accepted_and_one_that_does_not_names_both(layer):
    assert one_layer(layer, "[4, 6, 8]").input_shape[0] == 4
    with pytest.raises(cnncalc.SpecError) as caught:
        analyse_text(
            f"name: w\ninput: [3, 6, 8]\nlayers:\n  - conv: {{name: stem, filters: 5, "
            f"kernel: 1}}\n  - {layer}\n"
        )
    error = caught.value
    assert error.key == "in_channels"
    assert error.message == ("'in_channels' is declared as 4 but layer 'stem' gives C_in = 5"), (
        error.message
    )


def test_a_declared_in_features_after_a_flatten_names_the_flatten():
    """Exam slip: Linear(4096, 4096) after VGG's 7·7·512 = 25,088-feature flatten."""
    with pytest.raises(cnncalc.SpecError) as caught:
        analyse_text(
            "name: vgg fc\ninput: [512, 7, 7]\nlayers:\n  - flatten\n"
            "  - linear: {features: 4096, in_features: 4096}\n"
        )
    assert caught.value.message == (
        "'in_features' is declared as 4,096 but layer 'flatten1' gives N_in = 25,088"
    )
    assert "nn.Linear(4096, 4096)" in caught.value.hint


# ------------------------------------------------------------------ zeropad


@pytest.mark.parametrize(
    ("layer", "output"),
    [
        ("zeropad: 1", (3, 12, 12)),
        ("zeropad: [1, 2]", (3, 12, 14)),  # [ph, pw], as a conv's padding
        ("zeropad: [[1, 0], [2, 0]]", (3, 11, 12)),  # Keras' ((top, bottom), (left, right))
        ("zeropad: {left: 1, right: 2}", (3, 10, 13)),
        ("zeropad: {top: 3}", (3, 13, 10)),
    ],
)
def test_zeropad_forms(layer, output):
    row = one_layer(layer, "[3, 10, 10]")
    assert row.output_shape == output
    assert row.warnings == ()


def test_a_flat_list_of_four_is_keras_order_and_warns_when_torch_reads_it_otherwise():
    row = one_layer("zeropad: [1, 2, 3, 4]", "[3, 10, 10]")
    assert row.output_shape == (3, 13, 17)  # top 1 + bottom 2, left 3 + right 4
    (warning,) = row.warnings
    assert "nn.ZeroPad2d((1, 2, 3, 4)) would pad left 1, right 2, top 3, bottom 4" in warning
    assert "{top: 1, bottom: 2, left: 3, right: 4}" in warning
    # the same list with equal halves reads alike in both orders: no warning
    assert one_layer("zeropad: [1, 1, 1, 1]", "[3, 10, 10]").warnings == ()


def test_zeropad_torch_form_puts_the_sides_in_pytorch_order():
    from cnncalc.torch.codegen import torch_code

    row = one_layer("zeropad: {top: 1, bottom: 2, left: 3, right: 4}", "[3, 10, 10]")
    assert torch_code(row).module == "nn.ZeroPad2d((3, 4, 1, 2))"


def test_zeropad_with_both_forms_is_an_error():
    with pytest.raises(cnncalc.SpecError, match="not both") as caught:
        one_layer("zeropad: {padding: 1, left: 2}", "[3, 10, 10]")
    assert caught.value.key == "left"


# ------------------------------------------------------------------ report --no-bias


def test_report_no_bias_says_which_biases_it_drops_and_offers_the_other():
    from typer.testing import CliRunner

    from cnncalc.cli import app

    runner = CliRunner()
    exam = runner.invoke(app, ["report", "specs/vgg16_bn.yaml", "--no-bias", "--format", "text"])
    every = runner.invoke(
        app, ["report", "specs/vgg16_bn.yaml", "--no-bias-all", "--format", "text"]
    )
    assert exam.exit_code == every.exit_code == 0, (exam.output, every.output)
    assert "batchnorm/layernorm β kept (--no-bias)" in exam.output
    assert "The other convention: every bias left out" in exam.output
    assert "The other convention: conv and linear biases left out" in every.output
    analysis = cnncalc.analyse_file("specs/vgg16_bn.yaml")
    weight_biases = sum(row.biases for row in analysis.layers if row.kind in ("conv", "linear"))
    assert f"parameters       {analysis.totals.params - weight_biases:,}" in exam.output
    assert f"parameters       {analysis.totals.weights:,}" in every.output


def test_fractional_jumps_round_alike_in_numeric_and_symbolic_analyses():
    """After a 2× upsample the jump is 1/2: a field of 2.5 pixels is 3, with or without
    symbols in the input."""
    text = """
        name: rounding
        input: [8, H, W]
        layers:
          - upsample: {scale: 2, mode: bilinear}
          - crop: [10, 12]
          - pixel_unshuffle: 2
          - upsample: {size: [15, 17], mode: bicubic, align_corners: true}
        """
    symbolic = analyse_text(text)
    numeric = analyse_text(text, [8, 6, 8])
    fields = [[entry[0] for entry in row.receptive_field] for row in numeric.layers]
    assert fields == [[2, 2], [2, 2], [3, 3], [6, 6]]  # 2 + 1·½ → 3; then 3 + 3·1
    assert [[entry[0] for entry in row.receptive_field] for row in symbolic.layers] == fields


# ---------------------------------------------------------------------------- like:

LIKE = """\
name: like
input: [1, 30, 30]
layers:
  - {conv: {filters: 4, kernel: 3}, name: enc}
  - maxpool: 2
  - {conv: {filters: 4, kernel: 3}, name: low}
  - {conv_transpose: {filters: 4, kernel: 2, stride: 2}, name: up}
  - concat:
      - {from: enc, layers: [{crop: {like: up}}]}
      - []
  - upsample: {like: input, mode: bilinear}
"""


def test_like_takes_the_size_of_a_named_output():
    analysis = analyse_text(LIKE)
    rows = {row.name: row for row in analysis.layers}
    assert rows["up"].output_shape == (4, 24, 24)  # 30 − 2 = 28, /2 = 14, − 2 = 12, ×2 = 24
    assert rows["crop1"].output_shape[1:] == rows["up"].output_shape[1:]
    assert analysis.output_shape == (8, 30, 30)


def test_like_sizes_symbolically_and_in_torch():
    symbolic = analyse_text(LIKE, [1, "H", "W"])
    assert str(symbolic.output_shape[1]) == "H"
    model = cnncalc.build(analyse_text(LIKE)).eval()
    image = torch.rand(1, 1, 30, 30)
    assert tuple(model(image).shape) == (1, 8, 30, 30)


@pytest.mark.parametrize(
    ("kind", "fields", "message", "key"),
    [
        ("crop", "{like: nowhere}", "no output named 'nowhere'", "like"),
        ("crop", "{like: later}", "made later", "like"),
        ("crop", "{like: input, size: 2}", "'size' or 'like', not both", "like"),
        ("crop", "{like: 3}", "must name an earlier output", "like"),
        ("crop", "{}", "crop needs 'size' or 'like'", None),
        ("upsample", "{scale: 2, like: input}", "not two", "like"),
        ("upsample", "{like: flat}", "flat vector", "like"),
    ],
)
def test_like_errors_point_at_the_key(kind, fields, message, key):
    text = (
        "name: e\ninput: [2, 8, 8]\nlayers:\n"
        "  - {flatten: {}, name: flat, from: input}\n"
        f"  - {{from: input, {kind}: {fields}}}\n"
        "  - {relu: {}, name: later}\n"
    )
    with pytest.raises(cnncalc.SpecError) as caught:
        analyse_text(text)
    assert message in caught.value.message
    assert caught.value.key == key
    assert caught.value.loc is not None and caught.value.loc.line == 5
