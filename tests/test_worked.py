"""Worked reports, one-layer calculators, receptive fields, memory and answer checking."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.calculators import padding, parse_volume
from cnncalc.cli import app
from cnncalc.engine.memory import memory_report
from cnncalc.report.text_report import report_text
from cnncalc.report.worked import worked_report

from .conftest import ROOT, analyse_text

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def alexnet_text(**options) -> str:
    return report_text(
        worked_report(cnncalc.analyse_file(ROOT / "specs" / "alexnet.yaml"), **options)
    )


def test_report_shows_the_notes_working():
    text = alexnet_text()
    assert "conv1 (conv) — input 227×227×3; F = 11; S = 4; P = 0; K = 96" in text
    assert "W_out = (W_in − F + 2P)/S + 1 = (227 − 11 + 2·0)/4 + 1 = 55" in text
    assert "parameters = (F·F·D_in)·K + K = (11·11·3)·96 + 96 = 34,944" in text
    assert "(34,848 weights + 96 biases)" in text
    assert "MACs = W_out·H_out·K·(F·F·D_in) = 55·55·96·(11·11·3) = 105,415,200" in text
    assert "r_out = r_in + (k − 1)·j_in = 1 + (11 − 1)·1 = 11" in text
    assert "N = H_in·W_in·D_in = 6·6·256 = 9,216" in text


def test_report_no_bias_and_answers_only():
    assert "(11·11·3)·96 = 34,848  (biases ignored)" in alexnet_text(no_bias=True)
    short = alexnet_text(answers_only=True)
    assert "W_out = 55" in short and "(227 − 11" not in short


def test_vgg16_fc_layers_hold_89_percent():
    report = worked_report(cnncalc.analyse_file(ROOT / "specs" / "vgg16.yaml"))
    facts = {fact.label: fact.value for fact in report.totals}
    assert facts["in FC layers"].endswith("(89.4%)")
    assert facts["depth"] == "16 weight layers"


def test_inexact_division_is_explained():
    analysis = cnncalc.analyse_file(ROOT / "specs" / "alexnet.yaml", [3, 224, 224])
    text = report_text(worked_report(analysis))
    conv1 = text.split("conv1 (conv)")[1].split("relu1 (relu)")[0]
    # the working shows the fraction and the floor; the warning what it costs and the fix
    assert "(224 − 11 + 2·0)/4 + 1 = 54  (213/4 + 1 = 54.25 → 54: PyTorch floors)\n" in conv1
    assert (
        "    ⚠ the last 1 row and column of its input are never covered; exact if its input "
        "were 227 or 223, or with 3 more padding: 1 before, 2 after\n" in conv1
    )
    # said once: neither the division nor "never covered" is repeated
    assert conv1.count("never covered") == 1 and conv1.count("213/4") == 1
    # the table's warning, on its own, still says it all
    assert (
        "H and W: (224 − 11 + 0)/4 + 1 = 213/4 + 1 = 54.25 → 54"
        in analysis.row("conv1").warnings[0]
    )


def test_layers_without_parameters_say_zero_first():
    text = alexnet_text()
    assert "    parameters = 0  (pooling has no weights)\n" in text
    assert "none:" not in text


def test_symbolic_reports_name_the_layer_input_w_in():
    text = invoke("report", str(ROOT / "specs" / "lenet5.yaml"), "--symbolic", "-f", "text").output
    assert "W_out = (W_in − F + 2P)/S + 1 = ((W − 4) − 2 + 2·0)/2 + 1 = ⌊W/2⌋ − 2" in text
    assert "N = H_in·W_in·D_in = " in text


def test_concat_and_dense_working():
    googlenet = report_text(
        worked_report(cnncalc.analyse_file(ROOT / "specs" / "googlenet_torchvision.yaml"))
    )
    assert "D = D₁ + D₂ + D₃ + D₄ = 64 + 128 + 32 + 32 = 256" in googlenet
    densenet = report_text(worked_report(cnncalc.analyse_file(ROOT / "specs" / "densenet121.yaml")))
    assert "D = D₁ + D₂ = 64 + 32 = 96" in densenet
    # each block as a whole: k₀ + l·k (DenseNet-121: 6, 12, 24, 16 layers, growth 32)
    assert "D_out = k₀ + l·k = 64 + 6·32 = 256" in densenet
    assert "D_out = k₀ + l·k = 128 + 12·32 = 512" in densenet
    assert "D_out = k₀ + l·k = 256 + 24·32 = 1,024" in densenet
    assert "D_out = k₀ + l·k = 512 + 16·32 = 1,024" in densenet
    assert "MACs in this inception block" in googlenet


def test_report_cli_symbolic_and_formats(tmp_path):
    result = invoke("report", str(ROOT / "specs" / "lenet5.yaml"), "--symbolic", "-f", "text")
    assert result.exit_code == 0, result.output
    assert "H_out = (H_in − F + 2P)/S + 1 = (H − 5 + 2·0)/1 + 1 = H − 4" in result.output
    assert "MACs = W_out·H_out·K·(F·F·D_in) = (W − 4)·(H − 4)·6·(5·5·1) = 150·(H − 4)·(W − 4)" in (
        result.output
    )
    target = tmp_path / "lenet.txt"
    result = invoke("report", str(ROOT / "specs" / "lenet5.yaml"), "-f", "text", "-o", str(target))
    assert result.exit_code == 0 and "W_out" in target.read_text(encoding="utf-8")


# -------------------------------------------------------------------- calculators


def test_conv_calculator_cli():
    result = invoke("conv", "3x227x227", "--filters", "96", "--kernel", "11", "--stride", "4")
    assert result.exit_code == 0
    assert "(227 − 11 + 2·0)/4 + 1 = 55" in result.output
    assert "34,944" in result.output


def test_pool_fc_deconv_calculators():
    assert (
        "(5 − 3 + 2·0)/2 + 1 = 2"
        in invoke("pool", "1x5x5", "--kernel", "3", "--stride", "2").output
    )
    assert "37,752,832" in invoke("fc", "9216", "4096").output
    deconv = invoke(
        "deconv",
        "16x7x7",
        "--filters",
        "8",
        "--kernel",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--output-padding",
        "1",
    ).output
    assert "= 14" in deconv


def test_padding_calculator():
    assert "P = (F_eff − 1)/2 = 8/2 = 4 on each side" in padding(5, dilation=2)
    assert "pad 1 before and 2 after" in padding(4)


def test_calculator_rejects_bad_volume():
    assert parse_volume("3x227x227") == [3, 227, 227]
    result = invoke("conv", "227x227", "--filters", "1", "--kernel", "3")
    assert result.exit_code == 2 and "C×H×W" in result.output


# -------------------------------------------------------------------- memory


def test_memory_hand_worked():
    analysis = analyse_text("""
        name: tiny
        input: [3, 32, 32]
        layers:
          - conv: {filters: 16, kernel: 3, padding: 1}
          - relu
          - flatten
          - linear: 10
    """)
    report = memory_report(analysis, batch=8, dtype="float32", optimizer="adam")
    per_image = 16 * 32 * 32 * 3 + 10  # conv, relu, flatten outputs + fc
    assert report.per_image == per_image
    params = 16 * 27 + 16 + 16 * 32 * 32 * 10 + 10
    training = report.training
    assert (training.parameters, training.gradients) == (4 * params, 4 * params)
    assert training.optimizer_state == 2 * 4 * params
    assert training.activations == per_image * 8 * 4
    assert training.inputs == 3 * 32 * 32 * 8 * 4
    assert "estimate" in invoke("memory", str(ROOT / "specs" / "lenet5.yaml")).output


# -------------------------------------------------------------------- claims


CLAIMS = """
name: claims
input: [3, 227, 227]
expect: {weights: 27.55M, depth: 2}
layers:
  - conv: {filters: 96, kernel: 11, stride: 4,
           expect: {output: 55x55x96, params: 34944, receptive_field: 11}}
  - maxpool: {kernel: 3, stride: 4, expect: {output: 27x27x96}}
  - flatten
  - linear: {features: 10, expect: {params: "188.2K"}}
