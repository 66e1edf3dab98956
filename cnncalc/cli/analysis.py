"""``cnncalc shape/params/flops/summary`` (one set of options, four views) and ``layers``."""

from __future__ import annotations

import typer

from .common import (
    BatchOption,
    ConventionChoice,
    ConventionOption,
    FormatChoice,
    FormatOption,
    InputOption,
    SetOption,
    SpecArgument,
    exit_with,
    value_of,
)

ANALYSIS_HELP = {
    "shape": """Output shape of every layer (C×H×W), its resolved padding and receptive field.

    Example: cnncalc shape specs/alexnet.yaml --input 3xHxW
    """,
    "params": """Parameters of every layer: weights, biases, buffers, and the totals.

    Example: cnncalc params specs/vgg16.yaml --convention keras
    """,
    "flops": """MACs and FLOPs of every layer, other ops apart, with the convention stated.

    Example: cnncalc flops specs/resnet50.yaml --convention fvcore
    """,
    "summary": """One table with everything: shapes, params, MACs, receptive field, depth, totals.

    Example: cnncalc summary specs/resnet18.yaml --input 3x512x512 --format md
    """,
}


def _analysis_command(app: typer.Typer, command: str) -> None:
    """shape/params/flops/summary share their options; only the view differs."""

    def run(
        spec: SpecArgument,
        input: InputOption = None,
        batch: BatchOption = 1,
        format: FormatOption = FormatChoice("table"),
        convention: ConventionOption = ConventionChoice("cnncalc"),
        sets: SetOption = None,
    ) -> None:
        from .run import run_analysis

        exit_with(
            run_analysis(
                command,
                str(spec),
                input,
                batch,
                value_of(format),
                value_of(convention),
                sets or (),
            )
        )

    run.__doc__ = ANALYSIS_HELP[command]
    app.command(name=command)(run)


def layers(format: FormatOption = FormatChoice("table")) -> None:
    """The layer kinds the spec language knows, with their fields and defaults.

    Example: cnncalc layers --format md
    """
    from ..report.catalogue import render_catalogue

    typer.echo(render_catalogue(value_of(format)))


def register(app: typer.Typer) -> None:
    for command in ANALYSIS_HELP:
        _analysis_command(app, command)
    app.command()(layers)
