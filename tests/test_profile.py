"""cnncalc profile: per-layer attribution, the roof, the renderers, the plots, bad input.

Measured times vary from run to run (and this machine is shared), so the tests pin what the
measurement's structure guarantees — every spec layer has a row, each op is attributed to
the layer that ran it, the layers sit inside the forward — and compare times only with a
stated tolerance. The tight overhead figure is measured in benchmarks/profile_overhead.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.profile import ProfileError
from cnncalc.profile.peaks import lookup, math_mode
from cnncalc.profile.render import SCHEMA, profile_document, to_csv, to_json
from cnncalc.profile.result import LayerProfile

from .conftest import ROOT

torch = pytest.importorskip("torch")

TINY = """\
name: Tiny branches
input: [8, 16, 16]
layers:
  - conv: {filters: 16, kernel: 3, padding: 1, name: stem}
  - residual:
      body:
        - conv: {filters: 16, kernel: 3, padding: 1, name: conv1}
        - relu
        - conv: {filters: 16, kernel: 3, padding: 1, name: conv2}
      shortcut: auto
    name: block
  - concat:
      - [conv: {filters: 8, kernel: 1, name: a}]
      - [conv: {filters: 8, kernel: 3, padding: 1, name: b}]
      - [maxpool: {kernel: 3, stride: 1, padding: 1, name: pool}]
    name: mix
  - global_avgpool
  - flatten
  - linear: 10
"""

QUICK = {"repeats": 3, "warmup": 1, "layer_repeats": 3, "threads": 1}
GIVEN_ROOF = {"peak_tflops": 0.1, "peak_gbs": 10.0}
"""A given roof skips the calibration (a GEMM and a 256 MiB copy): the tests stay fast."""

LENET = str(ROOT / "specs" / "lenet5.yaml")
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_profile(tiny: Path, tmp_path_factory: pytest.TempPathFactory):
    trace = tmp_path_factory.mktemp("trace") / "tiny.json"
    result = cnncalc.profile(tiny, batch=[2, 8], trace=trace, **QUICK, **GIVEN_ROOF)
    return result, trace


@pytest.fixture(scope="module")
def resnet_training():
    """ResNet-18 (residuals, projection shortcuts), one training step per repeat."""
    return cnncalc.profile(
        ROOT / "specs" / "resnet18.yaml", input_shape=[3, 32, 32], batch=2, train=True,
        optimizer="sgd", **QUICK, **GIVEN_ROOF,
    )  # fmt: skip


@pytest.fixture(scope="module")
def googlenet():
    """GoogLeNet (four-branch inception concats)."""
    return cnncalc.profile(
        ROOT / "specs" / "googlenet_torchvision.yaml", input_shape=[3, 32, 32], batch=1,
        repeats=1, warmup=1, layer_repeats=1, threads=1, **GIVEN_ROOF,
    )  # fmt: skip


# ------------------------------------------------------------------------- attribution


@pytest.mark.parametrize("which", ["tiny", "resnet", "googlenet"])
def test_every_spec_layer_gets_a_row_with_its_own_ops(
    which, tiny_profile, resnet_training, googlenet
):
    """Each layer's region holds exactly the ops its statement runs: one conv, one add (the
    residual's merge, not the conv before it), one cat per inception concat..."""
    result = {"tiny": tiny_profile[0], "resnet": resnet_training, "googlenet": googlenet}[which]
    spec = result.specs[0]
    analysis = cnncalc.analyse_file(spec.file, list(spec.input_shape))
    assert [layer.path for layer in spec.layers] == [row.path for row in analysis.layers]
    for layer in spec.layers:
        assert layer.forward_s > 0, layer.path
        expected = 1
        if layer.kind == "batchnorm":  # training: the batch-count update, then batch_norm
            expected = 2 if result.settings.train else 1
        assert layer.ops == expected, (layer.path, layer.kind, layer.ops)


def test_merges_are_rows_of_their_own(tiny_profile, googlenet, resnet_training):
    tiny = {layer.path: layer for layer in tiny_profile[0].specs[0].layers}
    assert tiny["block.add"].kind == "add" and tiny["mix.concat"].kind == "concat"
    assert {"mix.branch1.a", "mix.branch2.b", "mix.branch3.pool"} <= set(tiny)
    kinds = [layer.kind for layer in googlenet.specs[0].layers]
    assert kinds.count("concat") == 9  # inception 3a, 3b, 4a-4e, 5a, 5b
    adds = [layer for layer in resnet_training.specs[0].layers if layer.kind == "add"]
    assert len(adds) == 8 and all(layer.forward_s > 0 for layer in adds)