"""


def test_claims_are_judged():
    analysis = cnncalc.analyse(cnncalc.parse_spec(CLAIMS))
    verdicts = {(claim.path, claim.key): claim.ok for claim in analysis.claims}
    # pool stride 4: (55 − 3)/4 + 1 = 14, not 27; fc1: 14·14·96·10 + 10 = 188,170 ≈ 188.2K;
    # weights: 34,848 + 188,160 = 223,008, not 27.55M
    assert verdicts == {
        ("conv1", "output"): True,
        ("conv1", "params"): True,
        ("conv1", "receptive_field"): True,
        ("pool1", "output"): False,
        ("fc1", "params"): True,
        ("", "weights"): False,
        ("", "depth"): True,
    }


@pytest.mark.parametrize(
    ("claimed", "actual", "ok"),
    [
        ("27.55M", 27_550_000, True),
        ("27.55M", 27_554_999, True),
        ("27.55M", 27_555_001, True),  # cut off at the precision written
        ("27.55M", 27_560_000, False),  # a whole unit of the last digit above
        ("27.55M", 27_544_999, False),  # rounds to 27.54M
        ("28.8M", 28_813_344, True),
        ("34,944", 34_944, True),
        (34_944, 34_945, False),
        ("1.1G", 1_135_256_096, True),
        ("62K", 61_706, True),
    ],
)
def test_rounded_claims(claimed, actual, ok):
    from cnncalc.engine.claims import _judge

    assert _judge("x", "params", claimed, actual, None).ok is ok


def test_check_cli_exit_codes(tmp_path):
    spec = tmp_path / "claims.yaml"
    spec.write_text(CLAIMS, encoding="utf-8")
    result = invoke("check", str(spec))
    assert result.exit_code == 1
    assert "✗ pool1 output: claimed 27x27x96, correct 14×14×96" in result.output
    assert "(55 − 3 + 2·0)/4 + 1 = 14" in result.output
    document = json.loads(invoke("check", str(spec), "-f", "json").output)
    assert document["ok"] is False
    good = tmp_path / "good.yaml"
    good.write_text(
        "name: g\ninput: [1, 28, 28]\nlayers:\n"
        "  - conv: {filters: 16, kernel: 5, padding: 2, expect: {output: 28x28x16}}\n",
        encoding="utf-8",
    )
    assert invoke("check", str(good)).exit_code == 0


def test_bad_claim_is_a_spec_error():
    with pytest.raises(cnncalc.SpecError, match="unknown claim 'parms'"):
        cnncalc.analyse(
            cnncalc.parse_spec(
                "name: x\ninput: [3, 8, 8]\nlayers:\n  - conv: {filters: 1, kernel: 3, "
                "expect: {parms: 1}}\n"
            )
        )


def test_receptive_field_working_of_a_dilated_conv_shows_k_and_d():
    result = CliRunner().invoke(
        app, ["conv", "8x32x32", "--filters", "8", "--kernel", "3", "--dilation", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "r_out = r_in + (k − 1)·d·j_in = 1 + (3 − 1)·2·1 = 5" in result.output
    plain = CliRunner().invoke(app, ["conv", "8x32x32", "--filters", "8", "--kernel", "3"])
    assert "r_out = r_in + (k − 1)·j_in = 1 + (3 − 1)·1 = 3" in plain.output


@pytest.mark.parametrize(
    "name, start",
    [
        ("lenet.html", "<!DOCTYPE html>"),
        ("lenet.tex", r"\documentclass"),
        ("lenet.md", "# LeNet-5"),
        ("lenet.txt", "LeNet-5"),
    ],
)
def test_report_output_format_follows_the_file_suffix(tmp_path, root, name, start):
    target = tmp_path / name
    result = CliRunner().invoke(app, ["report", str(root / "specs/lenet5.yaml"), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith(start)


def test_no_bias_batchnorm_rows_add_up_to_the_totals():
    """--no-bias leaves out conv/linear biases and keeps BN's β (the exam convention);
    --no-bias-all leaves β out too: BN's row shows γ alone. The totals count as the rows."""
    analysis = cnncalc.analyse_file(ROOT / "specs" / "resnet18.yaml")
    exam = report_text(worked_report(analysis, no_bias=True))
    assert "parameters = 2·D (γ and β per channel) = 2·64 = 128" in exam
    assert "conv and linear biases left out; batchnorm/layernorm β kept (--no-bias)" in exam
    assert "The other convention: every bias left out" in exam
    every = report_text(worked_report(analysis, no_bias="all"))
    assert "weights = D (γ per channel) = 64  (β left out under --no-bias-all)" in every
    assert "2·D (γ and β per channel)" not in every
    layers = analysis.layers
    # resnet18's convs have no bias: only the fc's 1,000 biases and BN's β differ
    bn_shift = sum(row.biases for row in layers if row.kind == "batchnorm")
    assert analysis.totals.params == 11_689_512
    assert f"parameters       {11_689_512 - 1000:,}" in exam
    assert f"parameters       {11_689_512 - 1000 - bn_shift:,}" in every


