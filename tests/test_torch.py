"""The engine against PyTorch: bundled specs, random specs (hypothesis), build, export."""

from __future__ import annotations

import importlib.util
import json

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.layers import KINDS, LayerKind
from cnncalc.spec.parser import STRUCTURES

from .conftest import ROOT, SPECS, examples
from .strategies import KIND_STRATEGIES, STRUCTURE_STRATEGIES, random_specs
from .test_layers import CASES

torch = pytest.importorskip("torch")

from cnncalc.report.verification import verification_table  # noqa: E402
from cnncalc.torch import build  # noqa: E402
from cnncalc.torch.export import export_source  # noqa: E402
from cnncalc.torch.verify import verify  # noqa: E402

HAS_FVCORE = importlib.util.find_spec("fvcore") is not None
runner = CliRunner()


def test_every_kind_has_a_strategy_a_torch_builder_and_a_hand_worked_case():
    for name, kind in KINDS.items():
        assert name in KIND_STRATEGIES, f"{name}: no hypothesis strategy"
        assert name in CASES, f"{name}: no hand-worked unit test"
        assert type(kind).torch_code is not LayerKind.torch_code, f"{name}: no torch builder"
    merges = {"concat", "add", "multiply"}
    assert set(STRUCTURES) - merges <= set(STRUCTURE_STRATEGIES)
    assert merges <= set(STRUCTURE_STRATEGIES)


# ------------------------------------------------------------------ bundled specs


@pytest.mark.parametrize("path", SPECS, ids=[path.stem for path in SPECS])
def test_bundled_spec_verifies_on_meta(path):
    result = verify(path, device="meta", peers=())
    assert result.ok, result.failure or result.mismatches


SMALL = [
    "lenet5",
    "fashion_mnist_cnn",
    "mnist_cnn",
    "vgg13_cifar10",
    "savings_inception",
    "savings_gap",
    "resnet18",
    "mobilenet_v1",
    "googlenet_torchvision",
    "densenet121",
]


@pytest.mark.skipif(not HAS_FVCORE, reason="fvcore is not installed")
@pytest.mark.parametrize("name", SMALL)
def test_small_specs_verify_on_cpu_with_the_peer_tools(name):
    result = verify(ROOT / "specs" / f"{name}.yaml", device="cpu")
    assert result.ok, result.failure or result.mismatches
    checked = {check.name for check in result.totals}
    assert "fvcore convention = FlopCountAnalysis" in checked
    assert "torchinfo convention = torchinfo mult-adds" in checked


# ------------------------------------------------------------------ random specs


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_specs_agree_with_torch_on_every_layer(case):
    text, numeric = case
    analysis = cnncalc.analyse(cnncalc.parse_spec(text, "random.yaml"), list(numeric))
    result = verify(analysis, device="meta", peers=())
    assert result.ok, (text, result.failure, result.mismatches)


@pytest.mark.skipif(not HAS_FVCORE, reason="fvcore is not installed")
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs(max_items=4))
def test_random_specs_compatibility_totals_equal_the_real_tools(case):
    text, numeric = case
    analysis = cnncalc.analyse(cnncalc.parse_spec(text, "random.yaml"), list(numeric))
    result = verify(analysis, device="cpu", peers=("fvcore",))
    assert result.ok, (text, result.failure, result.mismatches)


def test_the_thorough_profile_scales_every_property_test():
    """`make thorough` must search ten times harder, and the default suite not at all."""
    for everyday in ("default", "ci"):  # hypothesis loads "ci" itself when $CI is set
        assert examples(120, settings.get_profile(everyday)) == 120
    thorough = settings.get_profile("thorough")
    assert [examples(count, thorough) for count in (15, 25, 120, 200)] == [150, 250, 1200, 2000]


# ------------------------------------------------------------------ build and export


