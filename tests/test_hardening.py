"""Issue 14, hardening: no silent misreading, no traceback, no hang. Each test here failed on
the code before the fix it pins (the item number of the issue is in its name)."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.engine.conventions import get_convention
from cnncalc.engine.memory import memory_report
from cnncalc.engine.savings import _chunk_sizes
from cnncalc.errors import SpecError
from cnncalc.report.formats import render
from cnncalc.report.memory_report import memory_text
from cnncalc.report.text_report import report_text
from cnncalc.report.views import bytes_text
from cnncalc.report.worked import worked_report

from .conftest import ROOT, analyse_text

runner = CliRunner()
LENET = str(ROOT / "specs" / "lenet5.yaml")


def invoke(*args: str):
    return runner.invoke(app, list(args))


# ------------------------------------------------------------ 1. calculators read C×H×W


def test_01_calculator_reads_c_h_w_like_input():
    # 3 channels of 32×32, 16 filters of 3×3×3: 16·27 weights + 16 biases = 448
    result = invoke("conv", "3x32x32", "--filters", "16", "--kernel", "3", "--padding", "1")
    assert result.exit_code == 0, result.output
    assert "input C×H×W = 3×32×32: C = 3, H = 32, W = 32" in result.stdout
    assert "(3·3·3)·16 + 16 = 448" in result.stdout
    assert "warning" not in result.output


def test_01_calculator_warns_when_the_volume_looks_h_w_c_and_rewrites_the_command():
    result = invoke("conv", "32x32x3", "--filters", "16", "--kernel", "3", "--stride", "2")
    assert result.exit_code == 0, result.output
    assert "warning: 32x32x3 is read as C×H×W: 32 channels of 32×3 pixels" in result.stderr
    assert "cnncalc conv 3x32x32 --filters 16 --kernel 3 --stride 2" in result.stderr
    pool = invoke("pool", "28x28x1", "--kernel", "2", "--avg")
    assert "cnncalc pool 1x28x28 --kernel 2 --avg" in pool.stderr


# ------------------------------------------------------------ 2. Keras-style spec input


def test_02_keras_style_spec_input_warns_with_file_and_line():
    analysis = analyse_text(
        """
        name: keras
        input: [32, 32, 3]
        layers:
          - conv: {filters: 8, kernel: 3}
        """
    )
    (warning,) = [str(item) for item in analysis.warnings]
    assert warning.startswith("inline.yaml:3: input [32, 32, 3] is read as C×H×W")
    assert "write input: [3, 32, 32]" in warning


def test_02_keras_style_input_option_that_fails_says_why_in_the_hint():
    result = invoke("shape", LENET, "--input", "28x28x1")
    assert result.exit_code == 2
    assert "for an H×W×C image write --input 1x28x28" in result.output


def test_02_a_c_h_w_input_gets_no_warning():
    assert not analyse_text(
        "name: x\ninput: [3, 32, 32]\nlayers:\n  - conv: {filters: 8, kernel: 3}\n"
    ).warnings


def test_02_report_puts_the_input_warning_on_stderr(tmp_path):
    spec = tmp_path / "keras.yaml"
    spec.write_text("name: k\ninput: [64, 64, 3]\nlayers:\n  - conv: {filters: 8, kernel: 3}\n")
    result = invoke("report", str(spec), "-f", "text")
    assert result.exit_code == 0
    assert "keras.yaml:2: input [64, 64, 3] is read as C×H×W" in result.stderr


# ------------------------------------------------------------ 3. export follows -o's suffix


def test_03_export_to_an_onnx_file_without_to_exports_onnx(tmp_path, monkeypatch):
    # without onnx installed, the ONNX path says so: proof it did not write Python source
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnx" else real_find_spec(name, *a),
    )
    target = tmp_path / "model.onnx"
    result = invoke("export", LENET, "-o", str(target))
    assert result.exit_code == 2
    assert "pip install 'cnncalc[onnx]'" in result.output
    assert not target.exists()


def test_03_export_refuses_a_suffix_that_names_the_other_target(tmp_path):
    result = invoke("export", LENET, "--to", "torch", "-o", str(tmp_path / "model.onnx"))
    assert result.exit_code == 2
    assert "--to torch writes PyTorch source, not a .onnx file: use --to onnx" in result.output
    result = invoke("export", LENET, "-o", str(tmp_path / "model.txt"))
    assert result.exit_code == 2 and "cannot tell what to export from '.txt'" in result.output
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------ 4. symbolic channels


def test_04_a_symbolic_channel_count_is_refused_with_the_fix():
    for command in ("shape", "params", "summary", "report", "check", "savings", "memory"):
        result = invoke(command, LENET, "--input", "CxHxW")
        assert result.exit_code == 2, (command, result.output)
        assert "the channel count must be a number, not the symbol 'C'" in result.output
        assert "e.g. 3xHxW" in result.output


def test_04_a_symbolic_channel_count_in_the_spec_names_the_line(tmp_path):
    spec = tmp_path / "c.yaml"
    spec.write_text("name: c\ninput: [C, H, W]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n")
    result = invoke("summary", str(spec))
    assert result.exit_code == 2 and not isinstance(result.exception, KeyError)
    assert "c.yaml:2:8: error: the channel count must be a number" in result.output
    assert "hint: give the channels, e.g. [3, H, W]" in result.output


# ------------------------------------------------------------ 5. repeat of nothing


def test_05_repeat_with_empty_layers_is_an_error_not_a_key_error():
    with pytest.raises(SpecError) as raised:
        analyse_text("name: r\ninput: [3, 8, 8]\nlayers:\n  - repeat: 3\n    layers: []\n")
    assert raised.value.message == "repeat has no layers to repeat"
    assert raised.value.loc.line == 4 and raised.value.key == "layers"


# ------------------------------------------------------------ 6. savings of long stacks


def test_06_chunks_of_stacked_convs_in_closed_form():
    assert _chunk_sizes(1) == [] and _chunk_sizes(2) == [2] and _chunk_sizes(4) == [2, 2]
    assert _chunk_sizes(7) == [3, 2, 2] and _chunk_sizes(8) == [3, 3, 2]
    chunks = _chunk_sizes(3000)  # a recursion on count - 3 overflowed the stack here
    assert chunks == [3] * 1000
    assert sum(_chunk_sizes(3001)) == 3001 and _chunk_sizes(3001)[-2:] == [2, 2]


# ------------------------------------------------------------ 7. exact integers at any size

HUGE = 10**310  # past a float's 1.8e308


def test_07_huge_input_and_padding_stay_exact_and_render():
    analysis = analyse_text(
        "name: big\ninput: [1, 8, 8]\nlayers:\n"
        f"  - conv: {{filters: 2, kernel: 3, padding: {HUGE}}}\n"
    )
    side = 8 + 2 * HUGE - 3 + 1
    assert analysis.totals.macs == side * side * 2 * 9  # exact, not a float
    macs = analysis.totals.macs
    for fmt in ("table", "md", "json", "csv"):
        shown = render(analysis, "summary", fmt, get_convention("cnncalc"))
        assert (f"{macs:,}" if fmt in ("table", "md") else str(macs)) in shown
    report = memory_report(analysis, 1, "float32", "adam")
    assert "TiB" in memory_text(report)
    # HUGE·2^18 elements of 4 bytes are HUGE MiB, written in full
    assert bytes_text(HUGE * 2**18) == f"{HUGE:,}.00 MiB"
    assert bytes_text(HUGE * 2**18 + 2**17) == f"{HUGE:,}.50 MiB"


def test_07_huge_odd_division_is_worked_exactly():
    analysis = analyse_text(
        f"name: big\ninput: [1, {HUGE + 1}, 8]\nlayers:\n"
        "  - conv: {filters: 2, kernel: 2, stride: 2}\n"
    )
    text = report_text(worked_report(analysis))
    assert f"/2 + 1 = {HUGE // 2}.5 → " in text


def test_07_a_float_field_past_float_range_is_an_error():
    with pytest.raises(SpecError) as raised:
        analyse_text(f"name: l\ninput: [4, 8, 8]\nlayers:\n  - lrn: {{size: 3, k: {HUGE}}}\n")
    assert "'k' is too large for a float (at most about 1.8e308), got an integer of 311 digits" in (
        raised.value.message
    )


def test_07_a_claim_of_1e_minus_300_is_judged_not_a_decimal_error(tmp_path):
    spec = tmp_path / "claim.yaml"
    spec.write_text(
        "name: c\ninput: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: 3}\n"
        "expect: {params: 1.0e-300}\n"
    )
    result = invoke("check", str(spec))
    assert result.exit_code == 1, result.output
    assert "✗ totals params: claimed 1e-300, correct 20 ≈ 2.0000e1" in result.output