def test_one_by_one_layers_show_their_unchanged_receptive_field():
    text = report_text(worked_report(cnncalc.analyse_file(ROOT / "specs" / "resnet50.yaml")))
    block = text.split("layer1.0.conv1 (conv)")[1].split("layer1.0.bn1")[0]
    assert "F = 1; S = 1" in block
    assert "r_out = r_in + (k − 1)·j_in = 11 + (1 − 1)·4 = 11  (unchanged" in block
    assert "j_out = j_in·s = 4·1 = 4" in block


def test_merges_take_the_largest_branch():
    googlenet = report_text(
        worked_report(cnncalc.analyse_file(ROOT / "specs" / "googlenet_torchvision.yaml"))
    )
    assert (
        "r_out = max(r₁, r₂, r₃, r₄) = max(27, 43, 43, 43) = 43  (the largest branch, branch2, "
        "is taken with its jump 8 and start -15)" in googlenet
    )
    resnet = report_text(worked_report(cnncalc.analyse_file(ROOT / "specs" / "resnet18.yaml")))
    assert "r_out = max(r_body, r_shortcut) = max(27, 11) = 27  (the largest branch, the body" in (
        resnet
    )
    # the projection's own 1×1 stride-2 window: the field stays, the jump doubles
    assert "r_out = r_in + (k − 1)·j_in = 43 + (1 − 1)·4 = 43" in resnet
    assert "r_out = max(r_body, r_shortcut) = max(67, 43) = 67" in resnet


