"""Issue 14, hardening: no silent misreading, no traceback, no hang. Each test here failed on
the code before the fix it pins (the item number of the issue is in its name)."""

from __future__ import annotations

import importlib.util

from typer.testing import CliRunner

from cnncalc.cli import app

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
