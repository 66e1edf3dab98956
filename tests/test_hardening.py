"""Issue 14, hardening: no silent misreading, no traceback, no hang. Each test here failed on
the code before the fix it pins (the item number of the issue is in its name)."""

from __future__ import annotations

import importlib.util
import json
import time

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.engine.analyse import MAX_LAYERS, MAX_SYMBOLIC_LAYERS
from cnncalc.engine.conventions import get_convention
from cnncalc.engine.field_merge import candidates, largest
from cnncalc.engine.memory import memory_report
from cnncalc.engine.savings import _chunk_sizes
from cnncalc.errors import SpecError
from cnncalc.layers.global_pool import adaptive_window, window_lengths, window_total
from cnncalc.report.claim_fixes import Window, _kernels, _paddings, _strides, _with
from cnncalc.report.formats import render
from cnncalc.report.memory_report import memory_text
from cnncalc.report.text_report import report_text
from cnncalc.report.views import bytes_text
from cnncalc.report.worked import worked_report

from .conftest import ROOT, analyse_text, examples

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


# ------------------------------------------------------------ 8. symbolic blow-up


def test_08_residual_se_fields_stay_flat_and_exact():
    """RegNet-Y's residual + squeeze-and-excitation merges nested max() terms that doubled at
    every block (never finished); the merged field is now one flat max, and exact."""
    spec = cnncalc.load_spec(ROOT / "examples" / "regnet_y_400mf.yaml")
    symbolic = cnncalc.analyse(spec, [3, "H", "W"])
    numeric = {size: cnncalc.analyse(spec, [3, size, size + 1]) for size in (225,)}
    H, W = sympy.symbols("H W", integer=True, positive=True)
    for row in symbolic.rows:
        for size in row.receptive_field:
            for formula in size if isinstance(size, tuple) else (size,):
                nested = [m for m in getattr(formula, "atoms", lambda _: ())(sympy.Max)]
                assert all(not arg.has(sympy.Max) for m in nested for arg in m.args), row.path
    for size, analysis in numeric.items():
        for row, exact in zip(symbolic.rows, analysis.rows, strict=True):
            if row.kind not in ("add", "multiply", "linear"):
                continue  # the merges, and the head that sees them all
            got = tuple(
                tuple(int(sympy.sympify(v).subs({H: size, W: size + 1})) for v in axis)
                for axis in row.receptive_field
            )
            assert got == tuple(tuple(int(v) for v in axis) for axis in exact.receptive_field)


def test_08_largest_keeps_one_flat_max():
    H = cnncalc.arith.symbol("H")
    # 2·⌊H/2⌋ and 3·⌊H/3⌋: neither is the larger at every H (4 > 3 at H = 5, 2 < 3 at H = 3)
    first = cnncalc.arith.floor_div(H, 2) * 2
    second = cnncalc.arith.floor_div(H, 3) * 3
    nested = sympy.Max(first, second) + 5
    assert set(candidates(nested)) == {first + 5, second + 5}
    merged = largest([nested, first + 2])  # first + 2 ≤ first + 5: dropped
    assert isinstance(merged, sympy.Max) and set(merged.args) == {first + 5, second + 5}
    assert largest([3, 5, 4]) == 5


# ------------------------------------------------------------ 9. huge adaptive pools


def test_09_adaptive_pool_to_a_huge_output_is_closed_form():
    for size_in in range(1, 30):
        for size_out in range(1, 40):
            lengths = list(window_lengths(size_in, size_out))
            assert window_total(size_in, size_out) == sum(lengths)
            assert adaptive_window(size_in, size_out)[0] == max(lengths)
    n = 10**18
    analysis = analyse_text(
        f"name: a\ninput: [2, 8, 8]\nlayers:\n  - adaptive_avgpool: {{output: {n}}}\n"
    )
    (row,) = analysis.rows
    # L + n − gcd(n, L) window elements per axis: 8 + n − 8 (8 divides n)
    assert row.ops["pooling"] == 2 * n * n
    with pytest.raises(SpecError, match="at most 4,096 symbolic windows per axis"):
        analyse_text("name: a\ninput: [2, H, W]\nlayers:\n  - adaptive_avgpool: {output: 5000}\n")