def test_a_broadcast_branch_sees_the_whole_map_but_keeps_no_grid():
    analysis = analyse_text("""
        name: se
        input: [64, 14, 14]
        layers:
          - conv: {filters: 64, kernel: 3, padding: 1}
          - multiply:
              - []
              - [global_avgpool, conv: {filters: 16, kernel: 1}, relu,
                 conv: {filters: 64, kernel: 1}, sigmoid]
    """)
    text = report_text(worked_report(analysis))
    # the global pool sees r_in + (14 − 1)·j_in = 3 + 13 = 16: the whole padded 14×14 map
    assert "r_out = max(r₁, r₂) = max(3, 16) = 16  (the largest is branch2, broadcast from 1:" in (
        text
    )
    assert "the jump 1 and start -1 carry on from the identity" in text


def test_residual_shortcuts_are_worked():
    resnet = report_text(worked_report(cnncalc.analyse_file(ROOT / "specs" / "resnet18.yaml")))
    identity = resnet.split("layer1.0.add (add)")[1].split("layer1.0.relu2")[0]
    assert "shortcut = identity = 0 parameters  (the input 56×56×64 already has the body's" in (
        identity
    )
    assert "output = F(x) + shortcut(x) = 56×56×64 + 56×56×64 = 56×56×64" in identity
    projection = resnet.split("layer2.0.add (add)")[1].split("layer2.0.relu2")[0]
    assert (
        "shortcut = 1×1 conv (S = 2) + batchnorm = 8,192 + 256 = 8,448 parameters  (a "
        "projection, because the body changes the depth 64 → 128 and the size 56×56 → 28×28; "
        "it costs 6,422,528 MACs)" in projection
    )
    no_bias = report_text(
        worked_report(cnncalc.analyse_file(ROOT / "specs" / "resnet18.yaml"), no_bias="all")
    )
    assert "+ batchnorm = 8,192 + 128 = 8,320 parameters" in no_bias  # BN β left out too


def test_report_marks_claims_on_the_steps_they_concern():
    from cnncalc.report.html_report import report_html
    from cnncalc.report.latex_report import report_latex
    from cnncalc.report.markdown_report import report_markdown

    notes = ROOT / "specs" / "lecture_notes"
    report = worked_report(cnncalc.analyse_file(notes / "alexnet_no_padding_stated_strides.yaml"))
    text = report_text(report)
    pool1 = text.split("pool1 (maxpool)")[1].split("conv2 (conv)")[0]
    assert "    D_out = D_in = 96\n    output = 14×14×96  ✗ claimed 27x27x96\n" in pool1
    assert "(34,848 weights + 96 biases)  ✓ claimed weights 34,848" in text
    assert "**✗ claimed 27x27x96**" in report_markdown(report)
    assert r"\textbf{$\times$ claimed 27x27x96}" in report_latex(report)
    assert '<span class="no">✗ claimed 27x27x96</span>' in report_html(report)
    totals = report_text(worked_report(cnncalc.analyse_file(notes / "alexnet_no_padding.yaml")))
    assert "✗ claimed 27.55M (≈ 28.81M)" in totals.split("Totals")[1]
    vgg = report_text(worked_report(cnncalc.analyse_file(notes / "vgg16.yaml")))
    # a block's subtotal has no step of its own: the claim gets a line
    assert "    params = 123,642,856  ✗ claimed 122M (≈ 124M)" in vgg
    assert "16 weight layers" in vgg and "✓ claimed 16" in vgg.split("Totals")[1]
    rf = report_text(worked_report(cnncalc.analyse_file(notes / "receptive_field_3x3.yaml")))
    assert "receptive field  7×7  (what one pixel of the last spatial map sees" in rf
    assert "sees of the input)  ✓ claimed 7x7" in rf


