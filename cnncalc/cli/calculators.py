"""The one-layer calculators, no spec needed: ``conv``, ``pool``, ``fc``, ``deconv`` and
``padding``. Each builds a one-layer spec (:mod:`cnncalc.calculators`), so a calculator and a
full report cannot disagree."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .common import NoBiasOption, exit_with

VolumeArgument = Annotated[
    str,
    typer.Argument(help="Input volume C×H×W as --input, e.g. 3x227x227 (the notes' 227×227×3)."),
]


def command_words(context: typer.Context) -> list[str]:
    """The command as typed, rebuilt from its parsed options (for a warning to rewrite)."""
    words = ["cnncalc", context.info_name or ""]
    for parameter in context.command.params:
        value = context.params.get(parameter.name or "")
        if parameter.param_type_name == "argument":
            words.append(str(value))
        elif value != parameter.default and value is not None:
            option = parameter.opts[0]
            if isinstance(value, bool):
                words.append(option if value else (parameter.secondary_opts or [option])[0])
            else:
                words += [option, str(value)]
    return words


def conv(
    context: typer.Context,
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

    Example: cnncalc conv 3x227x227 --filters 96 --kernel 11 --stride 4
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
    exit_with(run_calculator(volume, {"conv": fields}, no_bias, command_words(context)))


def pool(
    context: typer.Context,
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

    Example: cnncalc pool 96x55x55 --kernel 3 --stride 2
    """
    from .run import run_calculator

    fields: dict[str, Any] = {"kernel": kernel, "padding": padding, "ceil_mode": ceil_mode}
    if stride is not None:
        fields["stride"] = stride
    layer = {"avgpool" if average else "maxpool": fields}
    exit_with(run_calculator(volume, layer, command=command_words(context)))


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
    context: typer.Context,
    volume: VolumeArgument,
    filters: Annotated[int, typer.Option("--filters", "-k")],
    kernel: Annotated[int, typer.Option("--kernel", "-F")],
    stride: Annotated[int, typer.Option("--stride", "-s")] = 1,
    padding: Annotated[int, typer.Option("--padding", "-p")] = 0,
    output_padding: Annotated[int, typer.Option("--output-padding")] = 0,
    no_bias: NoBiasOption = False,
) -> None:
    """One transposed convolution, worked.

    Example: cnncalc deconv 16x7x7 --filters 8 --kernel 3 --stride 2 --padding 1 --output-padding 1
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
    exit_with(run_calculator(volume, {"conv_transpose": fields}, no_bias, command_words(context)))


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
