"""The CLI through typer's runner, the fast path, formats, and lazy imports."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.cli.fast import parse_fast
from cnncalc.layers import KINDS

from .conftest import ROOT

runner = CliRunner()
LENET = str(ROOT / "specs" / "lenet5.yaml")


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("command", ["shape", "params", "flops", "summary"])
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "md"])
def test_every_command_in_every_format(command, fmt):
    result = invoke(command, LENET, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        document = json.loads(result.output)
        assert document["schema"] == "cnncalc/analysis@1"
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(result.output)))
        assert rows[0][0] == "layer" and len(rows) == 13


def test_json_contract():
    document = json.loads(invoke("summary", LENET, "--format", "json").output)
    assert {"schema", "name", "input", "layers", "totals", "conventions", "warnings"} <= set(
        document
    )
    layer = document["layers"][0]
    for key in (
        "path",
        "kind",
        "input_shape",
        "output_shape",
        "params",
        "trainable_params",
        "macs",
        "flops",
    ):
        assert key in layer
    assert layer == {
        **layer,
        "path": "c1",
        "kind": "conv",
        "input_shape": [1, 32, 32],
        "output_shape": [6, 28, 28],
        "params": 156,
        "macs": 117600,
        "flops": 235200,
    }
    totals = document["totals"]
    assert totals["params"] == 61706 and totals["macs"] == 416520
    for key in (
        "params",
        "trainable_params",
        "non_trainable_params",
        "buffers",
        "macs",
        "flops",
        "activation_elements",
        "depth",
    ):
        assert key in totals
    assert document["conventions"]["name"] == "cnncalc"


SAME_TF = """\
name: same_tf
input: [3, 224, 225]
layers:
  - conv: {filters: 8, kernel: 3, stride: 2, padding: same_tf}
  - relu
  - maxpool: {kernel: [1, 3], stride: 1, padding: same}
"""


def test_the_resolved_padding_is_shown(tmp_path, monkeypatch):
    """TensorFlow's SAME at stride 2: out = ⌈in/2⌉, so 224 rows need 1 pixel (after) and 225
    columns need 2 (one each side); PyTorch's same on 1×3 pads only the columns."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tf.yaml").write_text(SAME_TF, encoding="utf-8")
    table = invoke("shape", "tf.yaml").output.splitlines()
    assert table[1 + 3].split()[:5] == ["conv1", "conv", "3×224×225", "8×112×113", "H:0+1"]
    assert table[1 + 3].split()[5] == "W:1"
    assert table[1 + 4].split()[:4] == ["relu1", "relu", "8×112×113", "8×112×113"]
    assert "H:0" not in table[1 + 4]
    document = json.loads(invoke("shape", "tf.yaml", "-f", "json").output)
    conv, relu, pool = document["layers"]
    assert conv["padding"] == {"top": 0, "bottom": 1, "left": 1, "right": 1}
    assert relu["padding"] is None
    assert pool["padding"] == {"top": 0, "bottom": 0, "left": 1, "right": 1}


def _documented_keys() -> set[str]:
    """The keys in the first column of docs/json-format.md's tables."""
    text = (ROOT / "docs" / "json-format.md").read_text(encoding="utf-8")
    keys: set[str] = set()
    for cell in re.findall(r"^\| (`[^|]*`) \|", text, flags=re.M):
        keys.update(re.findall(r"`(\w+)`", cell))
    return keys


def test_every_json_key_is_documented():
    document = json.loads(
        invoke("summary", str(ROOT / "specs" / "resnet18.yaml"), "-f", "json").output
    )
    keys = set(document) | set(document["layers"][0]) | set(document["blocks"][0])
    keys |= set(document["totals"]) | set(document["conventions"])
    keys |= set(document["conventions"]["compatibility"])
    assert keys <= _documented_keys()


def test_symbolic_values_are_strings_in_json():
    document = json.loads(invoke("shape", LENET, "--input", "1xHxW", "-f", "json").output)
    assert document["input"] == [1, "H", "W"]
    assert document["layers"][0]["output_shape"] == [6, "H - 4", "W - 4"]
    assert document["symbols"] == ["H", "W"]
    assert document["valid_from"] == {"H": 32, "W": 32}
    table = invoke("shape", LENET, "--input", "1xHxW").output
    assert "valid for  H ≥ 32, W ≥ 32 (the smallest input every layer accepts)" in table


def test_input_substitution_and_batch():
    document = json.loads(invoke("flops", LENET, "-i", "1x32x32", "-b", "8", "-f", "json").output)
    assert document["totals"]["macs"] == 8 * 416520
    assert document["totals"]["params"] == 61706


