"""``cnncalc savings`` and ``cnncalc compare``: ``register(app)`` adds them to the typer app.

The commands are thin: the engine (:mod:`cnncalc.engine.savings`,
:mod:`cnncalc.engine.compare`) finds and counts, the reports render.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .errors import CnncalcError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    from .engine.result import Analysis


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    md = "md"


SpecArgument = Annotated[
    Path, typer.Argument(help="A spec file (YAML), e.g. specs/googlenet.yaml.", show_default=False)
]
InputOption = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        help="Input C×H×W, overriding the spec's: 3x224x224, or symbols: 3xHxW.",
        show_default=False,
    ),
]
FormatOption = Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")]


def _analysis(spec: str, input_text: str | None) -> Analysis:
    from .commands import parse_input
    from .engine import analyse
    from .spec import load_spec

    dims = parse_input(input_text) if input_text else None
    return analyse(load_spec(spec), dims)


def _failed(error: CnncalcError) -> int:
    """Print a spec error (file, line, hint) or a usage error on stderr; exit status 2."""
    if isinstance(error, SpecError):
        sys.stderr.write(error.render() + "\n")
    else:
        sys.stderr.write(f"error: {error}\n")
    return 2


def run_savings(spec: str, input_text: str | None = None, fmt: str = "table") -> int:
    """Print every saving of ``spec``; returns the exit status (0, or 2 on a bad spec)."""
    from .engine.savings import find_savings
    from .report.savings_report import render_savings

    try:
        analysis = _analysis(spec, input_text)
    except CnncalcError as error:
        return _failed(error)
    sys.stdout.write(render_savings(analysis, find_savings(analysis), fmt) + "\n")
    return 0


def run_compare(first: str, second: str, input_text: str | None = None, fmt: str = "table") -> int:
    """Print ``first`` and ``second`` side by side; returns the exit status (0 or 2)."""
    from .engine.compare import compare
    from .report.compare_report import render_comparison

    try:
        analyses = [_analysis(spec, input_text) for spec in (first, second)]
    except CnncalcError as error:
        return _failed(error)
    sys.stdout.write(render_comparison(compare(*analyses), fmt) + "\n")
    return 0


def savings(
    spec: SpecArgument,
    input: InputOption = None,
    format: FormatOption = ReportFormat.table,
) -> None:
    """Where the network saves, each design against the one it replaces.

    1×1 reductions, global average pooling, stacked 3×3, 1×n + n×1, depthwise separable and
    grouped convolutions, with exact params and MACs and the working.

    Example: cnncalc savings specs/googlenet.yaml
    """
    status = run_savings(str(spec), input, format.value)
    if status:
        raise typer.Exit(status)


def compare(
    first: Annotated[Path, typer.Argument(help="Spec A (YAML).", show_default=False)],
    second: Annotated[Path, typer.Argument(help="Spec B (YAML).", show_default=False)],
    input: InputOption = None,
    format: FormatOption = ReportFormat.table,
) -> None:
    """Two networks side by side, per stage and in total, with the ratios B/A.

    Params, MACs, activation memory, depth and receptive field.

    Example: cnncalc compare specs/vgg16.yaml specs/resnet50.yaml
    """
    status = run_compare(str(first), str(second), input, format.value)
    if status:
        raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    """Add ``savings`` and ``compare`` to ``app``."""
    app.command(name="savings")(savings)
    app.command(name="compare")(compare)
