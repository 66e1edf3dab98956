"""The commands as plain functions returning an exit status, with the one error boundary.

No typer here. Both front ends call :func:`run_analysis`: the typer app
(:mod:`cnncalc.cli.application`) and the fast path (:mod:`cnncalc.cli.fast`) that serves
shape/params/flops/summary without importing typer, so a whole ``cnncalc summary`` process
stays a small fraction of ``python -c "import torch"``.

Every command body runs inside :func:`guarded`: a user error (a bad spec, a bad value, a
missing optional dependency) prints one message and returns exit status 2, never a traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import CnncalcError, SpecError

ANALYSIS_COMMANDS = ("shape", "params", "flops", "summary")


class UsageError(CnncalcError):
    """A bad command-line value (exit status 2)."""


def parse_input(text: str) -> list[Any]:
    """``3x224x224`` / ``3xHxW`` / ``1x28x28`` / ``784`` → dimensions (ints or symbol names)."""
    parts = [part.strip() for part in text.replace("×", "x").replace("X", "x").split("x")]
    if len(parts) not in (1, 3) or not all(parts):
        raise UsageError(
            f"--input '{text}' must be CxHxW (e.g. 3x224x224 or 3xHxW), or N for a flat input"
        )
    if len(parts) == 1 and not parts[0].isdigit():
        # 'junk' would be a flat vector of junk elements: never what anyone means
        separator = "; separate the dimensions with x, not commas" if "," in text else ""
        raise UsageError(
            f"--input '{text}' is not a shape: give CxHxW (e.g. 3x224x224 or 3xHxW), "
            f"or a number N for a flat input{separator}"
        )
    if len(parts) == 3 and parts[0].isidentifier():
        raise UsageError(
            f"--input '{text}': the channel count must be a number, not the symbol "
            f"'{parts[0]}' (symbols are allowed for H and W only): e.g. 3x{parts[1]}x{parts[2]}"
        )
    dims: list[Any] = []
    for part in parts:
        if part.isdigit() and int(part) > 0:
            dims.append(int(part))
        elif part.isidentifier():
            dims.append(part)
        else:
            raise UsageError(
                f"--input dimension '{part}' must be a positive integer or a symbol such as H"
            )
    return dims


def load_with_settings(spec: str, sets: Sequence[str] = ()) -> Any:
    """The spec at ``spec`` with ``--set name=value`` applied to its ``args:``."""
    from ..spec import load_spec
    from ..spec.arguments import parse_setting

    settings = dict(parse_setting(text) for text in sets)
    return load_spec(spec, settings)


def run_analysis(
    command: str,
    spec: str,
    input_text: str | None = None,
    batch: int = 1,
    fmt: str = "table",
    convention: str = "cnncalc",
    sets: Sequence[str] = (),
) -> int:
    """Analyse ``spec`` and print ``command``'s view; returns the exit status (0 or 2)."""
    from ..engine import analyse
    from ..engine.conventions import get_convention
    from ..report.formats import render

    def body() -> int:
        dims = parse_input(input_text) if input_text is not None else None
        analysis = analyse(load_with_settings(spec, sets), dims, batch)
        # on a terminal a table fits its width; piped, it keeps every character
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        text = render(analysis, command, fmt, get_convention(convention), width=width)
        sys.stdout.write(text + "\n")
        return 0

    return guarded(body)


def progress(text: str) -> Any:
    """A spinner on stderr while something slow runs (importing torch and building a model
    takes 10 s and more); nothing when stderr is not a terminal, so pipes and logs stay
    clean."""
    import contextlib

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(text)


def torch_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return "error: this command needs PyTorch: pip install 'cnncalc[torch]' (torch==2.13.0)"
    return None


def run_verify(
    spec: str,
    input_text: str | None = None,
    batch: int = 1,
    device: str = "meta",
    fmt: str = "table",
    peers: bool = True,
    sets: Sequence[str] = (),
) -> int:
    """Check the engine against PyTorch; 0 when everything agrees, 1 on a mismatch or a
    layer PyTorch refused (reported in the chosen format), 2 on a bad spec or a missing
    dependency."""
    missing = torch_missing()
    if missing:
        sys.stderr.write(missing + "\n")
        return 2
    from ..report.verification import verification_json, verification_table
    from ..torch.verify import PEERS, verify

    def body() -> int:
        dims = parse_input(input_text) if input_text is not None else None
        loaded = load_with_settings(spec, sets)
        with progress(f"verifying {os.path.basename(spec)} against PyTorch ({device})"):
            result = verify(loaded, dims, batch=batch, device=device, peers=PEERS if peers else ())
        write(verification_json(result) if fmt == "json" else verification_table(result), None)
        return 0 if result.ok else 1

    return guarded(body)


EXPORT_SUFFIXES = {".py": "torch", ".onnx": "onnx"}