@pytest.mark.parametrize(
    ("convention", "flops_key"),
    [
        ("fvcore", "fvcore_flops"),
        ("fvcore_training", "fvcore_training_flops"),
        ("flopcounter", "flopcounter_flops"),
        ("torchinfo", "torchinfo_mult_adds"),
    ],
)
def test_conventions_report_the_peer_totals(convention, flops_key):
    spec = str(ROOT / "specs" / "resnet50.yaml")
    document = json.loads(invoke("flops", spec, "-c", convention, "-f", "json").output)
    compatibility = document["conventions"]["compatibility"]
    assert document["totals"]["flops"] == compatibility[flops_key]
    assert document["conventions"]["reconciliation"]


def test_compatibility_figures_resnet50():
    """fvcore = MACs + 2 per BN element + 1 per element into the global pool; FlopCounterMode
    = 2 × MACs; torchinfo = MACs + fc bias + BN γ, β; Keras counts BN moving statistics."""
    spec = str(ROOT / "specs" / "resnet50.yaml")
    document = json.loads(invoke("summary", spec, "-c", "keras", "-f", "json").output)
    compatibility = document["conventions"]["compatibility"]
    assert compatibility["fvcore_flops"] == 4_089_184_256 + 22_227_968 + 2048 * 7 * 7
    # training mode: 5 per BN element instead of 2 (22,227,968 = 2 × 11,113,984 elements)
    assert compatibility["fvcore_training_flops"] == 4_089_184_256 + 5 * 11_113_984 + 2048 * 7 * 7
    assert compatibility["flopcounter_flops"] == 2 * 4_089_184_256
    assert compatibility["torchinfo_mult_adds"] == 4_089_184_256 + 1000 + 53_120
    assert document["totals"]["params"] == 25_557_032 + 53_120
    assert document["totals"]["non_trainable_params"] == 53_120


def test_layers_lists_the_registry():
    result = invoke("layers")
    assert result.exit_code == 0
    for kind in KINDS:
        assert kind in result.output
    assert len(json.loads(invoke("layers", "--format", "json").output)) == len(KINDS)


@pytest.mark.parametrize("command", ["shape", "params", "flops", "summary", "layers"])
def test_help_has_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example: cnncalc " + command in result.output


def test_bad_input_option_exits_2():
    result = invoke("shape", LENET, "--input", "3x-1x5")
    assert result.exit_code == 2
    assert "--input dimension '-1'" in result.output
    assert "Traceback" not in result.output


# -------------------------------------------------------------------- fast path


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", LENET],
        ["shape", LENET, "--input", "1xHxW"],
        ["params", LENET, "-f", "md", "-c", "keras"],
        ["flops", LENET, "--batch=4", "--format=json", "--convention", "fvcore"],
        ["summary", LENET, "-i", "1x64x64", "-f", "csv"],
    ],
)
def test_fast_path_prints_what_typer_prints(argv, capsys, monkeypatch):
    from cnncalc.cli import fast as entry

    assert parse_fast(argv) is not None
    monkeypatch.setattr(sys, "argv", ["cnncalc", *argv])
    with pytest.raises(SystemExit) as status:
        entry.main()
    assert status.value.code == 0
    assert capsys.readouterr().out == invoke(*argv).output


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["layers"],
        ["summary"],
        ["summary", LENET, "--help"],
        ["summary", LENET, "-f", "xml"],
        ["summary", LENET, "--batch", "0"],
        ["summary", LENET, "extra"],
        ["summary", LENET, "-i"],
        ["summary", LENET, "--unknown"],
        ["summary", LENET, "-f", "md", "-f", "csv"],
    ],
)
def test_anything_unusual_goes_to_typer(argv):
    assert parse_fast(argv) is None


def test_the_console_script_never_imports_torch_or_sympy():
    spec = str(ROOT / "specs" / "resnet152.yaml")
    code = (
        "import sys; from cnncalc.cli import fast as entry\n"
        f"sys.argv = ['cnncalc', 'summary', {spec!r}]\n"
        "try:\n    entry.main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'sympy' in sys.modules, 'typer' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip().splitlines()[-1] == "False False False"


def test_symbols_import_sympy_only_then():
    code = (
        "import sys, cnncalc\n"
        "cnncalc.analyse_file({!r})\n"
        "print('sympy' in sys.modules)\n"
        "cnncalc.analyse_file({!r}, [3, 'H', 'W'])\n"
        "print('sympy' in sys.modules)\n"
    ).format(str(ROOT / "specs" / "alexnet.yaml"), str(ROOT / "specs" / "alexnet.yaml"))
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["False", "True"]


def test_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "cnncalc", "params", LENET, "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout)["totals"]["params"] == 61706