def test_bytes_moved_are_the_exact_tensors(tiny_profile):
    """float32, batch 8 (the profiled batch): hand-worked."""
    layers = {layer.path: layer for layer in tiny_profile[0].specs[0].layers}
    stem = layers["stem"]  # 8→16 channels, 3×3, 16×16: weights 16·8·9 + 16 = 1,168
    assert (stem.weight_bytes, stem.input_bytes, stem.output_bytes) == (
        1168 * 4, 8 * 8 * 16 * 16 * 4, 8 * 16 * 16 * 16 * 4,
    )  # fmt: skip
    assert stem.macs == 8 * 294_912
    assert stem.flops == 2 * stem.macs + 8 * 16 * 16 * 16  # + one bias add per output
    add = layers["block.add"]  # reads two 16×16×16 tensors, writes one
    assert (add.input_bytes, add.output_bytes) == (2 * 8 * 4096 * 4, 8 * 4096 * 4)
    concat = layers["mix.concat"]  # reads 8 + 8 + 16 channels, writes 32
    assert concat.input_bytes == concat.output_bytes == 8 * 32 * 256 * 4


def test_layers_sum_to_the_forward_within_tolerance(tiny_profile):
    """The layers' ranges lie inside the profiled forward (the rest is the Python between
    statements), and their sum lies between half the fastest and 2.5× the slowest unprofiled
    end-to-end sample: a loose bound, for a tiny network on a shared 2-core machine;
    benchmarks/profile_overhead.py measures the tight one (within 5% on ResNet-50)."""
    result, _ = tiny_profile
    spec = result.specs[0]
    assert 0 < spec.layer_forward_s <= spec.profiled_forward_s
    assert spec.unattributed_s == pytest.approx(spec.profiled_forward_s - spec.layer_forward_s)
    end_to_end = spec.timing(result.settings.layer_batch)
    # the tiny network's forward takes about 2 ms, where the profiler's own cost per region
    # (tens of µs per layer) and a shared machine's noise weigh most: hence the wide bound
    assert 0.5 * min(end_to_end.samples) <= spec.layer_forward_s <= 2.5 * max(end_to_end.samples)
    assert sum(spec.time_share(layer) for layer in spec.layers) == pytest.approx(1.0)
    assert sum(spec.mac_share(layer) for layer in spec.layers) == pytest.approx(1.0)


def test_training_attributes_the_backward_to_the_layers(resnet_training):
    spec = resnet_training.specs[0]
    layers = {layer.path: layer for layer in spec.layers}
    for path in ("conv1", "layer1.0.conv1", "layer2.0.downsample.0", "fc"):
        assert layers[path].backward_s and layers[path].backward_s > 0, path
        assert layers[path].backward_ratio is not None
    assert layers["flatten1"].backward_s is not None  # a view: a row, little or no time
    assert spec.profiled_backward_s is not None
    assert 0 < (spec.layer_backward_s or 0) <= spec.profiled_backward_s
    assert resnet_training.specs[0].memory[0].estimate_parts.keys() >= {
        "gradients", "optimizer_state",
    }  # fmt: skip


def test_the_chrome_trace_names_the_spec_layers(tiny_profile):
    _, trace = tiny_profile
    names = {event.get("name") for event in json.loads(trace.read_text())["traceEvents"]}
    assert {"stem", "block.conv1", "block.add", "mix.concat", "fc1"} <= names


def test_regions_are_off_by_default():
    plain = cnncalc.build(LENET)
    regioned = cnncalc.build(LENET, regions=True)
    assert "_region" not in plain.forward_source
    assert regioned.forward_source.count("with _region(") == len(plain.analysis.layers)
    x = torch.randn(2, 1, 32, 32)
    regioned.load_state_dict(plain.state_dict())
    assert torch.equal(plain(x), regioned(x))


# ------------------------------------------------------------------------- the roof