def export_target(target: str | None, output: str | None) -> str:
    """What ``export`` writes: ``--to``, else what ``-o``'s suffix asks for; a suffix that
    names the other target (``--to torch -o model.onnx``) or neither is refused."""
    suffix = os.path.splitext(output)[1].lower() if output else ""
    wanted = EXPORT_SUFFIXES.get(suffix)
    if output and suffix and wanted is None:
        raise UsageError(
            f"cannot tell what to export from '{suffix}': write -o NAME.py (PyTorch source) "
            "or -o NAME.onnx (ONNX)"
        )
    if target is None:
        return wanted or "torch"
    if wanted is not None and wanted != target:
        raise UsageError(
            f"--to {target} writes {'PyTorch source' if target == 'torch' else 'ONNX'}, "
            f"not a {suffix} file: use --to {wanted}, or -o NAME"
            f"{'.py' if target == 'torch' else '.onnx'}"
        )
    return target


def run_export(
    spec: str,
    target: str | None,
    output: str | None,
    input_text: str | None = None,
    sets: Sequence[str] = (),
) -> int:
    """Write ``spec`` as standalone PyTorch source (stdout or ``output``) or as ONNX
    (``target`` None: as ``output``'s suffix asks)."""
    from ..torch.export import export_onnx, export_source

    def body() -> int:
        dims = parse_input(input_text) if input_text is not None else None
        loaded = load_with_settings(spec, sets)
        if export_target(target, output) != "onnx":
            write(export_source(loaded, dims), output)
            return 0
        missing = torch_missing()
        if missing:
            raise UsageError(missing.removeprefix("error: "))
        if not output:
            raise UsageError("--to onnx needs -o FILE.onnx")
        with progress(f"exporting {os.path.basename(spec)} to ONNX"):
            notes = export_onnx(loaded, output, dims)
        sys.stderr.write(f"wrote {output}\n")
        for note in notes:  # what the exporter warned that may matter, one line each
            sys.stderr.write(f"note: torch.onnx warned: {note}\n")
        return 0

    return guarded(body)


def _load_analysis(
    spec: str, input_text: str | None, symbolic: bool = False, sets: Sequence[str] = ()
) -> Any:
    return _load(spec, input_text, symbolic, sets)[1]


def _load(
    spec: str, input_text: str | None, symbolic: bool = False, sets: Sequence[str] = ()
) -> tuple[Any, Any]:
    """The loaded spec and its analysis (at ``--input``, or in H, W for ``symbolic``)."""
    from ..engine import analyse

    loaded = load_with_settings(spec, sets)
    dims = parse_input(input_text) if input_text is not None else None
    if symbolic and dims is None:
        dims = [loaded.input[0], "H", "W"] if len(loaded.input) == 3 else None
    analysis = analyse(loaded, dims)
    _warn_input_order(analysis)
    return loaded, analysis


def _warn_input_order(analysis: Any) -> None:
    """An input that looks H×W×C: these commands' outputs have no place for the warning."""
    from ..engine.input_order import READ_AS

    for warning in analysis.warnings:
        if READ_AS in warning.message:
            sys.stderr.write(f"warning: {warning.message}\n")