# torchvision's resnet18 state_dict: (name, shape) for every entry, written down here so the
# test needs no torchvision. Buffers: running_mean/var (C,), num_batches_tracked ().
def _torchvision_resnet18_state() -> list[tuple[str, tuple[int, ...]]]:
    def bn(prefix, channels):
        return [
            (f"{prefix}.weight", (channels,)),
            (f"{prefix}.bias", (channels,)),
            (f"{prefix}.running_mean", (channels,)),
            (f"{prefix}.running_var", (channels,)),
            (f"{prefix}.num_batches_tracked", ()),
        ]

    state = [("conv1.weight", (64, 3, 7, 7)), *bn("bn1", 64)]
    inputs = 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            prefix = f"layer{stage}.{block}"
            state += [
                (f"{prefix}.conv1.weight", (width, inputs, 3, 3)),
                *bn(f"{prefix}.bn1", width),
                (f"{prefix}.conv2.weight", (width, width, 3, 3)),
                *bn(f"{prefix}.bn2", width),
            ]
            if block == 0 and stage > 1:
                state += [
                    (f"{prefix}.downsample.0.weight", (width, inputs, 1, 1)),
                    *bn(f"{prefix}.downsample.1", width),
                ]
            inputs = width
    return [*state, ("fc.weight", (1000, 512)), ("fc.bias", (1000,))]


def test_resnet18_state_dict_equals_torchvision():
    model = build(ROOT / "specs" / "resnet18.yaml", device="meta")
    ours = [(name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]
    assert ours == _torchvision_resnet18_state()
    assert len(ours) == 122


def test_built_model_runs_and_counts():
    model = build(ROOT / "specs" / "googlenet_torchvision.yaml").eval()
    assert sum(p.numel() for p in model.parameters()) == 6_624_904
    assert "inception3a" in str(model)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 224, 224)).shape == (2, 1000)


def _pooled_by_hand(image, kernel, stride, dilation, pads, kind, count_padding):
    """A pool computed window by window over the real pixels of a 1×1×H×W image, with the
    padding (top, bottom, left, right) counted only where ``count_padding`` says."""
    top, bottom, left, right = pads
    height, width = image.shape[-2:]
    out_h = (height + top + bottom - dilation * (kernel - 1) - 1) // stride + 1
    out_w = (width + left + right - dilation * (kernel - 1) - 1) // stride + 1
    result = torch.empty(out_h, out_w, dtype=torch.float64)
    for row in range(out_h):
        for column in range(out_w):
            values = [
                image[0, 0, y, x].item()
                for i in range(kernel)
                for j in range(kernel)
                if 0 <= (y := row * stride + i * dilation - top) < height
                and 0 <= (x := column * stride + j * dilation - left) < width
            ]
            if kind == "maxpool":
                result[row, column] = max(values)
            else:
                divisor = kernel * kernel if count_padding else len(values)
                result[row, column] = sum(values) / divisor
    return result


@pytest.mark.parametrize(
    "layer, size, stride, dilation, pads, count_padding",
    [
        # Keras' SAME on 7×7, stride 2: total pad (4 − 1)·2 + 3 − 7 = 2, one each side
        ("maxpool: {kernel: 3, stride: 2, padding: same_tf}", 7, 2, 1, (1, 1, 1, 1), True),
        # on 6×6 the pad is 1, all of it after (bottom/right), as TensorFlow puts it
        ("maxpool: {kernel: 3, stride: 2, padding: same_tf}", 6, 2, 1, (0, 1, 0, 1), True),
        # a dilated window needs padding 2 > kernel // 2, more than nn.MaxPool2d accepts
        ("maxpool: {kernel: 3, stride: 1, dilation: 2, padding: same}", 6, 1, 2, (2,) * 4, True),
        ("avgpool: {kernel: 3, stride: 2, padding: same_tf}", 6, 2, 1, (0, 1, 0, 1), True),
        (
            "avgpool: {kernel: 3, stride: 2, padding: same_tf, count_include_pad: false}",
            6, 2, 1, (0, 1, 0, 1), False,
        ),
        (
            "avgpool: {kernel: 3, stride: 1, padding: 1, count_include_pad: false}",
            6, 1, 1, (1, 1, 1, 1), False,
        ),
    ],
)  # fmt: skip
def test_padded_pools_compute_what_their_convention_says(
    layer, size, stride, dilation, pads, count_padding
):
    model = build(cnncalc.parse_spec(f"input: [1, {size}, {size}]\nlayers: [{layer}]\n"))
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, size, size, dtype=torch.float64, generator=generator)
    kind = layer.split(":")[0]
    expected = _pooled_by_hand(image, 3, stride, dilation, pads, kind, count_padding)
    with torch.no_grad():
        actual = model.double()(image)[0, 0]
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected), (actual, expected)


