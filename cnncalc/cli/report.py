"""``cnncalc report``, ``check`` and ``memory``: the worked solution and what it judges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from ..engine.memory import DTYPE_BYTES, OPTIMIZER_STATES
from .common import (
    InputOption,
    NoBiasOption,
    OutputOption,
    SetOption,
    SpecArgument,
    TableOrJson,
    choice_type,
    exit_with,
    value_of,
)
from .run import REPORT_FORMATS

if TYPE_CHECKING:
    ReportFormat: TypeAlias = str
    Dtype: TypeAlias = str
    Optimizer: TypeAlias = str
else:
    ReportFormat = choice_type("ReportFormat", ("terminal", *REPORT_FORMATS))
    Dtype = choice_type("Dtype", DTYPE_BYTES)
    Optimizer = choice_type("Optimizer", OPTIMIZER_STATES)


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
    no_bias_all: Annotated[
        bool,
        typer.Option(
            "--no-bias-all",
            help="Leave out every bias: conv/linear biases and batchnorm/layernorm β too "
            "(--no-bias keeps β).",
        ),
    ] = False,
    answers_only: Annotated[
        bool, typer.Option("--answers-only", help="Only the results, without the working.")
    ] = False,
    symbolic: Annotated[
        bool, typer.Option("--symbolic", help="Formulas in H and W instead of numbers.")
    ] = False,
    sets: SetOption = None,
) -> None:
    """The worked solution, layer by layer, the way an exam answer writes it.

    Example: cnncalc report specs/alexnet.yaml --format html -o alexnet.html
    """
    from .run import run_report

    fmt = value_of(format) if format else None
    bias_rule = "all" if no_bias_all else no_bias
    exit_with(
        run_report(str(spec), input, fmt, output, bias_rule, answers_only, symbolic, sets or ())
    )


def check(
    spec: SpecArgument,
    input: InputOption = None,
    format: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson("table"),
    sets: SetOption = None,
) -> None:
    """Judge every claimed answer (expect:) right or wrong, with the correct working.

    Exit 0 when all are right, 1 when any is wrong.

    Example: cnncalc check specs/lecture_notes/alexnet_no_padding.yaml
    """
    from .run import run_check

    exit_with(run_check(str(spec), input, value_of(format), sets or ()))


def memory(
    spec: SpecArgument,
    input: InputOption = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Training batch size.")] = 32,
    dtype: Annotated[Dtype, typer.Option("--dtype")] = Dtype("float32"),
    optimizer: Annotated[Optimizer, typer.Option("--optimizer")] = Optimizer("adam"),
    format: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson("table"),
    sets: SetOption = None,
) -> None:
    """Activation and parameter memory, and an estimate for training.

    Activations per layer and per image, parameter memory, and an estimate for training
    (parameters + gradients + optimizer state + activations), with its assumptions.

    Example: cnncalc memory specs/resnet50.yaml --batch 64 --optimizer adam
    """
    from .run import run_memory

    exit_with(
        run_memory(
            str(spec),
            input,
            batch,
            value_of(dtype),
            value_of(optimizer),
            value_of(format),
            sets or (),
        )
    )


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(check)
    app.command()(memory)
