"""The one-layer calculators, no spec needed: ``conv``, ``pool``, ``fc``, ``deconv`` and
``padding``. Each builds a one-layer spec (:mod:`cnncalc.calculators`), so a calculator and a
full report cannot disagree."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .common import NoBiasOption, exit_with

VolumeArgument = Annotated[str, typer.Argument(help="Input volume H×W×D, e.g. 227x227x3.")]


def conv(
    volume: VolumeArgument,
    filters: Annotated[int, typer.Option("--filters", "-k", help="K: output channels.")],
    kernel: Annotated[int, typer.Option("--kernel", "-F", help="F: kernel size.")],
    stride: Annotated[int, typer.Option("--stride", "-s")] = 1,
    padding: Annotated[
        str, typer.Option("--padding", "-p", help="P: an int, valid, same or same_tf.")
    ] = "0",
    dilation: Annotated[int, typer.Option("--dilation", "-d")] = 1,
    groups: Annotated[int, typer.Option("--groups", "-g")] = 1,
    no_bias: NoBiasOption = False,
) -> None:
    """One convolution, worked: output size, parameters, MACs, receptive field.

    Example: cnncalc conv 227x227x3 --filters 96 --kernel 11 --stride 4
    """
    from .run import run_calculator

    fields = {
        "filters": filters,
        "kernel": kernel,
        "stride": stride,
        "padding": int(padding) if padding.isdigit() else padding,
        "dilation": dilation,
        "groups": groups,
        "bias": not no_bias,
    }
    exit_with(run_calculator(volume, {"conv": fields}, no_bias))


def pool(
    volume: VolumeArgument,
    kernel: Annotated[int, typer.Option("--kernel", "-F")],
    stride: Annotated[
        int | None, typer.Option("--stride", "-s", help="Default: the kernel.")
    ] = None,
    padding: Annotated[int, typer.Option("--padding", "-p")] = 0,
    average: Annotated[bool, typer.Option("--avg/--max", help="Average or max pooling.")] = False,
    ceil_mode: Annotated[bool, typer.Option("--ceil-mode")] = False,
) -> None:
    """One pooling layer, worked.

    Example: cnncalc pool 55x55x96 --kernel 3 --stride 2
    """
    from .run import run_calculator

    fields: dict[str, Any] = {"kernel": kernel, "padding": padding, "ceil_mode": ceil_mode}
    if stride is not None:
        fields["stride"] = stride
    exit_with(run_calculator(volume, {"avgpool" if average else "maxpool": fields}))


def fc(
    inputs: Annotated[int, typer.Argument(help="N_in: input features.")],
    outputs: Annotated[int, typer.Argument(help="N_out: output features.")],
    no_bias: NoBiasOption = False,
) -> None:
    """One fully connected layer, worked.

    Example: cnncalc fc 9216 4096
    """
    from .run import run_calculator

    exit_with(
        run_calculator(str(inputs), {"linear": {"features": outputs, "bias": not no_bias}}, no_bias)
    )


def deconv(
    volume: VolumeArgument,
    filters: Annotated[int, typer.Option("--filters", "-k")],
    kernel: Annotated[int, typer.Option("--kernel", "-F")],
    stride: Annotated[int, typer.Option("--stride", "-s")] = 1,
    padding: Annotated[int, typer.Option("--padding", "-p")] = 0,
    output_padding: Annotated[int, typer.Option("--output-padding")] = 0,
    no_bias: NoBiasOption = False,
) -> None:
    """One transposed convolution, worked.

    Example: cnncalc deconv 7x7x16 --filters 8 --kernel 3 --stride 2 --padding 1 --output-padding 1
    """
    from .run import run_calculator

    fields = {
        "filters": filters,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "bias": not no_bias,
    }
    exit_with(run_calculator(volume, {"conv_transpose": fields}, no_bias))


def padding_command(
    kernel: Annotated[int, typer.Option("--kernel", "-F")],
    dilation: Annotated[int, typer.Option("--dilation", "-d")] = 1,
    stride: Annotated[int, typer.Option("--stride", "-s")] = 1,
) -> None:
    """The padding that keeps the output size (stride 1), worked.

    Example: cnncalc padding --kernel 5 --dilation 2
    """
    from .run import run_padding

    exit_with(run_padding(kernel, dilation, stride))


def register(app: typer.Typer) -> None:
    for command in (conv, pool, fc, deconv):
        app.command()(command)
    app.command(name="padding")(padding_command)
