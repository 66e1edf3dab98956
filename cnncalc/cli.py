"""The ``cnncalc`` command line: thin commands over the library, no arithmetic here."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

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
    fvcore_training = "fvcore_training"
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
        help="How FLOPs/params are counted: cnncalc (2×MACs), or as fvcore (eval mode), "
        "fvcore_training, flopcounter (torch FlopCounterMode), torchinfo or keras report them.",
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


def _analysis_command(command: str) -> None:
    """shape/params/flops/summary share their options; only the view differs."""

    def run(
        spec: SpecArgument,
        input: InputOption = None,
        batch: BatchOption = 1,
        format: FormatOption = Format.table,
        convention: ConventionOption = ConventionName.cnncalc,
    ) -> None:
        _show(command, spec, input, batch, format, convention)

    run.__doc__ = ANALYSIS_HELP[command]
    app.command(name=command)(run)


for _command in ANALYSIS_HELP:
    _analysis_command(_command)


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
    """Build the spec in PyTorch and check every number against it.

    Every layer's shape, parameters and MACs, and the totals against FlopCounterMode, fvcore
    and torchinfo. Exit 0: all agree; 1: a mismatch, or a layer PyTorch refused to build or
    run (named, with the first layer whose shape differed); 2: a bad spec.

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


class ReportFormat(str, Enum):
    terminal = "terminal"
    text = "text"
    md = "md"
    latex = "latex"
    html = "html"


class CheckFormat(str, Enum):
    table = "table"
    json = "json"


class Dtype(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    rmsprop = "rmsprop"
    adagrad = "adagrad"
    adam = "adam"
    adamw = "adamw"


def _exit(status: int) -> None:
    if status:
        raise typer.Exit(status)


OutputOption = Annotated[str | None, typer.Option("--output", "-o", help="Write to this file.")]
NoBiasOption = Annotated[
    bool, typer.Option("--no-bias", help="The exam convention: count weights only, ignore biases.")
]


@app.command()
def report(
    spec: SpecArgument,
    input: InputOption = None,
    format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="terminal (rich, in colour even through a pipe), text, md (GitHub Markdown), "
            "latex (a document) or html (one self-contained file). Default: the terminal "
            "when stdout is one, else text, or what -o's suffix says (.md, .tex, .html).",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
    no_bias: NoBiasOption = False,
    answers_only: Annotated[
        bool, typer.Option("--answers-only", help="Only the results, without the working.")
    ] = False,
    symbolic: Annotated[
        bool, typer.Option("--symbolic", help="Formulas in H and W instead of numbers.")
    ] = False,
) -> None:
    """The worked solution, layer by layer, the way an exam answer writes it.

    Example: cnncalc report specs/alexnet.yaml --format html -o alexnet.html
    """
    from .commands import run_report

    _exit(
        run_report(
            str(spec),
            input,
            format.value if format else None,
            output,
            no_bias,
            answers_only,
            symbolic,
        )
    )


@app.command()
def check(
    spec: SpecArgument,
    input: InputOption = None,
    format: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.table,
) -> None:
    """Judge every claimed answer (expect:) right or wrong, with the correct working.

    Exit 0 when all are right, 1 when any is wrong.

    Example: cnncalc check specs/lecture_notes/alexnet_no_padding.yaml
    """
    from .commands import run_check

    _exit(run_check(str(spec), input, format.value))


@app.command()
def memory(
    spec: SpecArgument,
    input: InputOption = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Training batch size.")] = 32,
    dtype: Annotated[Dtype, typer.Option("--dtype")] = Dtype.float32,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer")] = Optimizer.adam,
    format: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.table,
) -> None:
    """Activation and parameter memory, and an estimate for training.

    Activations per layer and per image, parameter memory, and an estimate for training
    (parameters + gradients + optimizer state + activations), with its assumptions.

    Example: cnncalc memory specs/resnet50.yaml --batch 64 --optimizer adam
    """
    from .commands import run_memory

    _exit(run_memory(str(spec), input, batch, dtype.value, optimizer.value, format.value))


VolumeArgument = Annotated[str, typer.Argument(help="Input volume H×W×D, e.g. 227x227x3.")]


@app.command()
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
    from .commands import run_calculator

    fields = {
        "filters": filters,
        "kernel": kernel,
        "stride": stride,
        "padding": int(padding) if padding.isdigit() else padding,
        "dilation": dilation,
        "groups": groups,
        "bias": not no_bias,
    }
    _exit(run_calculator(volume, {"conv": fields}, no_bias))


@app.command()
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
    from .commands import run_calculator

    fields: dict[str, Any] = {"kernel": kernel, "padding": padding, "ceil_mode": ceil_mode}
    if stride is not None:
        fields["stride"] = stride
    _exit(run_calculator(volume, {"avgpool" if average else "maxpool": fields}))


@app.command()
def fc(
    inputs: Annotated[int, typer.Argument(help="N_in: input features.")],
    outputs: Annotated[int, typer.Argument(help="N_out: output features.")],
    no_bias: NoBiasOption = False,
) -> None:
    """One fully connected layer, worked.

    Example: cnncalc fc 9216 4096
    """
    from .commands import run_calculator

    _exit(
        run_calculator(str(inputs), {"linear": {"features": outputs, "bias": not no_bias}}, no_bias)
    )


@app.command()
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
    from .commands import run_calculator

    fields = {
        "filters": filters,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "bias": not no_bias,
    }
    _exit(run_calculator(volume, {"conv_transpose": fields}, no_bias))


@app.command(name="padding")
def padding_command(
    kernel: Annotated[int, typer.Option("--kernel", "-F")],
    dilation: Annotated[int, typer.Option("--dilation", "-d")] = 1,
    stride: Annotated[int, typer.Option("--stride", "-s")] = 1,
) -> None:
    """The padding that keeps the output size (stride 1), worked.

    Example: cnncalc padding --kernel 5 --dilation 2
    """
    from .commands import run_padding

    _exit(run_padding(kernel, dilation, stride))


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


def _register_extra_commands() -> None:
    from .cli_analysis_extra import register

    register(app)


_register_extra_commands()