# ----------------------------------------------------------- found by trying it as a user


def _worked(spec_text: str, **options) -> str:
    return report_text(worked_report(cnncalc.analyse(cnncalc.parse_spec(spec_text)), **options))


def test_zero_padding_is_worked_as_a_size_change():
    text = _worked("name: z\ninput: [4, 5, 4]\nlayers:\n  - zeropad: [1, 0, 2, 1]\n")
    assert "W_out = W_in + P_left + P_right = 4 + 2 + 1 = 7" in text
    assert "H_out = H_in + P_top + P_bottom = 5 + 1 + 0 = 6" in text
    assert "shape unchanged" not in text


def test_ceil_mode_says_when_pytorch_drops_the_last_window():
    # (5 − 2 + 2)/2 + 1 = 3.5: ceil would give 4, but the 4th window starts in the padding
    text = _worked(
        "name: c\ninput: [1, 5, 5]\nlayers:\n"
        "  - maxpool: {kernel: 2, padding: 1, ceil_mode: true}\n"
    )
    assert "3.5 → 3: ceil_mode would round up, but PyTorch drops a last window" in text
    kept = _worked(
        "name: c\ninput: [1, 6, 6]\nlayers:\n  - maxpool: {kernel: 3, stride: 2, ceil_mode: true}\n"
    )
    assert "2.5 → 3: rounded up (ceil_mode)" in kept


def test_no_bias_marks_say_the_claim_is_judged_with_the_biases():
    spec = (
        "name: nb\ninput: [3, 32, 32]\nlayers:\n"
        "  - conv: {filters: 16, kernel: 5, expect: {params: 1216}}\n"
    )
    text = _worked(spec, no_bias=True)
    assert "= 1,200  (biases ignored)  ✓ claimed params 1,216 (params with biases: 1,216)" in text


def test_a_symbolic_report_judges_no_claims_and_check_refuses_symbols():
    path = ROOT / "specs" / "lecture_notes" / "alexnet_no_padding.yaml"
    symbolic = CliRunner().invoke(app, ["report", str(path), "--symbolic", "-f", "text"])
    assert symbolic.exit_code == 0 and "claimed" not in symbolic.output
    refused = CliRunner().invoke(app, ["check", str(path), "--input", "3xHxW"])
    assert refused.exit_code == 2 and "check judges claims at numeric sizes" in refused.output


def test_a_receptive_field_claim_on_a_flat_layer_is_wrong():
    analysis = cnncalc.analyse(
        cnncalc.parse_spec(
            "name: f\ninput: [1, 8, 8]\nlayers:\n  - conv: {filters: 1, kernel: 3}\n"
            "  - flatten: {expect: {receptive_field: 3}}\n"
        )
    )
    (claim,) = analysis.claims
    assert not claim.ok and claim.actual == "none (a flat output)"


def test_writing_into_a_missing_folder_is_an_error_not_a_traceback(tmp_path):
    target = tmp_path / "missing" / "x.md"
    result = CliRunner().invoke(
        app, ["report", str(ROOT / "specs" / "lenet5.yaml"), "-o", str(target)]
    )
    assert result.exit_code == 2 and "cannot write" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_calculator_error_names_the_option_not_our_yaml():
    result = CliRunner().invoke(app, ["conv", "1x3x3", "--filters", "1", "--kernel", "5"])
    assert result.exit_code == 2
    assert "error: --kernel: kernel 5 is larger than the padded input" in result.output
    assert "<calculator>" not in result.output


def test_check_at_another_input_says_the_claims_were_written_for_the_spec_s():
    spec = str(ROOT / "specs" / "lecture_notes" / "alexnet_227.yaml")
    result = CliRunner().invoke(app, ["check", spec, "--input", "3x224x224"])
    assert "note: the claims were written for the spec's input 3×227×227" in result.output
    assert "note:" not in CliRunner().invoke(app, ["check", spec]).output


def test_an_unknown_report_suffix_asks_for_a_format(tmp_path):
    spec = str(ROOT / "specs" / "lenet5.yaml")
    result = CliRunner().invoke(app, ["report", spec, "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "cannot tell a report format from '.pdf'" in result.output
    assert not (tmp_path / "x.pdf").exists()
    text = CliRunner().invoke(app, ["report", spec, "-o", str(tmp_path / "x.txt")])
    assert text.exit_code == 0 and (tmp_path / "x.txt").read_text(encoding="utf-8").startswith(
        "LeNet"
    )
