"""Bad input: one clear message on stderr, exit status 2, never a traceback.

Every ``tests/errors/<case>.yaml`` is a small bad spec; ``tests/errors/<case>.txt`` is the
exact text cnncalc prints for it (a golden file). A few cases are made by the test (a
missing file, a directory, a binary file, ...) or are command-line cases (a bad ``--input``);
their goldens sit beside the others. Each case runs

* through the typer app (``CliRunner``), cwd = the repository root, with the relative path
  ``tests/errors/<case>.yaml``, so the goldens hold relative paths;
* through the library (``load_spec`` + ``analyse``), which must raise ``SpecError`` whose
  ``render()`` is the same text, with ``loc``, ``layer`` and ``key`` as listed in ``CASES``;
* through the console script (``python -m cnncalc``, the fast path), all at once.

Regenerate the goldens after a deliberate change of wording (and read the diff):

    CNNCALC_UPDATE_GOLDENS=1 pytest tests/test_errors.py

Known problems of cnncalc are listed in ``CRASHES``, ``GAPS`` and ``SLOW`` below and run as
strict xfails: when one is fixed its test starts passing, pytest reports XPASS(strict), and
the entry should be removed (and its golden written with the command above).

Finally two hypothesis tests mutate valid specs (their parsed YAML, and their text) and check
that analysis either succeeds or raises ``SpecError``, never anything else.
"""

from __future__ import annotations

import concurrent.futures
import copy
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.errors import SOURCE_WIDTH, clip_source_line

from .conftest import examples

ROOT = Path(__file__).resolve().parent.parent
ERRORS = ROOT / "tests" / "errors"
VALID = ERRORS / "valid"
TINY = "tests/errors/valid/tiny.yaml"
FAMILY = "tests/errors/valid/family.yaml"
UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDENS") == "1"

ANY = object()
"""In ``CASES``: the error must name some layer path (which one is cnncalc's choice)."""

# ---------------------------------------------------------------------------------------------
# The cases: what each error must name. layer: the layer path in the error (None: no layer is
# involved, e.g. a YAML or top-level problem); key: the key it names; located: whether the
# message starts with file:line:column (false only for errors about the file as a whole and
# for bad command-line values).


@dataclass(frozen=True)
class Expect:
    layer: Any = None
    key: str | None = None
    located: bool = True