# ------------------------------------------------------------ 10. claim fixes in closed form


def _brute_force(window: Window, target: int) -> tuple[list[int], list[int], list[int]]:
    limit = window.size_in + window.padding
    strides = [s for s in range(1, limit + 2) if _with(window, stride=s).size_out() == target]
    paddings = [
        p
        for p in range(window.kernel_effective)
        if 2 * p != window.padding and _with(window, padding=2 * p).size_out() == target
    ]
    kernels = [
        k
        for k in range(1, limit + 1)
        if window.dilation == 1 and _with(window, kernel=k).size_out() == target
    ]
    return strides, paddings, kernels


@settings(max_examples=examples(300), deadline=None)
@given(
    size_in=st.integers(1, 40),
    kernel=st.integers(1, 9),
    dilation=st.integers(1, 2),
    stride=st.integers(1, 5),
    padding=st.integers(0, 3),
    ceil_mode=st.booleans(),
    target=st.integers(0, 45),
)
def test_10_closed_form_fixes_agree_with_the_search(
    size_in, kernel, dilation, stride, padding, ceil_mode, target
):
    window = Window(size_in, kernel, dilation, stride, 2 * padding, True, ceil_mode)
    strides = list(_strides(window, target))
    paddings = [p for p in _paddings(window, target) if 2 * p != window.padding]
    kernels = list(_kernels(window, target)) if dilation == 1 else []
    assert (strides, paddings, kernels) == _brute_force(window, target)


def test_10_a_wrong_claim_at_ten_million_pixels_is_fixed_at_once(tmp_path):
    spec = tmp_path / "claim.yaml"
    spec.write_text(
        "name: c\ninput: [1, 10000000, 8]\nlayers:\n"
        "  - conv: {filters: 1, kernel: 3, expect: {output: [1, 5, 6]}}\n"
    )
    result = invoke("check", str(spec))
    assert result.exit_code == 1
    assert (
        "→ H: 5 holds with stride 2000000 to 2499999: (10000000 − 3 + 2·0)/2000000 + 1 = "
        "5.9999 → 5, or F = 9999996"
    ) in result.output


# ------------------------------------------------------------ 11. layer budgets


def test_11_the_layer_budget_is_named_in_the_error():
    deep = "name: d\ninput: [1, 8, 8]\nlayers:\n  - repeat: {count}\n    layers: [relu]\n"
    with pytest.raises(SpecError) as raised:
        analyse_text(deep.format(count=MAX_LAYERS + 1))
    assert raised.value.message.endswith("creates 100,001 layers; cnncalc analyses at most 100,000")
    with pytest.raises(SpecError) as raised:
        analyse_text(deep.format(count=MAX_SYMBOLIC_LAYERS + 1), [1, "H", "W"])
    assert raised.value.message.endswith(
        "at most 2,000 with a symbolic input (100,000 with numbers such as --input 3x224x224)"
    )


# ------------------------------------------------------------ 12–20. confusing, not wrong


def test_12_slow_torch_commands_show_a_spinner_on_a_terminal_only(monkeypatch):
    from rich.status import Status

    from cnncalc.cli import run

    monkeypatch.setattr(run.sys.stderr, "isatty", lambda: True, raising=False)
    assert isinstance(run.progress("verifying"), Status)
    monkeypatch.setattr(run.sys.stderr, "isatty", lambda: False, raising=False)
    assert not isinstance(run.progress("verifying"), Status)