@pytest.mark.parametrize(
    "name, entry",
    [
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM5"),
        ("NVIDIA H100 PCIe", "NVIDIA H100 PCIe"),
        ("NVIDIA H100 NVL", "NVIDIA H100 NVL"),
        ("NVIDIA H200", "NVIDIA H200 SXM"),
        ("NVIDIA A100-SXM4-40GB", "NVIDIA A100 40GB"),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB SXM4"),
        ("NVIDIA A100 80GB PCIe", "NVIDIA A100 80GB PCIe"),
        ("NVIDIA L4", "NVIDIA L4"),
        ("NVIDIA L40S", "NVIDIA L40S"),
        ("Tesla T4", "NVIDIA T4"),
        ("NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 3090"),
        ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090"),
    ],
)
def test_the_peak_table_is_keyed_on_the_device_name(name, entry):
    peaks = lookup(name)
    assert peaks is not None and peaks.name == entry and peaks.source
    assert peaks.fp32 < peaks.flops("fp16")  # tensor cores
    assert lookup("Some Future GPU") is None


def test_dense_peaks_from_the_datasheets():
    h100 = lookup("NVIDIA H100 80GB HBM3")
    assert h100 is not None
    assert h100.flops("bf16") == 989.4e12  # 1,979 TFLOPS with sparsity, halved
    assert h100.flops("tf32") == 494.7e12 and h100.bandwidth == 3.35e12
    t4 = lookup("Tesla T4")
    assert t4 is not None and t4.flops("bf16") == t4.fp32  # no bf16 units: FP32 rate


@pytest.mark.parametrize(
    "dtype, kind, macs, cudnn_tf32, matmul_tf32, cuda, mode",
    [
        ("float32", "conv", True, True, False, True, "tf32"),  # PyTorch's default for convs
        ("float32", "linear", True, True, False, True, "fp32"),  # ...but not for matmuls
        ("float32", "linear", True, True, True, True, "tf32"),
        ("float32", "conv", True, False, False, True, "fp32"),
        ("bfloat16", "conv", True, False, False, True, "bf16"),
        ("float16", "linear", True, False, False, True, "fp16"),
        ("float16", "relu", False, True, True, True, "fp32"),  # no MACs: no tensor cores
        ("float32", "conv", True, True, True, False, "fp32"),  # a CPU has no TF32
    ],
)
def test_the_right_peak_for_what_ran(dtype, kind, macs, cudnn_tf32, matmul_tf32, cuda, mode):
    assert math_mode(dtype, kind, macs, cudnn_tf32, matmul_tf32, cuda) == mode


def _layer(forward_s: float, flops: int, bytes_: int, ops: int = 1) -> LayerProfile:
    return LayerProfile(
        path="x", kind="conv", macs=flops // 2, flops=flops, weight_bytes=bytes_,
        input_bytes=0, output_bytes=0, forward_s=forward_s, backward_s=None, ops=ops,
        math="fp32", peak_flops=1e12, bandwidth=1e11, overhead_s=1e-5,
    )  # fmt: skip


def test_verdicts_follow_the_largest_bound():
    """Peak 1 TFLOP/s, 100 GB/s (ridge 10 FLOP/B), 10 µs per op."""
    compute = _layer(2e-3, flops=10**9, bytes_=10**6)  # 1 ms of compute, 10 µs of memory
    assert compute.verdict == "compute-bound" and compute.peak_share == pytest.approx(0.5)
    assert compute.intensity == 1000 and not compute.above_roof
    memory = _layer(2e-3, flops=10**6, bytes_=10**8)  # 1 ms of memory traffic
    assert memory.verdict == "memory-bound"
    overhead = _layer(1e-4, flops=1000, bytes_=1000, ops=5)  # 50 µs of launches
    assert overhead.verdict == "overhead-bound"


def test_faster_than_the_roof_is_flagged_never_a_win():
    impossible = _layer(1e-4, flops=10**9, bytes_=10**6)  # 10 TFLOP/s on a 1 TFLOP/s roof
    assert impossible.above_roof and impossible.peak_share == pytest.approx(10)
    assert not _layer(1.0e-3, flops=10**9, bytes_=10**6).above_roof  # exactly on the roof


def test_given_peaks_replace_the_roof(tiny_profile):
    roof = tiny_profile[0].roof
    assert roof.flops == {"fp32": 0.1e12} and roof.bandwidth == 10e9
    assert not roof.calibrated and "0.1 TFLOP/s given" in roof.source
    assert roof.overhead_s > 0


