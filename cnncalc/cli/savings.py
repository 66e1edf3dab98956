"""``cnncalc savings`` and ``cnncalc compare``.

The commands are thin: the engine (:mod:`cnncalc.engine.savings`,
:mod:`cnncalc.engine.compare`) finds and counts, the reports render.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from ..report.savings_report import FORMATS as SAVINGS_FORMATS
from .common import InputOption, SetOption, SpecArgument, choice_type, exit_with, value_of

if TYPE_CHECKING:
    SavingsFormat: TypeAlias = str
else:
    SavingsFormat = choice_type("SavingsFormat", SAVINGS_FORMATS)

FormatOption = Annotated[SavingsFormat, typer.Option("--format", "-f", help="Output format.")]


def savings(
    spec: SpecArgument,
    input: InputOption = None,
    format: FormatOption = SavingsFormat("table"),
    sets: SetOption = None,
) -> None:
    """Where the network saves, each design against the one it replaces.

    1×1 reductions, global average pooling, stacked 3×3, 1×n + n×1, depthwise separable and
    grouped convolutions, with exact params and MACs and the working.

    Example: cnncalc savings specs/googlenet.yaml
    """
    from .run import run_savings

    exit_with(run_savings(str(spec), input, value_of(format), sets or ()))


def compare(
    first: Annotated[Path, typer.Argument(help="Spec A (YAML).", show_default=False)],
    second: Annotated[Path, typer.Argument(help="Spec B (YAML).", show_default=False)],
    input: InputOption = None,
    format: FormatOption = SavingsFormat("table"),
    sets: SetOption = None,
) -> None:
    """Two networks side by side, per stage and in total, with the ratios B/A.

    Params, MACs, activation memory, depth and receptive field.

    Example: cnncalc compare specs/vgg16.yaml specs/resnet50.yaml
    """
    from .run import run_compare

    exit_with(run_compare(str(first), str(second), input, value_of(format), sets or ()))


def register(app: typer.Typer) -> None:
    app.command(name="savings")(savings)
    app.command(name="compare")(compare)