def test_13_help_shows_flags_without_a_bool_type():
    for command in ([], ["report"], ["verify"], ["conv"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0
        assert "<bool>" not in result.output
    assert "<int>" in invoke("conv", "--help").output  # options that take a value keep it


def test_14_a_keras_style_activation_says_activations_are_layers():
    with pytest.raises(SpecError) as raised:
        analyse_text(
            "name: k\ninput: [3, 8, 8]\nlayers:\n"
            "  - conv: {filters: 4, kernel: 3, activation: sigmoid}\n"
        )
    assert raised.value.hint == (
        "activations are layers of their own: remove 'activation' and put '- sigmoid' on the "
        "line after this conv"
    )


def test_15_summary_markdown_escapes_the_spec_s_name_and_source():
    analysis = analyse_text(
        "name: '<script>x</script> *bold*'\nsource: 'a | b_c'\ninput: [3, 8, 8]\n"
        "layers:\n  - conv: {filters: 4, kernel: 3}\n"
    )
    text = render(analysis, "summary", "md", get_convention("cnncalc"))
    assert text.startswith("## \\<script\\>x\\</script\\> \\*bold\\*\n\nSource: a \\| b\\_c\n")
    assert "<script>" not in text


@pytest.mark.parametrize(
    "claimed, ok",
    [
        ("102M", True),
        ("103M", True),
        ("101M", False),
        ("104M", False),
        ("102.8M", True),
        ("102.7M", True),
        ("102.6M", False),
        ("102764K", True),
        ("0.1G", True),
        ("0.2G", False),
    ],
)
def test_16_a_claim_with_a_unit_is_judged_at_its_written_precision(claimed, ok):
    # 25,088·4,096 + 4,096 = 102,764,544: VGG-16's FC1 — "102M" cut off, "103M" rounded
    analysis = analyse_text(
        "name: fc\ninput: [25088]\nlayers:\n"
        f"  - linear: {{features: 4096, expect: {{params: {claimed}}}}}\n"
    )
    (claim,) = analysis.claims
    assert claim.ok is ok


def test_17_a_table_on_a_terminal_fits_its_width_and_keeps_it_when_piped():
    spec = cnncalc.load_spec(ROOT / "specs" / "resnet18.yaml")
    analysis = cnncalc.analyse(spec, [3, "H", "W"])
    full = render(analysis, "summary", "table", get_convention("cnncalc"))
    fitted = render(analysis, "summary", "table", get_convention("cnncalc"), width=100)
    table = lambda text: text.split("\ninput ")[0].splitlines()  # noqa: E731
    assert max(map(len, table(full))) > 100
    assert max(map(len, table(fitted))) <= 100
    assert "…" in fitted and "…" not in full


def test_18_savings_that_cost_more_are_not_called_savings():
    result = invoke("savings", str(ROOT / "specs" / "vgg11.yaml"))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1] == "1 saving, 2 designs that cost more"
    assert "costs 1.08× more params" in result.output and "fewer params" in result.output


def test_19_a_ceil_mode_pool_larger_than_its_input_runs_as_in_pytorch():
    torch = pytest.importorskip("torch")
    for kind, module in (("maxpool", torch.nn.MaxPool2d), ("avgpool", torch.nn.AvgPool2d)):
        for kernel, stride, size in ((3, 2, 2), (3, 3, 2), (4, 3, 3), (3, 2, 1)):
            text = (
                f"name: p\ninput: [1, {size}, {size}]\nlayers:\n"
                f"  - {kind}: {{kernel: {kernel}, stride: {stride}, ceil_mode: true}}\n"
            )
            try:
                expected = module(kernel, stride, ceil_mode=True)(torch.zeros(1, 1, size, size))
            except RuntimeError:
                with pytest.raises(SpecError, match="larger than the padded input"):
                    analyse_text(text)
                continue
            assert analyse_text(text).rows[0].output_shape == tuple(expected.shape[1:])


def test_20_regnet_s_shortcut_auto_builds_torchvision_s_projection():
    text = (ROOT / "examples" / "regnet_y_400mf.yaml").read_text(encoding="utf-8")
    written = cnncalc.analyse(cnncalc.parse_spec(text, "regnet.yaml"))
    proj = (
        "      shortcut:\n"
        '        - conv: {filters: width, kernel: 1, stride: stride, name: "0"}\n'
        '        - batchnorm: {name: "1"}\n'
    )
    assert proj in text
    auto = cnncalc.analyse(
        cnncalc.parse_spec(text.replace(proj, "      shortcut: auto\n"), "regnet.yaml")
    )
    assert auto.totals.params == written.totals.params == 4_344_144
    assert auto.totals.macs == written.totals.macs
    assert [row.path for row in auto.rows] == [row.path for row in written.rows]
    assert "currently" not in text.split("yblock_down:")[0][-600:]


def test_fuzz_a_savings_ratio_past_float_range_renders_in_every_format():
    spec = ROOT / "tests" / "fuzz" / "regressions" / "savings_ratio_past_float_range.yaml"
    for fmt in ("table", "json", "md"):
        result = invoke("savings", str(spec), "-f", fmt)
        assert result.exit_code == 0, (fmt, result.output)
    document = json.loads(invoke("savings", str(spec), "-f", "json").output)
    huge = [s["ratio"] for s in document["savings"] if s["ratio"]["decimal"] is None]
    assert huge and all("/" in ratio["fraction"] for ratio in huge)


def _transposed_window_by_outputs(kernel, stride, dilation, padding):
    """The receptive-field step of a transposed conv by visiting each of the s outputs of
    one period: the definition, O(s), which the closed form replaced."""
    spans = []
    for output in range(stride):
        inputs = [
            (output + padding - tap * dilation) // stride
            for tap in range(kernel)
            if (output + padding - tap * dilation) % stride == 0
        ]
        if inputs:
            spans.append((output, max(inputs) - min(inputs), min(inputs)))
    span = max(item[1] for item in spans)
    first = next(
        (item[2] for item in spans if item[0] == 0),
        -(((kernel - 1) * dilation - padding) // stride),
    )
    return span + 1, -first


@settings(max_examples=examples(300), deadline=None)
@given(
    kernel=st.integers(1, 12),
    stride=st.integers(1, 16),
    dilation=st.integers(1, 5),
    padding=st.integers(0, 14),
)
def test_transposed_window_closed_form_agrees_with_every_output(kernel, stride, dilation, padding):
    from cnncalc.layers.conv_transpose import transposed_window

    size, _, start = transposed_window(kernel, stride, dilation, padding)
    assert (size, start) == _transposed_window_by_outputs(kernel, stride, dilation, padding)


def test_a_transposed_conv_of_stride_ten_million_answers_at_once():
    """The fuzzer (seed 5, case 393): the receptive field of a transposed conv looped over
    its stride's outputs, ten seconds at s = 10⁷."""
    spec = ROOT / "tests" / "fuzz" / "regressions" / "conv_transpose_stride_ten_million.yaml"
    started = time.process_time()
    result = CliRunner().invoke(app, ["shape", str(spec)])
    assert result.exit_code == 0, result.output
    assert time.process_time() - started < 5  # was 10 s


def test_an_uncovered_row_of_a_symbolic_size_shows_the_formula():
    """make fuzz (seed 2026, case 2191): the division of a formula has no decimal to show."""
    spec = ROOT / "tests" / "fuzz" / "regressions" / "uncovered_row_of_a_symbolic_size.yaml"
    analysis = cnncalc.analyse(cnncalc.load_spec(spec), [1, "H", "W"])
    (warning,) = [item.message for item in analysis.warnings if item.path == "pool1"]
    assert "(2·H − 1)/2 + 1 = H + 1/2 → H: the last 1 row" in warning


def test_a_worked_report_of_more_than_10000_layers_is_refused_with_the_limit():
    """make fuzz (seed 2026, case 4231): 27,157 layers took 15 s as HTML."""
    spec = ROOT / "tests" / "fuzz" / "regressions" / "worked_report_of_12000_layers.yaml"
    result = CliRunner().invoke(app, ["report", str(spec), "-f", "html"])
    assert result.exit_code == 2
    assert "expands to 12,000 layers; a worked report works out at most 10,000" in result.output
    assert "Traceback" not in result.output


def test_a_symbolic_analysis_past_its_cpu_budget_stops_with_a_message(monkeypatch):
    """make fuzz (seed 7, case 3176): an EfficientNet with a 2×2 stem took minutes in H, W."""
    import sys

    monkeypatch.setattr(sys.modules["cnncalc.engine.analyse"], "SYMBOLIC_SECONDS", 0.0)
    with pytest.raises(SpecError) as caught:
        cnncalc.analyse(cnncalc.load_spec(ROOT / "specs" / "lenet5.yaml"), [1, "H", "W"])
    assert "passed its budget of 0 CPU-seconds" in caught.value.message
    assert "--input 3x224x224" in (caught.value.hint or "")
    assert cnncalc.analyse(cnncalc.load_spec(ROOT / "specs" / "lenet5.yaml")).totals.params
