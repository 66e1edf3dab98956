"""The ``cnncalc`` command line: thin commands over the library, no arithmetic here."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="cnncalc",
    help="Exact shapes, parameters, MACs/FLOPs, memory and receptive fields of CNNs described "
    "in YAML, with the working shown and every number checkable against PyTorch.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


class ConventionName(str, Enum):
    cnncalc = "cnncalc"
    fvcore = "fvcore"
    flopcounter = "flopcounter"
    torchinfo = "torchinfo"
    keras = "keras"


SpecArgument = Annotated[
    Path, typer.Argument(help="A spec file (YAML), e.g. specs/alexnet.yaml.", show_default=False)
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
BatchOption = Annotated[
    int, typer.Option("--batch", "-b", min=1, help="Batch size: MACs, FLOPs and activations scale.")
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
ConventionOption = Annotated[
    ConventionName,
    typer.Option(
        "--convention",
        "-c",
        help="How FLOPs/params are counted: cnncalc (2×MACs), or as fvcore, flopcounter "
        "(torch FlopCounterMode), torchinfo or keras report them.",
    ),
]


def _show(
    command: str,
    spec: Path,
    input_text: str | None,
    batch: int,
    fmt: Format,
    convention: ConventionName,
) -> None:
    from .commands import run_analysis

    status = run_analysis(command, str(spec), input_text, batch, fmt.value, convention.value)
    if status:
        raise typer.Exit(status)


@app.command()
def shape(
    spec: SpecArgument,
    input: InputOption = None,
    batch: BatchOption = 1,
    format: FormatOption = Format.table,
    convention: ConventionOption = ConventionName.cnncalc,
) -> None:
    """Output shape of every layer (C×H×W), and the receptive field.

    Example: cnncalc shape specs/alexnet.yaml --input 3xHxW
    """
    _show("shape", spec, input, batch, format, convention)


@app.command()
def params(
    spec: SpecArgument,
    input: InputOption = None,
    batch: BatchOption = 1,
    format: FormatOption = Format.table,
    convention: ConventionOption = ConventionName.cnncalc,
) -> None:
    """Parameters of every layer: weights, biases, buffers, and the totals.

    Example: cnncalc params specs/vgg16.yaml --convention keras
    """
    _show("params", spec, input, batch, format, convention)


@app.command()
def flops(
    spec: SpecArgument,
    input: InputOption = None,
    batch: BatchOption = 1,
    format: FormatOption = Format.table,
    convention: ConventionOption = ConventionName.cnncalc,
) -> None:
    """MACs and FLOPs of every layer, other ops apart, with the convention stated.

    Example: cnncalc flops specs/resnet50.yaml --convention fvcore
    """
    _show("flops", spec, input, batch, format, convention)


@app.command()
def summary(
    spec: SpecArgument,
    input: InputOption = None,
    batch: BatchOption = 1,
    format: FormatOption = Format.table,
    convention: ConventionOption = ConventionName.cnncalc,
) -> None:
    """One table with everything: shapes, params, MACs, receptive field, depth, totals.

    Example: cnncalc summary specs/resnet18.yaml --input 3x512x512 --format md
    """
    _show("summary", spec, input, batch, format, convention)


class Device(str, Enum):
    meta = "meta"
    cpu = "cpu"
    cuda = "cuda"


class VerifyFormat(str, Enum):
    table = "table"
    json = "json"


class Target(str, Enum):
    torch = "torch"
    onnx = "onnx"


@app.command()
def verify(
    spec: SpecArgument,
    input: InputOption = None,
    batch: BatchOption = 1,
    device: Annotated[
        Device,
        typer.Option(
            "--device", "-d", help="meta: shapes only, no memory; cpu or cuda: real tensors."
        ),
    ] = Device.meta,
    format: Annotated[VerifyFormat, typer.Option("--format", "-f")] = VerifyFormat.table,
    peers: Annotated[
        bool,
        typer.Option(
            "--peers/--no-peers", help="Also run fvcore and torchinfo (real CPU tensors)."
        ),
    ] = True,
) -> None:
    """Build the spec in PyTorch and check every layer's shape, parameters and MACs, and the
    totals against FlopCounterMode, fvcore and torchinfo. Exit 0: all agree; 1: a mismatch.

    Example: cnncalc verify specs/resnet18.yaml --device meta
    """
    from .commands import run_verify

    status = run_verify(str(spec), input, batch, device.value, format.value, peers)
    if status:
        raise typer.Exit(status)


@app.command()
def export(
    spec: SpecArgument,
    to: Annotated[
        Target, typer.Option("--to", help="torch: a standalone .py; onnx: a .onnx file.")
    ] = Target.torch,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="File to write (default: stdout for torch)."),
    ] = None,
    input: InputOption = None,
) -> None:
    """Write the spec as a standalone PyTorch module (no cnncalc import needed) or as ONNX.

    Example: cnncalc export specs/resnet18.yaml --to torch -o resnet18.py
    """
    from .commands import run_export

    status = run_export(str(spec), to.value, output, input)
    if status:
        raise typer.Exit(status)


@app.command()
def layers(format: FormatOption = Format.table) -> None:
    """The layer kinds the spec language knows, with their fields and defaults.

    Example: cnncalc layers --format md
    """
    from .report.catalogue import render_catalogue

    typer.echo(render_catalogue(format.value))


def main() -> None:
    """Run the typer app (the console script goes through :mod:`cnncalc.entry`)."""
    app()
