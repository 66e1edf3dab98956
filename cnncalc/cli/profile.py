"""``cnncalc profile``: measured time and memory per spec layer beside the exact counts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from .common import InputOption, OutputOption, choice_type, exit_with, value_of

if TYPE_CHECKING:
    from ..profile.result import Profile

    ProfileFormat: TypeAlias = str
    Dtype: TypeAlias = str
    Optimizer: TypeAlias = str
else:
    ProfileFormat = choice_type("ProfileFormat", ("table", "json", "csv"))
    Dtype = choice_type("Dtype", ("fp32", "fp16", "bf16"))
    Optimizer = choice_type("Optimizer", ("sgd", "momentum", "rmsprop", "adagrad", "adam", "adamw"))


def parse_batches(text: str) -> list[int]:
    """``1,8,32`` → [1, 8, 32]."""
    from .run import UsageError

    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise UsageError(f"--batch '{text}' must be positive integers separated by commas: 1,8,32")
    return [int(part) for part in parts]


def profile(
    specs: Annotated[
        list[Path],
        typer.Argument(
            help="One spec, or two to compare in one interleaved run.", show_default=False
        ),
    ],
    batch: Annotated[str, typer.Option("--batch", "-b", help="Batch sizes: 1,8,32.")] = "1",
    device: Annotated[str, typer.Option("--device", "-d", help="cpu, cuda or cuda:N.")] = "cpu",
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Parameters and inputs.")] = Dtype("fp32"),
    train: Annotated[
        bool, typer.Option("--train", help="Time a full training step: forward, backward, step.")
    ] = False,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer")] = Optimizer("adam"),
    channels_last: Annotated[bool, typer.Option("--channels-last")] = False,
    compile: Annotated[
        bool, typer.Option("--compile", help="torch.compile for the end-to-end timings.")
    ] = False,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="CPU threads (default: torch's).")
    ] = None,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Timed samples.")] = 7,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Untimed calls first.")] = 3,
    layer_repeats: Annotated[
        int, typer.Option("--layer-repeats", min=1, help="Profiled forwards per layer median.")
    ] = 3,
    calibrate: Annotated[
        bool | None,
        typer.Option(
            "--calibrate/--no-calibrate",
            help="Measure the roof (GEMM, copy); default on a CPU or a GPU not in the table.",
            show_default=False,
        ),
    ] = None,
    peak_tflops: Annotated[
        float | None, typer.Option("--peak-tflops", help="Peak compute, TFLOP/s.")
    ] = None,
    peak_gbs: Annotated[float | None, typer.Option("--peak-gbs", help="Peak memory, GB/s.")] = None,
    cudnn_benchmark: Annotated[
        bool | None,
        typer.Option("--cudnn-benchmark/--no-cudnn-benchmark", show_default=False),
    ] = None,
    trace: Annotated[
        str | None, typer.Option("--trace", help="Write a Chrome trace (chrome://tracing).")
    ] = None,
    plots: Annotated[
        str | None,
        typer.Option("--plots", help="Write PREFIX-batch.png, -shares.png, -roofline.png."),
    ] = None,
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="Show only the N slowest layers.")
    ] = None,
    input: InputOption = None,
    format: Annotated[ProfileFormat, typer.Option("--format", "-f")] = ProfileFormat("table"),
    output: OutputOption = None,
) -> None:
    """Measure latency, throughput, memory and time per spec layer, beside the exact counts.

    Each layer's measured time, its share of the time beside its share of the MACs, its exact
    FLOPs and bytes, achieved FLOP/s against the roof, and a verdict (compute-, memory- or
    overhead-bound). Two specs are timed interleaved, so their ratio holds on a busy machine.

    Example: cnncalc profile specs/resnet18.yaml --batch 1,8 --input 3x64x64
    """
    from .run import guarded

    def body() -> int:
        from ..profile import profile as measure
        from ..profile.render import to_csv, to_json
        from .run import parse_input, write

        if plots:
            from ..profile.api import check_writable

            check_writable(plots, "--plots")
        result = measure(
            [str(spec) for spec in specs],
            batch=parse_batches(batch),
            device=device,
            dtype=value_of(dtype),
            train=train,
            optimizer=value_of(optimizer),
            channels_last=channels_last,
            compile="inductor" if compile else None,
            threads=threads,
            repeats=repeats,
            warmup=warmup,
            layer_repeats=layer_repeats,
            calibrate=calibrate,
            peak_tflops=peak_tflops,
            peak_gbs=peak_gbs,
            cudnn_benchmark_on=cudnn_benchmark,
            trace=trace,
            input_shape=parse_input(input) if input else None,
        )
        fmt = value_of(format)
        if fmt == "table":
            _print_table(result, output, top)
        else:
            write(to_json(result) if fmt == "json" else to_csv(result), output)
        if plots:
            from ..profile.plots import write_plots

            for path in write_plots(result, plots):
                sys.stderr.write(f"wrote {path}\n")
        if trace:
            from ..profile.api import trace_path

            for index in range(len(result.specs)):
                sys.stderr.write(f"wrote {trace_path(trace, index)}\n")
        return 0

    exit_with(guarded(body))


def _print_table(result: Profile, output: str | None, top: int | None) -> None:
    from rich.console import Console

    from ..profile.render import print_table
    from .run import UsageError

    if output is None:
        print_table(result, Console(file=sys.stdout, width=200), top)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            print_table(result, Console(file=handle, width=200, no_color=True), top)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    sys.stderr.write(f"wrote {output}\n")


def register(app: typer.Typer) -> None:
    app.command()(profile)