def test_the_cpu_roof_is_calibrated_by_default(tiny):
    result = cnncalc.profile(tiny, batch=1, repeats=1, warmup=0, layer_repeats=1, threads=1)
    roof = result.roof
    assert roof.calibrated and roof.source.startswith("calibrated")
    assert roof.flops["fp32"] > 1e8 and roof.bandwidth > 1e8


# ------------------------------------------------------------------------- output


def test_json_is_the_documented_contract(tiny_profile):
    result, _ = tiny_profile
    document = json.loads(to_json(result))
    assert document == profile_document(result) and to_json(result) == to_json(result)
    assert document["schema"] == SCHEMA == "cnncalc/profile@1"
    documented = _documented_keys()
    spec = document["specs"][0]
    sections = {
        "Top level": document, "`environment`": document["environment"],
        "`settings`": document["settings"], "`roof`": document["roof"], "`specs[]`": spec,
        "`timings[]`": spec["timings"][0], "`memory[]`": spec["memory"][0],
        "`layers[]`": spec["layers"][0],
    }  # fmt: skip
    for title, mapping in sections.items():
        assert set(mapping) == documented[title], title
    assert spec["layers"][0]["bytes"].keys() == {"weights", "inputs", "outputs", "total"}
    assert spec["layers"][0]["bounds_s"].keys() == {"compute", "memory", "overhead"}
    assert [timing["batch"] for timing in spec["timings"]] == [2, 8]


def _documented_keys() -> dict[str, set[str]]:
    """Each section's keys from docs/profile-json.md (``a``, ``b`` cells list several)."""
    text = (ROOT / "docs" / "profile-json.md").read_text(encoding="utf-8")
    keys: dict[str, set[str]] = {}
    for title, body in re.findall(r"^#+ (.+?)\n(.*?)(?=^#|\Z)", text, flags=re.S | re.M):
        for cell in re.findall(r"^\| (`[^|]+`) \|", body, flags=re.M):
            keys.setdefault(title, set()).update(re.findall(r"`([a-z_0-9]+)`", cell))
    return keys


def test_csv_has_a_row_per_layer(tiny_profile):
    result, _ = tiny_profile
    lines = to_csv(result).splitlines()
    assert lines[0].startswith("spec,layer,kind,macs,flops,bytes")
    assert len(lines) == 1 + len(result.specs[0].layers)
    assert lines[1].startswith("Tiny branches,stem,conv,")


def test_plots_are_written(tiny_profile, tmp_path):
    from PIL import Image

    from cnncalc.profile.plots import write_plots

    paths = write_plots(tiny_profile[0], tmp_path / "tiny")
    assert [Path(path).name for path in paths] == [
        "tiny-batch.png", "tiny-shares.png", "tiny-roofline.png",
    ]  # fmt: skip
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 400 and image.height > 300
            assert sum(1 for count in image.convert("L").histogram() if count) > 20  # drawn


def test_two_specs_compared_interleaved(tiny, tmp_path):
    result = cnncalc.profile([LENET, tiny], batch=[1, 4], **QUICK, **GIVEN_ROOF)
    assert [spec.name for spec in result.specs] == ["LeNet-5", "Tiny branches"]
    ratios = result.ratios()
    assert set(ratios) == {1, 4} and all(ratio > 0 for ratio in ratios.values())
    for spec in result.specs:
        assert [timing.batch for timing in spec.timings] == [1, 4]
        assert all(len(timing.samples) == 3 for timing in spec.timings)