CASES: dict[str, Expect] = {
    # --- the file and its YAML
    "missing_file": Expect(located=False),
    "directory": Expect(located=False),
    "binary_file": Expect(located=False),
    "not_utf8": Expect(located=True),
    "empty": Expect(),
    "not_a_mapping": Expect(),
    "yaml_syntax": Expect(),
    "duplicate_yaml_keys": Expect(key="filters"),
    "recursive_alias": Expect(key="layers"),
    "deep_nesting": Expect(),
    "unknown_yaml_tag": Expect(key="filters"),
    "unsafe_yaml_tag": Expect(key="filters"),  # refused while reading YAML: no layer yet
    "bad_int_tag": Expect(key="filters"),
    "billion_laughs": Expect(key="sequence"),
    # --- the structure of the language
    "missing_layers": Expect(key="layers"),
    "unknown_top_key": Expect(key="layer"),
    "published_not_a_number": Expect(key="params"),
    "bad_input_dimension": Expect(key="input"),
    "input_wrong_length": Expect(key="input"),
    "unknown_kind": Expect(key="rleu"),
    "kind_as_key": Expect(key="kind"),
    "huge_kind_name": Expect(key="x" * 3000),
    "unknown_key": Expect(layer="conv1", key="kernal"),
    "defaults_unknown_kind": Expect(key="convv"),
    "layer_not_mapping": Expect(),
    "conv_shorthand": Expect(key="conv"),
    "fields_not_indented": Expect(key="filters"),
    "name_with_dot": Expect(key="name"),
    "duplicate_layer_names": Expect(layer="stem", key="name"),
    "dense_means_linear": Expect(layer="denseblock1", key="count"),
    "dense_count_zero": Expect(layer="denseblock1", key="count"),
    "dense_layer_shrinks": Expect(layer="dense_block1.denselayer1", key="layer"),
    "unknown_block_reference": Expect(key="block"),
    "unknown_block_argument": Expect(layer="unit1", key="strde"),
    "block_missing_argument": Expect(layer="unit1", key="filters"),
    "block_calls_itself": Expect(layer=ANY),
    "block_arg_unknown_name": Expect(layer="unit1", key="filters"),
    "repeat_billion": Expect(key="repeat"),
    "repeat_word": Expect(key="repeat"),
    "repeat_count_expression": Expect(layer=ANY, key="repeat"),
    "block_fanout_billion": Expect(),
    # --- field values
    "missing_required_field": Expect(layer="conv1", key="kernel"),
    "wrong_type_float": Expect(layer="conv1", key="filters"),
    "wrong_type_text": Expect(layer="conv1", key="filters"),
    "wrong_type_bool": Expect(layer="pool1", key="kernel"),
    "null_field_value": Expect(layer="conv1", key="padding"),
    "zero_filters": Expect(layer="conv1", key="filters"),
    "unknown_padding_word": Expect(layer="conv1", key="padding"),
    "dropout_probability": Expect(layer="dropout1", key="p"),
    "batchnorm_eps_zero": Expect(layer="bn1", key="eps"),
    "expression_unknown_name": Expect(layer="bottleneck1.conv1", key="filters"),
    "inexact_division": Expect(layer="reduce1.conv1", key="filters"),
    # --- impossible shapes
    "kernel_larger_than_input": Expect(layer="features.conv2", key="kernel"),
    "non_positive_output": Expect(layer="deconv1", key="padding"),
    "same_padding_stride2": Expect(layer="conv1", key="padding"),
    "groups_not_dividing": Expect(layer="conv1", key="groups"),
    "linear_without_flatten": Expect(layer="fc1"),
    "depthwise_on_flat": Expect(layer="dwconv1"),
    "flat_input_conv": Expect(layer="conv1"),
    "channel_split_sum": Expect(layer="split1", key="sections"),
    "concat_spatial_mismatch": Expect(layer="mixed.concat"),
    "add_shape_mismatch": Expect(layer="add1.add"),
    "multiply_broadcast": Expect(layer="multiply1.multiply"),
    "residual_identity_mismatch": Expect(layer="res1", key="shortcut"),
    "upsample_fractional_size": Expect(layer="up1", key="scale"),
    "upsample_scale_and_size": Expect(layer="up1"),
    "crop_larger_than_input": Expect(layer="crop1", key="size"),
    "pixel_shuffle_channels": Expect(layer="shuffle1", key="factor"),
    "declared_in_channels": Expect(layer="conv1", key="in_channels"),
    "declared_in_features": Expect(layer="fc1", key="in_features"),
    # --- the command line
    "cli_input_two_dims": Expect(located=False),
    "cli_input_zero": Expect(located=False),
    "cli_input_junk": Expect(located=False),
    "cli_input_empty": Expect(located=False),
    "cli_input_too_small": Expect(layer="conv1", key="kernel"),
    "cli_input_flat_symbol": Expect(located=False),
    "cli_input_commas": Expect(located=False),
}

CASES.update(
    {
        # --- graph references (from:, outputs:) and training-only heads
        "from_unknown_name": Expect(layer="concat1", key="from"),
        "from_later_layer": Expect(layer="add1", key="from"),
        "from_enclosing_group": Expect(layer="down1", key="from"),
        "outputs_unknown_name": Expect(key="outputs"),
        # --- spec arguments (args:, --set) and conditional items (if:)
        "if_not_boolean": Expect(key="if"),
        "args_default_unknown_name": Expect(key="stem"),
        "cli_set_unknown_argument": Expect(key="widht"),
        "cli_set_wrong_type": Expect(key="width"),
        "cli_set_width_zero": Expect(layer="conv2", key="filters"),
        "cli_set_not_name_value": Expect(located=False),
    }
)

CRASHES: dict[str, str] = {}
"""Cases where cnncalc crashes or exits 0: every test of the case is a strict xfail."""

GAPS: dict[str, str] = {}
"""Cases with a clean message that lacks a layer path or key: only the attribute test xfails."""

SLOW: dict[str, str] = {}
"""Cases that would hang in-process: they run only as a subprocess with a time limit."""

TIME_LIMIT_S = 8


# ---------------------------------------------------------------------------------------------
# How each case runs.