def guarded(run: Any) -> int:
    """Run a command body; SpecError and other user errors print one message, status 2."""
    try:
        return int(run())
    except SpecError as error:
        sys.stderr.write(error.render() + "\n")
        return 2
    except (CnncalcError, ValueError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


def write(text: str, output: str | None) -> None:
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text if text.endswith("\n") else text + "\n")
        except OSError as error:
            raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
        sys.stderr.write(f"wrote {output}\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


REPORT_FORMATS = ("text", "md", "latex", "html")


def render_report(report: Any, fmt: str) -> str:
    if fmt == "md":
        from ..report.markdown_report import report_markdown

        return str(report_markdown(report))
    if fmt == "latex":
        from ..report.latex_report import report_latex

        return str(report_latex(report))
    if fmt == "html":
        from ..report.html_report import report_html

        return str(report_html(report))
    from ..report.text_report import report_text

    return report_text(report)


def run_report(
    spec: str,
    input_text: str | None = None,
    fmt: str | None = None,
    output: str | None = None,
    no_bias: bool | str = False,
    answers_only: bool = False,
    symbolic: bool = False,
    sets: Sequence[str] = (),
) -> int:
    """The worked solution of ``spec`` (terminal when ``fmt`` is None); ``no_bias``: True
    (conv/linear biases left out) or 'all' (batchnorm/layernorm β too)."""
    from ..report.worked import worked_report

    def body() -> int:
        if fmt == "terminal" and output:
            raise UsageError(
                "--format terminal prints here; write a file as text, md, latex or html"
            )
        analysis = _load_analysis(spec, input_text, symbolic, sets)
        report = worked_report(analysis, no_bias=no_bias, answers_only=answers_only)
        if fmt == "terminal" or (fmt is None and output is None and sys.stdout.isatty()):
            from rich.console import Console

            from ..report.rich_report import print_report_rich

            # asked for by name: colour even through a pipe (| less -R)
            print_report_rich(report, Console(force_terminal=fmt == "terminal" or None))
            return 0
        write(render_report(report, fmt or format_of_file(output)), output)
        return 0

    return guarded(body)


TEXT_SUFFIXES = ("", ".txt", ".text", ".log")
REPORT_SUFFIXES = {".md": "md", ".markdown": "md", ".tex": "latex", ".html": "html", ".htm": "html"}


def format_of_file(output: str | None) -> str:
    """The report format a file name asks for (``-o alexnet.html`` → html); text otherwise."""
    if output is None:
        return "text"
    suffix = os.path.splitext(output)[1].lower()
    if suffix not in REPORT_SUFFIXES and suffix not in TEXT_SUFFIXES:
        raise UsageError(
            f"cannot tell a report format from '{suffix}': write .txt, .md, .tex or .html, "
            "or give --format (for a PDF, write .tex and run pdflatex)"
        )
    return REPORT_SUFFIXES.get(suffix, "text")


def run_check(
    spec: str, input_text: str | None = None, fmt: str = "table", sets: Sequence[str] = ()
) -> int:
    """Every ``expect:`` claim, right or wrong; 1 when any is wrong."""
    from ..report.check_report import check_json, check_text

    def body() -> int:
        loaded, analysis = _load(spec, input_text, sets=sets)
        if analysis.symbolic:
            raise UsageError(
                "check judges claims at numeric sizes; give --input numbers (3x224x224) "
                "or leave it out for the spec's own input"
            )
        _warn_other_input(loaded, analysis)
        write(check_json(analysis) if fmt == "json" else check_text(analysis), None)
        return 0 if all(claim.ok for claim in analysis.claims) else 1

    return guarded(body)


def _warn_other_input(loaded: Any, analysis: Any) -> None:
    """Claims are written for the spec's input: judged at another, say so (on stderr)."""
    from ..engine import input_dims

    written = input_dims(loaded.input)
    if analysis.claims and tuple(written) != tuple(analysis.input_shape):
        shape = "×".join(str(dim) for dim in written)
        given = "×".join(str(dim) for dim in analysis.input_shape)
        sys.stderr.write(
            f"note: the claims were written for the spec's input {shape}; judged here at {given}\n"
        )


def run_memory(
    spec: str,
    input_text: str | None = None,
    batch: int = 32,
    dtype: str = "float32",
    optimizer: str = "adam",
    fmt: str = "table",
    sets: Sequence[str] = (),
) -> int:
    from ..engine.memory import memory_report
    from ..report.memory_report import memory_json, memory_text

    def body() -> int:
        report = memory_report(_load_analysis(spec, input_text, sets=sets), batch, dtype, optimizer)
        write(memory_json(report) if fmt == "json" else memory_text(report), None)
        return 0

    return guarded(body)


def run_calculator(
    volume: str, layer: dict[str, Any], no_bias: bool = False, command: list[str] | None = None
) -> int:
    from ..calculators import one_layer, order_warning, parse_volume

    def body() -> int:
        warning = order_warning(volume, command or ["cnncalc", volume])
        if warning:
            sys.stderr.write(warning + "\n")
        write(one_layer(parse_volume(volume), layer, no_bias), None)
        return 0

    return guarded(body)


def run_padding(kernel: int, dilation: int, stride: int) -> int:
    from ..calculators import padding

    def body() -> int:
        write(padding(kernel, dilation, stride), None)
        return 0

    return guarded(body)


def run_savings(
    spec: str, input_text: str | None = None, fmt: str = "table", sets: Sequence[str] = ()
) -> int:
    """Print every saving of ``spec``; returns the exit status (0, or 2 on a bad spec)."""
    from ..engine.savings import find_savings
    from ..report.savings_report import render_savings

    def body() -> int:
        analysis = _load_analysis(spec, input_text, sets=sets)
        write(render_savings(analysis, find_savings(analysis), fmt), None)
        return 0

    return guarded(body)


def run_compare(
    first: str,
    second: str,
    input_text: str | None = None,
    fmt: str = "table",
    sets: Sequence[str] = (),
) -> int:
    """Print ``first`` and ``second`` side by side; returns the exit status (0 or 2)."""
    from ..engine.compare import compare
    from ..report.compare_report import render_comparison

    def body() -> int:
        analyses = [_load_analysis(spec, input_text, sets=sets) for spec in (first, second)]
        write(render_comparison(compare(*analyses), fmt), None)
        return 0

    return guarded(body)