def test_the_command_prints_the_table(tiny, tmp_path):
    plots = tmp_path / "run"
    result = runner.invoke(
        app,
        ["profile", str(tiny), "--batch", "1,2", "--repeats", "2", "--layer-repeats", "2",
         "--threads", "1", "--peak-tflops", "0.1", "--peak-gbs", "10", "--plots", str(plots)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in ("End to end", "images/s", "per layer at batch 2", "block.add", "mix.concat",
                 "layers sum", "roof     fp32 100.0 GFLOP/s; memory 10.0 GB/s"):  # fmt: skip
        assert text in result.output
    assert (tmp_path / "run-roofline.png").stat().st_size > 0


def test_profile_imports_no_torch_until_it_measures():
    code = (
        "import sys, cnncalc, cnncalc.profile, cnncalc.profile.render, cnncalc.cli.profile; "
        "print('torch' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip() == "False", output.stderr


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--device", "tpu"], "unknown device 'tpu': use cpu, cuda or cuda:N"),
        (["--peak-tflops", "0"], "--peak-tflops 0 must be a positive number (TFLOP/s)"),
        (["--peak-gbs", "-1"], "--peak-gbs -1 must be a positive number (GB/s)"),
        (["--batch", "1,x"], "--batch '1,x' must be positive integers separated by commas"),
        (["--batch", "1000000000"], "batch 1000000000 does not fit in this machine's free memory: "
                                    "the largest batch that fits is"),
        (["--trace", "/no/such/folder/t.json"], "the folder '/no/such/folder' does not exist"),
        (["--plots", "/no/such/folder/p"], "the folder '/no/such/folder' does not exist"),
    ],
)  # fmt: skip
def test_bad_input_is_one_message_and_exit_2(arguments, message):
    result = runner.invoke(app, ["profile", LENET, "--threads", "1", *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the message on a machine without CUDA"
)
def test_cuda_without_cuda_is_refused():
    result = runner.invoke(app, ["profile", LENET, "--device", "cuda"])
    assert result.exit_code == 2 and "CUDA is not available" in result.output


def test_the_largest_batch_that_fits_is_reported(monkeypatch):
    """With 1 GiB free, LeNet-5 in float32 fits at most (free − weights) / per-image bytes."""
    from cnncalc.profile import api

    monkeypatch.setattr(api, "available_memory", lambda device: 2**30)
    with pytest.raises(ProfileError, match="largest batch that fits is") as caught:
        cnncalc.profile(LENET, batch=10**8, **QUICK, **GIVEN_ROOF)
    largest = int(re.search(r"fits is (\d+)", str(caught.value))[1])  # type: ignore[index]
    analysis = cnncalc.analyse_file(LENET)
    parts = api.estimate_parts(analysis, 1, "float32", False, "adam")
    widest = max(row.activation_elements for row in analysis.layers)
    per_image = parts["inputs"] + 2 * widest * 4
    assert largest == (2**30 - parts["parameters"] - parts["buffers"]) // per_image
    result = cnncalc.profile(LENET, batch=largest // 1000, repeats=1, warmup=0, layer_repeats=1,
                             threads=1, **GIVEN_ROOF)  # fmt: skip
    assert result.specs[0].timings[0].batch == largest // 1000


# ------------------------------------------------------------------------- GPU


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_profile_with_kernels_per_layer(tiny, tmp_path):
    """Kernel times per layer, allocator peaks, the table's (or calibrated) roof, bf16,
    channels_last, a training step; and a batch too big for the GPU caught by trial."""
    result = cnncalc.profile(
        ROOT / "specs" / "resnet18.yaml", batch=[1, 8], device="cuda", dtype="bf16",
        train=True, channels_last=True, cudnn_benchmark_on=True, trace=tmp_path / "t.json",
        repeats=5, warmup=3, layer_repeats=3,
    )  # fmt: skip
    assert result.environment.device.startswith("cuda") and result.environment.cudnn_benchmark
    spec = result.specs[0]
    assert all(layer.forward_s > 0 and layer.ops >= 1 for layer in spec.layers if layer.macs)
    assert {layer.math for layer in spec.layers if layer.macs} == {"bf16"}
    memory = spec.memory[-1]
    assert memory.measure == "cuda" and memory.peak_allocated
    assert memory.peak_reserved and memory.peak_reserved >= memory.peak_allocated
    assert memory.peak_allocated > memory.estimate_parts["parameters"]
    assert 0 < spec.layer_forward_s <= spec.profiled_forward_s * 1.001
    with pytest.raises(ProfileError, match="largest batch that fits is"):
        cnncalc.profile(tiny, batch=2**26, device="cuda", repeats=1, warmup=0, layer_repeats=1)


def test_an_out_of_memory_is_caught_and_the_largest_batch_found_by_trial(tiny, monkeypatch):
    """A step that runs out of memory above batch 5 (as CUDA would): refused with 5."""
    from cnncalc.profile import api

    original = api._Subject.step

    def step(self, batch, regions=False):
        call = original(self, batch, regions)

        def guarded_call():
            if batch > 5:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return call()

        return guarded_call

    monkeypatch.setattr(api._Subject, "step", step)
    with pytest.raises(ProfileError) as caught:
        cnncalc.profile(tiny, batch=[2, 40], **QUICK, **GIVEN_ROOF)
    assert "batch 40 does not fit" in str(caught.value)
    assert "the largest batch that fits is 5 (found by trial)" in str(caught.value)