@dataclass(frozen=True)
class Run:
    """The command line (after ``cnncalc``), where it runs and what the library does."""

    argv: tuple[str, ...]
    spec: str
    input_shape: list[Any] | None = None
    setup: Callable[[Path], None] | None = None
    """For generated cases: makes the files in an empty directory, which becomes the cwd."""
    library: bool = True


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    def setup(directory: Path) -> None:
        (directory / name).write_bytes(data)

    return setup


def _mkdir(name: str) -> Callable[[Path], None]:
    def setup(directory: Path) -> None:
        (directory / name).mkdir()

    return setup


def _nothing(directory: Path) -> None:
    pass


GENERATED: dict[str, Run] = {
    "missing_file": Run(("summary", "no_such_spec.yaml"), "no_such_spec.yaml", setup=_nothing),
    "directory": Run(("summary", "specs"), "specs", setup=_mkdir("specs")),
    "binary_file": Run(
        ("summary", "model.yaml"),
        "model.yaml",
        setup=_write("model.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"),
    ),
    "not_utf8": Run(
        ("summary", "latin1.yaml"),
        "latin1.yaml",
        setup=_write(
            "latin1.yaml", "name: Réseau\ninput: [3, 8, 8]\nlayers: [relu]\n".encode("latin-1")
        ),
    ),
    "deep_nesting": Run(
        ("summary", "deep.yaml"),
        "deep.yaml",
        setup=_write(
            "deep.yaml",
            ("name: deep\ninput: [3, 8, 8]\nlayers: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        ),
    ),
}

CLI_CASES: dict[str, Run] = {
    "cli_input_two_dims": Run(("summary", TINY, "--input", "3x224"), TINY, library=False),
    "cli_input_zero": Run(("summary", TINY, "--input", "3x0x224"), TINY, library=False),
    "cli_input_junk": Run(("summary", TINY, "--input", "3x2.5xW"), TINY, library=False),
    "cli_input_empty": Run(("summary", TINY, "--input", ""), TINY, library=False),
    "cli_input_too_small": Run(("shape", TINY, "--input", "3x8x8"), TINY, input_shape=[3, 8, 8]),
    "cli_input_flat_symbol": Run(("summary", TINY, "--input", "abc"), TINY, library=False),
    "cli_input_commas": Run(("summary", TINY, "--input", "3,32,32"), TINY, library=False),
    "cli_set_unknown_argument": Run(
        ("summary", FAMILY, "--set", "widht=0.5"), FAMILY, library=False
    ),
    "cli_set_wrong_type": Run(("summary", FAMILY, "--set", "width=wide"), FAMILY, library=False),
    "cli_set_width_zero": Run(("params", FAMILY, "--set", "width=0.01"), FAMILY, library=False),
    "cli_set_not_name_value": Run(("summary", FAMILY, "--set", "width"), FAMILY, library=False),
}


def _file_cases() -> dict[str, Run]:
    return {
        path.stem: Run(("summary", f"tests/errors/{path.name}"), f"tests/errors/{path.name}")
        for path in sorted(ERRORS.glob("*.yaml"))
    }


RUNS: dict[str, Run] = {**_file_cases(), **GENERATED, **CLI_CASES}
IN_PROCESS = sorted(name for name in RUNS if name not in SLOW)


def _param(name: str, gaps: bool = False) -> Any:
    reason = CRASHES.get(name) or (GAPS.get(name) if gaps else None)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(name, id=name, marks=marks)


def _golden(name: str) -> Path:
    return ERRORS / f"{name}.txt"


def _enter(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    run = RUNS[name]
    if run.setup is not None:
        run.setup(tmp_path)
        monkeypatch.chdir(tmp_path)
    else:
        monkeypatch.chdir(ROOT)
    return run


def _stderr(result: Any) -> tuple[str, bool]:
    """The CLI's stderr, and whether it is apart from stdout (recent click) or mixed into
    ``output`` (older click, where ``result.stderr`` raises ValueError)."""
    try:
        text = result.stderr
    except ValueError:
        return result.output, False
    return (text, True) if text is not None else (result.output, False)


def _check_golden(name: str, text: str) -> None:
    golden = _golden(name)
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
        return
    if name in CRASHES and not golden.exists():
        return  # fixed at last: XPASS(strict) says so; remove it from CRASHES, write the golden
    assert golden.exists(), f"no golden {golden.name}: run CNNCALC_UPDATE_GOLDENS=1 pytest"
    assert text == golden.read_text(encoding="utf-8"), f"{name}: differs from the golden"


# ---------------------------------------------------------------------------------------------
# The bookkeeping: every case file is reviewed, every golden belongs to a case.


def test_every_case_has_expectations():
    only_runs, only_cases = sorted(set(RUNS) - set(CASES)), sorted(set(CASES) - set(RUNS))
    assert not only_runs and not only_cases, (
        f"tests/errors/*.yaml, GENERATED and CLI_CASES must match CASES: cases without "
        f"expectations: {only_runs}; expectations without a case: {only_cases}"
    )
    for table in (CRASHES, GAPS, SLOW):
        assert set(table) <= set(CASES)
    assert len(CASES) >= 30


def test_no_stale_goldens():
    stale = sorted(path.name for path in ERRORS.glob("*.txt") if path.stem not in CASES)
    assert not stale, f"goldens without a case: {stale}"


# ---------------------------------------------------------------------------------------------
# The CLI, through typer's runner.

runner = CliRunner()


@pytest.mark.parametrize("name", [_param(name) for name in IN_PROCESS])
def test_cli_prints_one_clear_message(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run = _enter(name, tmp_path, monkeypatch)
    result = runner.invoke(app, list(run.argv))
    stderr, separate = _stderr(result)
    assert "Traceback" not in result.output + stderr, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 2, f"exit status {result.exit_code}: {result.output}"
    if separate:
        assert result.stdout == "", "an error prints nothing on stdout"
    assert stderr.strip(), "the error message is empty"
    _check_golden(name, stderr)


# ---------------------------------------------------------------------------------------------
# The library: the same text, from a SpecError that knows where it is.


def _library_error(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> cnncalc.SpecError:
    run = _enter(name, tmp_path, monkeypatch)
    with pytest.raises(cnncalc.SpecError) as raised:
        cnncalc.analyse(cnncalc.load_spec(run.spec), run.input_shape)
    return raised.value


LIBRARY = [name for name in IN_PROCESS if RUNS[name].library]


@pytest.mark.parametrize("name", [_param(name) for name in LIBRARY])
def test_library_raises_spec_error(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    error = _library_error(name, tmp_path, monkeypatch)
    expect = CASES[name]
    rendered = error.render()
    assert "Traceback" not in rendered
    if expect.located:
        assert error.loc is not None, "the error has no position"
        assert error.loc.file == RUNS[name].spec
        assert error.loc.line >= 1 and error.loc.column >= 1
        assert rendered.startswith(f"{error.loc.file}:{error.loc.line}:{error.loc.column}: error: ")
    else:
        assert rendered.startswith("error: ")
    if _golden(name).exists() or not (UPDATE or name in CRASHES):
        assert _golden(name).exists(), f"no golden for {name}"
        assert rendered + "\n" == _golden(name).read_text(encoding="utf-8"), (
            "the library's message differs from what the CLI prints"
        )


@pytest.mark.parametrize("name", [_param(name, gaps=True) for name in LIBRARY])
def test_error_names_layer_and_key(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    error = _library_error(name, tmp_path, monkeypatch)
    expect = CASES[name]
    if expect.layer is ANY:
        assert error.layer, "the error names no layer path"
    else:
        assert error.layer == expect.layer
    assert error.key == expect.key


# ---------------------------------------------------------------------------------------------
# The goldens themselves, read as a user would.

HEAD = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+): error: (?P<message>.+)$")
CONTEXT = re.compile(r"  \[(?:layer '(?P<layer>[^']+)')?(?:, )?(?:key '(?P<key>[^']+)')?\]$")


def _goldens() -> list[Any]:
    return [
        pytest.param(name, id=name)
        for name in sorted(CASES)
        if name not in CRASHES and name not in SLOW
    ]


@pytest.mark.parametrize("name", _goldens())
def test_golden_points_at_the_spec(name: str):
    """file:line:column, the quoted source line, a caret inside it, and the layer path."""
    golden = _golden(name)
    if not golden.exists():
        pytest.skip("no golden yet")
    lines = golden.read_text(encoding="utf-8").splitlines()
    expect = CASES[name]
    assert "Traceback" not in "\n".join(lines)
    if not expect.located:
        assert lines[0].startswith("error: "), lines[0]
        return
    head = HEAD.match(lines[0])
    assert head, f"the first line does not start with file:line:column: {lines[0]!r}"
    run = RUNS[name]
    if run.setup is None:
        assert head["file"] == run.spec
        source = (ROOT / run.spec).read_text(encoding="utf-8").splitlines()
        line, column = int(head["line"]), int(head["column"])
        if source:
            assert line <= len(source)
            text = source[line - 1]
            assert column <= len(text) + 1
            shown, caret_column = clip_source_line(text, column)
            assert len(shown) <= SOURCE_WIDTH + 2, "a long line is cut around the caret"
            assert shown.strip("…") in text
            assert lines[1] == f"{line:>5} | {shown}", "the quoted line is not the line pointed at"
            caret = lines[2]
            assert caret.index("^") - len(f"{line:>5} | ") == caret_column - 1
            if column <= len(text):
                assert shown[caret_column - 1] == text[column - 1], "the caret moved off its char"
    if expect.layer is not None and name not in GAPS:
        layer = expect.layer if expect.layer is not ANY else ""
        assert f"[layer '{layer}" in lines[0], "the message names no layer path"


# ---------------------------------------------------------------------------------------------
# The console script (the fast path that bypasses typer), all cases at once.


def _console(name: str, directory: Path) -> tuple[str, subprocess.CompletedProcess[str]]:
    run = RUNS[name]
    cwd = ROOT
    if run.setup is not None:
        cwd = directory / name
        cwd.mkdir()
        run.setup(cwd)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "cnncalc", *run.argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return name, completed


def test_console_script_matches_goldens(tmp_path: Path):
    names = [name for name in IN_PROCESS if name not in CRASHES and _golden(name).exists()]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: _console(name, tmp_path), names))
    problems = []
    for name, completed in results:
        if "Traceback" in completed.stderr or completed.returncode != 2:
            problems.append(f"{name}: exit {completed.returncode}\n{completed.stderr}")
        elif completed.stdout:
            problems.append(f"{name}: printed on stdout: {completed.stdout[:200]}")
        elif completed.stderr != _golden(name).read_text(encoding="utf-8"):
            problems.append(f"{name}: differs from the golden:\n{completed.stderr}")
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=reason, strict=True))
        for name, reason in SLOW.items()
    ],
)
def test_huge_expansions_are_refused_quickly(name: str, tmp_path: Path):
    """A spec that expands to 10⁹ layers is an error within seconds, not a hang."""
    try:
        _, completed = _console_timed(name)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: no answer within {TIME_LIMIT_S} s")
    assert "Traceback" not in completed.stderr
    assert completed.returncode == 2
    _check_golden(name, completed.stderr)


