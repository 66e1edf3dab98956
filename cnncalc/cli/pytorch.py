"""``cnncalc verify`` and ``cnncalc export``: the commands that build the spec in PyTorch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from .common import (
    BatchOption,
    InputOption,
    SetOption,
    SpecArgument,
    TableOrJson,
    choice_type,
    exit_with,
    value_of,
)

if TYPE_CHECKING:
    Device: TypeAlias = str
    Target: TypeAlias = str
else:
    Device = choice_type("Device", ("meta", "cpu", "cuda"))
    Target = choice_type("Target", ("torch", "onnx"))


def verify(
    spec: SpecArgument,
    input: InputOption = None,
    batch: BatchOption = 1,
    device: Annotated[
        Device,
        typer.Option(
            "--device", "-d", help="meta: shapes only, no memory; cpu or cuda: real tensors."
        ),
    ] = Device("meta"),
    format: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson("table"),
    peers: Annotated[
        bool,
        typer.Option(
            "--peers/--no-peers", help="Also run fvcore and torchinfo (real CPU tensors)."
        ),
    ] = True,
    sets: SetOption = None,
) -> None:
    """Build the spec in PyTorch and check every number against it.

    Every layer's shape, parameters and MACs, and the totals against FlopCounterMode, fvcore
    and torchinfo. Exit 0: all agree; 1: a mismatch, or a layer PyTorch refused to build or
    run (named, with the first layer whose shape differed); 2: a bad spec.

    Example: cnncalc verify specs/resnet18.yaml --device meta
    """
    from .run import run_verify

    exit_with(
        run_verify(str(spec), input, batch, value_of(device), value_of(format), peers, sets or ())
    )


def export(
    spec: SpecArgument,
    to: Annotated[
        Target | None,
        typer.Option(
            "--to",
            help="torch: a standalone .py; onnx: a .onnx file. Default: from -o's suffix, "
            "else torch.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="File to write (default: stdout for torch)."),
    ] = None,
    input: InputOption = None,
    sets: SetOption = None,
) -> None:
    """Write the spec as a standalone PyTorch module (no cnncalc import needed) or as ONNX.

    Example: cnncalc export specs/resnet18.yaml --to torch -o resnet18.py
    """
    from .run import run_export

    target = None if to is None else value_of(to)
    exit_with(run_export(str(spec), target, output, input, sets or ()))


def register(app: typer.Typer) -> None:
    app.command()(verify)
    app.command()(export)