@pytest.mark.parametrize("name", ["resnet18", "googlenet_torchvision", "densenet121", "lenet5"])
def test_exported_code_imports_and_matches(tmp_path, name):
    spec = ROOT / "specs" / f"{name}.yaml"
    source = export_source(spec)
    assert "cnncalc" not in source.split('"""')[2]  # only the docstring mentions cnncalc
    path = tmp_path / "model.py"
    path.write_text(source, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location("exported_model", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    analysis = cnncalc.analyse_file(spec)
    exported = getattr(module, next(n for n in vars(module) if n[0].isupper() and n != "F"))()
    assert sum(p.numel() for p in exported.parameters()) == analysis.totals.params
    built = build(analysis).eval()
    exported.load_state_dict(built.state_dict())
    exported.eval()
    sample = torch.randn(1, *analysis.input_shape)
    with torch.no_grad():
        assert torch.allclose(exported(sample), built(sample), atol=1e-5)


def test_symbolic_spec_needs_an_input():
    with pytest.raises(cnncalc.CnncalcError, match="needs numbers"):
        build(cnncalc.analyse(cnncalc.parse_spec("name: s\ninput: [3, H, W]\nlayers: [relu]\n")))


# ------------------------------------------------------------------ CLI


def test_verify_cli_agrees_exit_0():
    result = runner.invoke(app, ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers"])
    assert result.exit_code == 0, result.output
    assert "all agree" in result.output and "✓" in result.output


def test_verify_cli_json():
    result = runner.invoke(
        app, ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers", "-f", "json"]
    )
    document = json.loads(result.output)
    assert document["schema"] == "cnncalc/verification@1" and document["ok"] is True


def _one_weight_too_many(monkeypatch):
    """Make the engine count one conv weight too many, as a wrong rule would."""
    conv = KINDS["conv"]
    original = type(conv).infer

    def wrong(self, values, shape, where):
        cost = original(self, values, shape, where)
        return type(cost)(**{**cost.__dict__, "weights": cost.weights + 1})

    monkeypatch.setattr(type(conv), "infer", wrong)


def test_verify_cli_mismatch_exit_1(monkeypatch):
    """A wrong rule in the engine is caught: the layer path and both values are printed."""
    _one_weight_too_many(monkeypatch)
    result = runner.invoke(app, ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers"])
    assert result.exit_code == 1
    assert "c1" in result.output and "cnncalc 157 ≠ torch 156" in result.output


def test_verify_json_gives_mismatches_as_numbers(monkeypatch):
    """Counts are JSON ints and shapes lists of ints, not Python reprs inside strings."""
    _one_weight_too_many(monkeypatch)
    arguments = ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers", "-f", "json"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    first = document["mismatches"][0]
    assert first == {
        "layer": "c1",
        "check": "params",
        "cnncalc": 157,
        "torch": 156,
        "message": "c1: params cnncalc 157 ≠ torch 156",
    }
    totals = [mismatch for mismatch in document["mismatches"] if mismatch["layer"] is None]
    assert {"check": "params", "cnncalc": 61_709, "torch": 61_706}.items() <= totals[0].items()
    assert document["layers"][0]["checks"]["shape"]["torch"] == [1, 6, 28, 28]
    # the totals use the same keys as the layers
    (params,) = [item for item in document["totals"] if item["check"] == "params"]
    assert params == {"check": "params", "cnncalc": 61_709, "torch": 61_706, "ok": False}


def test_verify_table_columns_come_from_every_layer():
    """A first layer without a MACs check (an inline channel shuffle) keeps the column."""
    spec = cnncalc.parse_spec(
        "name: shuffle first\ninput: [4, 8, 8]\nlayers:\n"
        "  - channel_shuffle: 2\n  - conv: {filters: 6, kernel: 3}\n",
        "shuffle.yaml",
    )
    lines = verification_table(verify(spec, device="meta", peers=())).splitlines()
    assert lines[1].split() == ["layer", "kind", "shape", "params", "MACs"]
    assert lines[2].split() == ["shuffle1", "channel_shuffle", "✓", "✓"]
    assert lines[3].split() == ["conv1", "conv", "✓", "✓", "✓"]
    assert lines[3].index("✓", lines[1].index("MACs")) == lines[1].index("MACs")


def test_verify_table_keeps_columns_aligned_past_a_mismatch(monkeypatch):
    _one_weight_too_many(monkeypatch)
    table = verification_table(verify(ROOT / "specs" / "lenet5.yaml", peers=()))
    header, *rows = table.splitlines()[1:13]
    column = header.index("MACs")
    assert rows[0].startswith("c1") and "cnncalc 157 ≠ torch 156" in rows[0]
    assert all(row[column] == "✓" for row in rows), rows
    assert table.endswith("4 mismatches, the first at layer 'c1' (params)")


def test_verify_cli_bad_spec_exit_2():
    result = runner.invoke(app, ["verify", str(ROOT / "docs" / "examples" / "typo.yaml")])
    assert result.exit_code == 2
    assert "did you mean 'kernel'" in result.output


def test_verify_cli_symbolic_exit_2():
    result = runner.invoke(app, ["verify", str(ROOT / "specs" / "lenet5.yaml"), "-i", "1xHxW"])
    assert result.exit_code == 2
    assert "--input" in result.output


def test_export_cli(tmp_path):
    target = tmp_path / "lenet.py"
    result = runner.invoke(app, ["export", str(ROOT / "specs" / "lenet5.yaml"), "-o", str(target)])
    assert result.exit_code == 0
    assert "class LeNet5(nn.Module)" in target.read_text(encoding="utf-8")


def test_export_onnx_without_onnx_says_so(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnx" else real_find_spec(name, *a),
    )
    result = runner.invoke(
        app,
        [
            "export",
            str(ROOT / "specs" / "lenet5.yaml"),
            "--to",
            "onnx",
            "-o",
            str(tmp_path / "m.onnx"),
        ],
    )
    assert result.exit_code == 2
    assert "pip install 'cnncalc[onnx]'" in result.output


HAS_ONNX = importlib.util.find_spec("onnx") is not None

# batchnorm (which the exporter folds into the conv before it) and LRN (whose slices it
# cannot constant-fold, and warns about) are the two cases where what the ONNX file holds
# is not one initializer per parameter
ONNX_SPEC = """\
name: onnx check
input: [3, 16, 16]
layers:
  - conv: {filters: 8, kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - lrn: {size: 5}
  - maxpool: {kernel: 2}
  - flatten
  - linear: 10
"""


@pytest.mark.skipif(not HAS_ONNX, reason="onnx is not installed")
def test_export_onnx_computes_what_the_torch_model_computes(tmp_path):
    """Robust to the exporter's folding choices: the file passes onnx's checker, has the
    engine's input and output shapes, and onnx's reference runtime gives the torch model's
    output for the same weights (the same seed builds the same model)."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    from cnncalc.torch.export import export_onnx

    spec = cnncalc.parse_spec(ONNX_SPEC, "onnx.yaml")
    target = tmp_path / "model.onnx"
    torch.manual_seed(0)
    export_onnx(spec, target)
    torch.manual_seed(0)
    model = build(spec, device="cpu").eval()

    exported = onnx.load(str(target))
    onnx.checker.check_model(exported, full_check=True)

    def dims(value):
        return [dim.dim_value for dim in value.type.tensor_type.shape.dim]

    assert [dims(value) for value in exported.graph.input] == [[1, 3, 16, 16]]
    assert [dims(value) for value in exported.graph.output] == [[1, 10]]
    example = torch.randn(1, 3, 16, 16)
    (onnx_output,) = ReferenceEvaluator(exported).run(None, {"input": example.numpy()})
    with torch.no_grad():
        expected = model(example).numpy()
    assert onnx_output.shape == expected.shape
    assert abs(onnx_output - expected).max() < 1e-4


@pytest.mark.skipif(not HAS_ONNX, reason="onnx is not installed")
def test_export_onnx_keeps_the_exporters_own_warnings_from_the_user(tmp_path):
    """LRN's slices make the exporter warn that it skipped constant folding; the TorchScript
    exporter warns that it is deprecated. Neither concerns the user."""
    import warnings

    from cnncalc.torch.export import export_onnx

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        notes = export_onnx(cnncalc.parse_spec(ONNX_SPEC), tmp_path / "model.onnx")
    assert [str(warning.message) for warning in caught] == []
    assert notes == ()


@pytest.mark.skipif(not HAS_ONNX, reason="onnx is not installed")
def test_export_onnx_relays_a_warning_that_may_matter_in_one_line(tmp_path, monkeypatch):
    import warnings

    real_export = torch.onnx.export

    def export_and_warn(*args, **kwargs):
        warnings.warn(
            "ONNX opset 17 has no exact equivalent\nsecond line", UserWarning, stacklevel=2
        )
        warnings.warn("Constant folding - not applied", UserWarning, stacklevel=2)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", export_and_warn)
    target = tmp_path / "lenet.onnx"
    result = runner.invoke(
        app, ["export", str(ROOT / "specs" / "lenet5.yaml"), "--to", "onnx", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"wrote {target}\n"
        "note: torch.onnx warned: UserWarning: ONNX opset 17 has no exact equivalent\n"
    )


def test_a_torch_failure_the_engine_did_not_foresee_names_the_layer(monkeypatch):
    """If PyTorch refuses a layer at run time, verify reports it with the path, no traceback."""
    from cnncalc.layers import TorchCode

    relu = KINDS["relu"]
    monkeypatch.setattr(
        type(relu), "torch_code", lambda self, *args: TorchCode(None, "{x}.view(-1, 7, 7)")
    )
    result = runner.invoke(app, ["verify", str(ROOT / "specs" / "mnist_cnn.yaml"), "--no-peers"])
    assert result.exit_code == 1
    assert "✗ PyTorch failed at layer 'relu1' (relu): RuntimeError" in result.output
    assert "every layer before it agrees" in result.output
    assert "Traceback" not in result.output


def _pad_every_avgpool_input(monkeypatch):
    """A builder that disagrees with the engine: PyTorch's avgpools see a padded input, so
    their outputs grow by one, and PyTorch only fails at the first linear after them."""
    from cnncalc.layers import TorchCode

    pool = type(KINDS["avgpool"])
    original = pool.torch_code

    def padded(self, values, shape, output, details):
        code = original(self, values, shape, output, details)
        return TorchCode(code.module, code.call.replace("{x}", "F.pad({x}, (1, 1, 1, 1))"))

    monkeypatch.setattr(pool, "torch_code", padded)


def test_a_forward_failure_names_the_first_layer_torch_shaped_differently(monkeypatch):
    """LeNet's s2 is the first to differ; s4 and c5 differ too, and f6 is where torch fails."""
    _pad_every_avgpool_input(monkeypatch)
    result = verify(ROOT / "specs" / "lenet5.yaml", device="meta", peers=())
    failure = result.failure
    assert (failure.stage, failure.path, failure.kind) == ("forward", "f6", "linear")
    difference = failure.first_difference
    assert (difference.path, difference.kind) == ("s2", "avgpool")
    assert (difference.expected, difference.actual) == ((1, 6, 14, 14), (1, 6, 15, 15))
    assert [str(mismatch) for mismatch in result.mismatches] == [
        "s2: shape cnncalc 1×6×14×14 ≠ torch 1×6×15×15"
    ]

    table = runner.invoke(app, ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers"])
    assert table.exit_code == 1
    lines = table.stdout.splitlines()
    assert lines[1] == (
        "✗ first disagreement: layer 's2' (avgpool): output shape cnncalc 1×6×14×14 "
        "≠ torch 1×6×15×15"
    )
    assert lines[2].startswith("✗ then PyTorch failed at layer 'f6' (linear): RuntimeError")


def test_a_failure_at_a_merge_names_the_branch_layer_that_differed(monkeypatch):
    """The pool in the second branch grows its output; PyTorch fails only at the concat."""
    from cnncalc.layers import TorchCode

    pool = type(KINDS["maxpool"])
    original = pool.torch_code

    def padded(self, values, shape, output, details):
        code = original(self, values, shape, output, details)
        return TorchCode(code.module, code.call.replace("{x}", "F.pad({x}, (1, 1, 1, 1))"))

    monkeypatch.setattr(pool, "torch_code", padded)
    spec = cnncalc.parse_spec(
        "name: branches\ninput: [4, 8, 8]\nlayers:\n  - concat:\n"
        "      - [conv: {filters: 4, kernel: 3, padding: 1}]\n"
        "      - [maxpool: {kernel: 3, stride: 1, padding: 1}, relu]\n"
        "  - flatten\n  - linear: 10\n"
    )
    failure = verify(spec, device="meta", peers=()).failure
    assert (failure.path, failure.kind) == ("concat1.concat", "concat")
    difference = failure.first_difference
    assert (difference.path, difference.expected, difference.actual) == (
        "concat1.branch2.pool1",
        (1, 4, 8, 8),
        (1, 4, 10, 10),
    )


def test_a_forward_failure_in_json_carries_the_first_difference_as_numbers(monkeypatch):
    _pad_every_avgpool_input(monkeypatch)
    arguments = ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers", "-f", "json"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    failure = document["failure"]
    assert (failure["stage"], failure["layer"], failure["kind"]) == ("forward", "f6", "linear")
    assert failure["error"].startswith("RuntimeError: ")
    assert failure["first_difference"] == {
        "layer": "s2",
        "kind": "avgpool",
        "check": "shape",
        "cnncalc": [1, 6, 14, 14],
        "torch": [1, 6, 15, 15],
    }
    (mismatch,) = document["mismatches"]
    assert (mismatch["layer"], mismatch["cnncalc"], mismatch["torch"]) == (
        "s2",
        [1, 6, 14, 14],
        [1, 6, 15, 15],
    )


def _refuse_every_conv(monkeypatch):
    """A constructor PyTorch refuses, which the engine cannot foresee."""
    from cnncalc.layers import TorchCode

    conv = type(KINDS["conv"])
    original = conv.torch_code

    def refused(self, values, shape, output, details):
        code = original(self, values, shape, output, details)
        return TorchCode(code.module[:-1] + ", bogus=1)", code.call)

    monkeypatch.setattr(conv, "torch_code", refused)


def test_a_build_failure_is_a_verification_failure_with_the_layer_exit_1(monkeypatch):
    """Like a forward failure: exit 1, the layer path and what PyTorch was given, no
    traceback, and not the exit 2 of a bad spec."""
    _refuse_every_conv(monkeypatch)
    result = runner.invoke(app, ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers"])
    assert result.exit_code == 1, result.output
    assert "✗ PyTorch could not build layer 'c1' (conv): TypeError" in result.stdout
    assert "PyTorch was given: nn.Conv2d(1, 6, kernel_size=(5, 5)" in result.stdout
    assert "Traceback" not in result.output and result.stderr == ""


def test_a_build_failure_in_json_is_a_json_document_exit_1(monkeypatch):
    _refuse_every_conv(monkeypatch)
    arguments = ["verify", str(ROOT / "specs" / "lenet5.yaml"), "--no-peers", "-f", "json"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is False
    failure = document["failure"]
    assert (failure["stage"], failure["layer"], failure["kind"]) == ("build", "c1", "conv")
    assert failure["error"].startswith("TypeError: ")
    assert failure["code"].startswith("nn.Conv2d(1, 6,")


def test_a_forward_failure_in_json_is_a_json_document_exit_1(monkeypatch):
    from cnncalc.layers import TorchCode

    relu = KINDS["relu"]
    monkeypatch.setattr(
        type(relu), "torch_code", lambda self, *args: TorchCode(None, "{x}.view(-1, 7, 7)")
    )
    arguments = ["verify", str(ROOT / "specs" / "mnist_cnn.yaml"), "--no-peers", "-f", "json"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1, result.output
    failure = json.loads(result.stdout)["failure"]
    assert (failure["stage"], failure["layer"], failure["first_difference"]) == (
        "forward",
        "relu1",
        None,
    )


def test_a_builder_that_raises_is_reported_with_its_layer(monkeypatch):
    """A bug in a layer kind's torch builder is a build failure of that layer."""

    def broken(self, *args):
        raise KeyError("padding")

    monkeypatch.setattr(type(KINDS["maxpool"]), "torch_code", broken)
    result = verify(ROOT / "specs" / "mnist_cnn.yaml", device="meta", peers=())
    assert (result.failure.stage, result.failure.path) == ("build", "max_pooling2d")
    assert result.failure.error == "KeyError: 'padding'"


def test_ceil_mode_pool_padded_past_half_its_kernel_is_refused():
    """ATen's ceil_mode drops a last window that starts in the padding; padding a pool past
    half its kernel needs F.pad, which would turn that padding into input. So it is an error."""
    with pytest.raises(cnncalc.SpecError, match="more than half the kernel"):
        cnncalc.analyse(
            cnncalc.parse_spec(
                "input: [1, 6, 6]\n"
                "layers: [maxpool: {kernel: 3, stride: 2, padding: full, ceil_mode: true}]\n"
            )
        )


# ------------------------------------------------------------------ names and devices

MODULE_CLASHES = ["half", "training", "eval", "recorder", "analysis", "_modules", "zero_grad"]
MODULE_CLASHES += ["dump_patches", "T_destination", "__init__", "_at", "keys", "forward"]


@pytest.mark.parametrize("name", MODULE_CLASHES)
def test_a_layer_name_that_clashes_with_the_module_is_refused_where_it_is_written(name):
    text = (
        f"name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {{filters: 4, kernel: 3, name: {name}}}\n"
    )
    with pytest.raises(cnncalc.SpecError) as caught:
        cnncalc.parse_spec(text, "clash.yaml")
    error = caught.value
    assert (error.loc.line, error.key, error.layer) == (4, "name", name)
    assert f"'{name.strip('_')}_1'" in error.render()
    assert "clash.yaml:4:" in error.render()


@pytest.mark.parametrize("name", ["half", "_private"])
def test_a_block_or_branch_name_that_clashes_is_refused(name):
    block = f"input: [3, 8, 8]\nblocks:\n  {name}: [relu]\nlayers: [{name}]\n"
    with pytest.raises(cnncalc.SpecError, match=f"block name '{name}'"):
        cnncalc.parse_spec(block)
    branch = f"input: [3, 8, 8]\nlayers:\n  - add: [{{name: {name}, layers: [relu]}}, [relu]]\n"
    with pytest.raises(cnncalc.SpecError, match=f"name '{name}'"):
        cnncalc.parse_spec(branch)


def test_the_refused_names_cover_every_public_module_attribute():
    from cnncalc.spec.parser import MODULE_ATTRIBUTES, reserved_name

    public = {name for name in dir(torch.nn.Module) if not name.startswith("_")}
    public |= {name for name in dir(torch.nn.ModuleDict) if not name.startswith("_")}
    assert public <= set(MODULE_ATTRIBUTES), public - set(MODULE_ATTRIBUTES)
    built = build(cnncalc.parse_spec("input: [3, 8, 8]\nlayers: [relu]\n"), device="meta")
    assert all(reserved_name(name) for name in vars(built))  # the builder's own attributes
    assert all(reserved_name(name) for name in vars(type(built)))


@pytest.mark.parametrize("spec_name", ["f", "F", "nn"])
def test_a_spec_named_like_an_import_exports_a_class_that_does_not_shadow_it(tmp_path, spec_name):
    spec = cnncalc.parse_spec(
        f"name: {spec_name}\ninput: [3, 8, 8]\nlayers:\n  - conv: {{filters: 4, kernel: 3}}\n"
        "  - maxpool: {kernel: 2}\n  - relu\n"
    )
    source = export_source(spec)
    assert "class F(" not in source and "class nn(" not in source
    path = tmp_path / "model.py"
    path.write_text(source, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location("exported_f", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    # F is imported only when the forward uses it; if it is there it is torch's functional
    assert getattr(module, "F", torch.nn.functional) is torch.nn.functional
    classes = [value for value in vars(module).values() if isinstance(value, type)]
    (exported,) = [cls for cls in classes if issubclass(cls, torch.nn.Module)]
    with torch.no_grad():
        assert exported().eval()(torch.randn(1, 3, 8, 8)).shape == (1, 4, 3, 3)


def test_the_exported_file_imports_functional_only_when_it_uses_it():
    plain = export_source(str(ROOT / "specs" / "lenet5.yaml"))
    assert "import torch.nn.functional as F" not in plain and "F." not in plain
    padded = export_source(
        cnncalc.parse_spec(
            "name: tf\ninput: [3, 8, 8]\nlayers:\n"
            "  - conv: {filters: 2, kernel: 3, stride: 2, padding: same_tf}\n"
        )
    )
    assert "import torch.nn.functional as F" in padded and "F.pad(" in padded


def test_verify_on_cuda_without_cuda_says_so_up_front(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spec = str(ROOT / "specs" / "lenet5.yaml")
    result = runner.invoke(app, ["verify", spec, "--device", "cuda", "--no-peers"])
    assert result.exit_code == 2, result.output
    assert "CUDA is not available" in result.output
    assert "Traceback" not in result.output and "layer" not in result.output
    with pytest.raises(cnncalc.CnncalcError, match="CUDA is not available"):
        build(spec, device="cuda:0")


def test_a_peer_tool_that_raises_is_reported_not_raised(monkeypatch):
    import fvcore.nn
    import torchinfo

    def boom(*args, **kwargs):
        raise RuntimeError("peer exploded\nsecond line")

    monkeypatch.setattr(fvcore.nn.FlopCountAnalysis, "total", boom)
    monkeypatch.setattr(torchinfo, "summary", boom)
    result = verify(ROOT / "specs" / "lenet5.yaml", device="cpu")
    assert dict(result.skipped) == {
        "fvcore": "fvcore failed: RuntimeError: peer exploded",
        "torchinfo": "torchinfo failed: RuntimeError: peer exploded",
    }
    assert result.ok  # the checks that ran still agree
    output = runner.invoke(app, ["verify", str(ROOT / "specs" / "lenet5.yaml"), "-d", "cpu"])
    assert "fvcore skipped: fvcore failed: RuntimeError" in output.output
    assert "Traceback" not in output.output


def test_peers_on_cuda_measure_the_gpus_free_memory(monkeypatch):
    from cnncalc.torch import verify as verify_module

    analysis = cnncalc.analyse_file(ROOT / "specs" / "lenet5.yaml")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1024, 2**40))
    assert not verify_module._fits_in_memory(analysis, 1, "cuda")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (2**40, 2**40))
    assert verify_module._fits_in_memory(analysis, 1, "cuda")