def _console_timed(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    run = RUNS[name]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "cnncalc", *run.argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_S,
    )
    return name, completed


# ---------------------------------------------------------------------------------------------
# Not an error: 10¹² channels is an exact answer.


def test_huge_channel_count_is_exact():
    analysis = cnncalc.analyse_file(VALID / "huge_channels.yaml")
    filters = 10**12
    assert analysis.totals.params == filters * 3 * 3 * 3 + filters
    assert analysis.totals.macs == 8 * 8 * filters * 3 * 3 * 3
    assert analysis.rows[0].output_shape == (filters, 8, 8)
    result = runner.invoke(app, ["params", str(VALID / "huge_channels.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "28000000000000" in result.stdout


# ---------------------------------------------------------------------------------------------
# The library with a bad input shape (what --input is for the CLI): a SpecError about the input.

BAD_SHAPES = {
    "two_dims": ([3, 224], "reported as 'conv needs a C×H×W input, got a flat vector of 3'"),
    "zero": ([3, 0, 224], "reported as 'kernel 11 is larger than the padded input (H: 0 ...)'"),
    "negative": ([3, -5, 224], "reported as a kernel error with H = -5"),
    "float": ([3.5, 224, 224], "accepted: analyses 3.5 channels"),
    "bool": ([True, 224, 224], "accepted: True is taken as 1 channel"),
    "empty": ([], "IndexError traceback"),
    "text": (["3", "x", 2], "'3' and 'x' become symbols"),
}


@pytest.mark.parametrize(
    "shape",
    [pytest.param(shape, id=key) for key, (shape, _was) in BAD_SHAPES.items()],
)
def test_library_rejects_bad_input_shape(shape: list[Any]):
    spec = cnncalc.load_spec(ROOT / TINY)
    with pytest.raises(cnncalc.SpecError) as raised:
        cnncalc.analyse(spec, shape)
    assert raised.value.key == "input", raised.value.render()  # like a bad 'input:' in a spec


# ---------------------------------------------------------------------------------------------
# Random garbage never crashes: mutate valid specs, expect a result or a SpecError.

FUZZ_BASES = {
    name: yaml.safe_load((ROOT / "specs" / f"{name}.yaml").read_text(encoding="utf-8"))
    for name in ("alexnet", "resnet18", "googlenet", "densenet121", "mobilenet_v1")
    if (ROOT / "specs" / f"{name}.yaml").exists()
}
FUZZ_TEXTS = {
    name: (ROOT / "specs" / f"{name}.yaml").read_text(encoding="utf-8") for name in FUZZ_BASES
}


def _words(text: str) -> list[str]:
    return text.split()


FIELD_KEYS = [
    *_words(
        "name input layers blocks defaults args filters kernel kernal stride padding groups bias "
        "then block with first repeat body shortcut count growth layer sections index features "
        "conv relu sequence concat add residual dense_block dense basic 1"
    ),
    "",
]
WORDS = [
    *_words(
        "same same_tf valid full relu conv basic H in_channels planes growth 3x224x224 1e3 -3 "
        "auto projection identity x.y ( 1/0 2**10 min(1)"
    ),
    *("", "in_channels * 2", "in_channels // 0", "max(1, 2, 3)"),
]
KEYS = st.one_of(st.sampled_from(FIELD_KEYS), st.text(max_size=6))
SCALARS = st.one_of(
    st.integers(min_value=-3, max_value=300),
    st.sampled_from([0, -1, 10**12, 10**30, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(WORDS),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    data = copy.deepcopy(FUZZ_BASES[draw(st.sampled_from(sorted(FUZZ_BASES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(data)[1:]
        if not paths:
            break
        leaves = [path for path in paths if not isinstance(_at(data, path), dict | list)]
        path = draw(st.sampled_from(leaves if leaves and draw(st.booleans()) else paths))
        parent, key = _at(data, path[:-1]), path[-1]
        operation = draw(st.sampled_from(["delete", "rename", "replace", "duplicate", "graft"]))
        if operation == "delete":
            del parent[key]
        elif operation == "rename" and isinstance(parent, dict):
            parent[draw(KEYS)] = parent.pop(key)
        elif operation == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif operation == "graft":
            parent[key] = copy.deepcopy(_at(data, draw(st.sampled_from(paths))))
        else:
            parent[key] = draw(st.one_of(SCALARS, SCALARS, SCALARS, VALUES))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _analyse_or_spec_error(text: str) -> None:
    """Parse, analyse and render ``text``; a SpecError is fine, anything else is a bug."""
    from cnncalc.engine.conventions import get_convention
    from cnncalc.report.formats import render

    try:
        analysis = cnncalc.analyse(cnncalc.parse_spec(text, "fuzz.yaml"))
    except cnncalc.SpecError as error:
        rendered = error.render()
        assert rendered.startswith(("fuzz.yaml:", "error: ")), rendered
        return
    render(analysis, "summary", "table", get_convention("cnncalc"))


FUZZ_SETTINGS = settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ_SETTINGS
@given(mutated_specs())
def test_mutated_specs_never_crash(text: str):
    note(text)
    _analyse_or_spec_error(text)


SNIPPETS = [
    *":[]{}!&*#|>'\"\t\n ,%@`?~\x00é",
    *_words("- &a *a 0 -1 99999999999999999999 !foo !!int !!float !!binary !!timestamp"),
    *("!!python/name:os.system ", "<<: ", "!!int ", "!foo "),
]


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    text = FUZZ_TEXTS[draw(st.sampled_from(sorted(FUZZ_TEXTS)))]
    start = text.index("\nlayers:") if "\nlayers:" in text else 0  # past the comments
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.integers(min_value=min(start, len(text) - 1), max_value=len(text) - 1))
        if draw(st.booleans()):
            text = text[:where] + text[where + draw(st.integers(min_value=1, max_value=8)) :]
        else:
            text = text[:where] + draw(st.sampled_from(SNIPPETS)) + text[where:]
    return text


@FUZZ_SETTINGS
@given(mutated_texts())
def test_mutated_yaml_text_never_crashes(text: str):
    note(text)
    _analyse_or_spec_error(text)
