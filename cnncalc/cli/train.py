"""``cnncalc train``, ``cnncalc evaluate`` and ``cnncalc predict``: thin shells over
:mod:`cnncalc.train.api`.

Every ``train`` option left out is ``None``, meaning "not given": the spec's ``train:`` section
or the default applies (``--print-config`` shows which).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from .common import choice_type, exit_with, value_of

if TYPE_CHECKING:
    Optimizer: TypeAlias = str
    Schedule: TypeAlias = str
    Augment: TypeAlias = str
    Precision: TypeAlias = str
    TrainDevice: TypeAlias = str
    Monitor: TypeAlias = str
    Split: TypeAlias = str
else:
    from ..train.config import AUGMENTATIONS, DEVICES, MONITORS, OPTIMIZERS, PRECISIONS, SCHEDULES

    Optimizer = choice_type("Optimizer", OPTIMIZERS)
    Schedule = choice_type("Schedule", SCHEDULES)
    Augment = choice_type("Augment", AUGMENTATIONS)
    Precision = choice_type("Precision", PRECISIONS)
    TrainDevice = choice_type("TrainDevice", DEVICES)
    Monitor = choice_type("Monitor", MONITORS)
    Split = choice_type("Split", ("auto", "train", "val", "test"))

DATA = "Data"
TRANSFER = "Transfer learning"
OPTIMISATION = "Optimisation"
RUN = "Run control"
HARDWARE = "Hardware"


def _option(help: str, panel: str, *names: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=panel, show_default=False, **kwargs)


def train(
    spec: Annotated[
        Path | None,
        typer.Argument(help="A spec file (YAML); leave out with --resume.", show_default=False),
    ] = None,
    data: Annotated[
        str | None,
        _option(
            "digits (bundled), mnist, fashion-mnist, cifar10, "
            "cifar100, a class-folder directory or a data YAML.",
            DATA,
        ),
    ] = None,
    data_dir: Annotated[
        str | None,
        _option("Where dataset files are (default data/NAME for a standard set).", DATA),
    ] = None,
    download: Annotated[
        bool | None,
        _option(
            "Fetch the standard archives (checksummed) first.", DATA, "--download/--no-download"
        ),
    ] = None,
    resize: Annotated[
        bool | None,
        _option(
            "Resize images to the spec's input H×W (folder images on load).",
            DATA,
            "--resize/--no-resize",
        ),
    ] = None,
    channels: Annotated[
        int | None, _option("Convert images to this many channels (1 or 3).", DATA)
    ] = None,
    fraction: Annotated[
        float | None, _option("Use this fraction of each split (seeded).", DATA)
    ] = None,
    val_fraction: Annotated[
        float | None,
        _option(
            "Validation share of the training split when the data has no val split (0.1).", DATA
        ),
    ] = None,
    augment: Annotated[
        Augment | None, _option("auto: crop+flip for colour images only.", DATA)
    ] = None,
    weights: Annotated[
        str | None,
        _option("Start from these weights: a cnncalc checkpoint or a state_dict file.", TRANSFER),
    ] = None,
    freeze: Annotated[
        list[str] | None,
        _option("Freeze layers matching this path pattern (repeatable; layer1.*).", TRANSFER),
    ] = None,
    freeze_up_to: Annotated[
        str | None, _option("Freeze every layer up to and including this one.", TRANSFER)
    ] = None,
    new_head: Annotated[
        bool | None,
        _option("Replace the final linear layer for the data's classes.", TRANSFER, "--new-head"),
    ] = None,
    classes: Annotated[
        int | None, _option("The new head's outputs (implies --new-head).", TRANSFER)
    ] = None,
    backbone_lr_scale: Annotated[
        float | None, _option("Backbone learning rate as a share of --lr (1).", TRANSFER)
    ] = None,
    epochs: Annotated[
        int | None, _option("Passes over the training split (10).", OPTIMISATION, "--epochs", "-e")
    ] = None,
    batch: Annotated[
        int | None,
        _option("Images per step, all processes together (64).", OPTIMISATION, "--batch", "-b"),
    ] = None,
    optimizer: Annotated[
        Optimizer | None, _option("sgd (momentum 0.9), adam or adamw.", OPTIMISATION)
    ] = None,
    lr: Annotated[
        float | None, _option("Peak learning rate (sgd 0.05, adam 0.001).", OPTIMISATION)
    ] = None,
    momentum: Annotated[float | None, _option("SGD momentum (0.9).", OPTIMISATION)] = None,
    nesterov: Annotated[
        bool | None, _option("Nesterov momentum.", OPTIMISATION, "--nesterov/--no-nesterov")
    ] = None,
    weight_decay: Annotated[
        float | None, _option("Weight decay (adamw: decoupled).", OPTIMISATION)
    ] = None,
    schedule: Annotated[
        Schedule | None, _option("Learning-rate schedule (cosine).", OPTIMISATION)
    ] = None,
    warmup_epochs: Annotated[float | None, _option("Linear warm-up epochs.", OPTIMISATION)] = None,
    step_size: Annotated[int | None, _option("step: epochs between decays.", OPTIMISATION)] = None,
    gamma: Annotated[
        float | None, _option("step/plateau decay factor (0.1).", OPTIMISATION)
    ] = None,
    min_lr: Annotated[float | None, _option("cosine: the final rate (0).", OPTIMISATION)] = None,
    plateau_patience: Annotated[
        int | None, _option("plateau: epochs to wait (2).", OPTIMISATION)
    ] = None,
    label_smoothing: Annotated[float | None, _option("Label smoothing (0).", OPTIMISATION)] = None,
    clip_grad: Annotated[
        float | None, _option("Clip the gradient norm to this.", OPTIMISATION)
    ] = None,
    accumulate: Annotated[int | None, _option("Micro-batches per step.", OPTIMISATION)] = None,
    ema: Annotated[
        float | None, _option("EMA of the weights with this decay, e.g. 0.999.", OPTIMISATION)
    ] = None,
    early_stop: Annotated[
        int | None, _option("Stop after N epochs without improvement.", RUN)
    ] = None,
    monitor: Annotated[
        Monitor | None, _option("What best and early stop watch (val_acc).", RUN)
    ] = None,
    time_budget: Annotated[
        float | None, _option("Stop cleanly after this many minutes.", RUN)
    ] = None,
    max_steps: Annotated[int | None, _option("Stop after this many steps in all.", RUN)] = None,
    fast_dev_run: Annotated[
        bool | None,
        _option("One step and a validation pass; writes nothing.", RUN, "--fast-dev-run"),
    ] = None,
    overfit_batch: Annotated[
        int | None,
        _option("Train N steps on one batch and check it is learnt; writes nothing.", RUN),
    ] = None,
    seed: Annotated[int | None, _option("Seed of every random draw (0).", RUN)] = None,
    deterministic: Annotated[
        bool | None, _option("Deterministic algorithms (CUDA).", RUN, "--deterministic")
    ] = None,
    log_every: Annotated[int | None, _option("Steps between progress updates (50).", RUN)] = None,
    name: Annotated[
        str | None, _option("Run folder name (default: the spec's file name).", RUN)
    ] = None,
    runs_dir: Annotated[str | None, _option("Where run folders go (./runs).", RUN)] = None,
    plots: Annotated[
        bool | None,
        _option("Draw curves and confusion matrices (PNG).", RUN, "--plots/--no-plots"),
    ] = None,
    resume: Annotated[
        str | None,
        _option("Continue a run folder or checkpoint exactly (may raise --epochs).", RUN),
    ] = None,
    print_config: Annotated[
        bool, _option("Print the resolved configuration and exit.", RUN, "--print-config")
    ] = False,
    device: Annotated[
        TrainDevice | None, _option("auto: cuda, then mps, then cpu.", HARDWARE)
    ] = None,
    amp: Annotated[
        Precision | None,
        _option("CUDA mixed precision: bf16, or fp16 with a loss scaler.", HARDWARE),
    ] = None,
    channels_last: Annotated[
        bool | None, _option("channels_last memory format.", HARDWARE, "--channels-last")
    ] = None,
    compile: Annotated[
        bool | None, _option("torch.compile the model.", HARDWARE, "--compile")
    ] = None,
    pin_memory: Annotated[
        bool | None,
        _option("Pin the data in host memory (CUDA).", HARDWARE, "--pin-memory/--no-pin-memory"),
    ] = None,
    sync_bn: Annotated[
        bool | None, _option("SyncBatchNorm across processes.", HARDWARE, "--sync-bn")
    ] = None,
    threads: Annotated[int | None, _option("CPU threads for PyTorch.", HARDWARE)] = None,
    nproc: Annotated[int | None, _option("Run N processes with torchrun (DDP).", HARDWARE)] = None,
) -> None:
    """Train a spec on image data; writes runs/NAME/ (checkpoints, logs, curves, report).

    Settings come from the spec's train: section, overridden by these options. Ctrl-C saves
    a checkpoint and exits (status 130); --resume continues it exactly.

    Example: cnncalc train specs/lenet5.yaml --epochs 5
    """
    settings = {
        key: value_of(value) if hasattr(value, "value") else value
        for key, value in locals().items()
        if key not in ("spec", "resume", "print_config", "nproc") and value is not None
    }
    if "freeze" in settings:  # repeatable: one comma-separated setting
        settings["freeze"] = ",".join(settings["freeze"]) or None
        if settings["freeze"] is None:
            del settings["freeze"]
    exit_with(run_train(spec, resume, settings, print_config, nproc))


def run_train(
    spec: Path | None,
    resume: str | None,
    settings: dict[str, Any],
    print_config: bool,
    nproc: int | None,
) -> int:
    from .run import guarded, torch_missing

    missing = torch_missing()
    if missing:
        sys.stderr.write(missing.replace("cnncalc[torch]", "cnncalc[train]") + "\n")
        return 2

    def body() -> int:
        from ..train.api import resolve, train
        from ..train.config import config_text

        if print_config:
            config, origin, *_ = resolve(spec, resume, settings)
            sys.stdout.write(config_text(config, origin))
            return 0
        if nproc is not None:
            from ..train.distributed import launch

            resolve(spec, resume, settings)  # bad settings fail here, not in N processes
            return launch(nproc, torchrun_arguments(spec, resume, settings))
        result = train(spec, resume=resume, **settings)
        if result.stopped == "interrupted":
            return 130
        return 1 if result.config.overfit_batch and result.history[-1]["train_acc"] < 1 else 0

    return guarded(body)


def torchrun_arguments(
    spec: Path | None, resume: str | None, settings: dict[str, Any]
) -> list[str]:
    """The same ``cnncalc train`` options, for each process torchrun starts."""
    arguments = [str(spec)] if spec is not None else []
    if resume is not None:
        arguments += ["--resume", resume]
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            arguments.append(flag if value else "--no-" + flag[2:])
        else:
            arguments += [flag, str(value)]
    return arguments


def evaluate(
    checkpoint: Annotated[
        str, typer.Argument(help="A run folder (its best.pt) or a checkpoint.", show_default=False)
    ],
    split: Annotated[
        Split, typer.Option(help="auto: test when the data has one, else val.")
    ] = Split("auto"),
    data_dir: Annotated[str | None, typer.Option(help="Where the dataset files are.")] = None,
    device: Annotated[
        TrainDevice, typer.Option(help="auto: cuda, then mps, then cpu.")
    ] = TrainDevice("cpu"),
    explain: Annotated[
        bool, typer.Option("--explain", help="Work each metric from the counts.")
    ] = False,
    output_dir: Annotated[
        str | None,
        typer.Option(help="Where the metrics and pictures go (default RUN/evaluate-SPLIT)."),
    ] = None,
) -> None:
    """Metrics of a trained checkpoint on its data's test split (the spec travels inside).

    Top-1/top-5 accuracy, per-class precision, recall, F1 and support, macro/micro/weighted
    averages, the confusion matrix as PNG (counts and row-normalised).

    Example: cnncalc evaluate runs/lenet5 --explain
    """
    from .run import guarded

    def body() -> int:
        from ..train.api import evaluate as evaluate_checkpoint
        from ..train.metrics import explain_text, metrics_text

        result = evaluate_checkpoint(
            checkpoint,
            split=value_of(split),
            data_dir=data_dir,
            device=value_of(device),
            output_dir=output_dir,
        )
        sys.stdout.write(
            f"{result.checkpoint} on the {result.split} split (loss {result.loss:.4f})\n\n"
        )
        sys.stdout.write(metrics_text(result.metrics) + "\n")
        if explain:
            sys.stdout.write("\n" + explain_text(result.metrics) + "\n")
        if result.output_dir is not None:
            sys.stderr.write(f"wrote {result.output_dir}/ (metrics, confusion matrices)\n")
        return 0

    exit_with(guarded(body))


def predict(
    checkpoint: Annotated[
        str, typer.Argument(help="A run folder or a checkpoint.", show_default=False)
    ],
    images: Annotated[
        list[Path],
        typer.Argument(help="Image files (any format Pillow reads).", show_default=False),
    ],
    top: Annotated[int, typer.Option("--top", "-k", min=1, help="How many classes to show.")] = 3,
) -> None:
    """The most likely classes of each image, with their probabilities.

    Images are converted to the checkpoint's channels, resized to its input and normalised
    with its training statistics.

    Example: cnncalc predict runs/lenet5 digit.png --top 3
    """
    from .run import guarded

    def body() -> int:
        from ..train.api import predict as predict_images

        for prediction in predict_images(checkpoint, images, top):
            ranked = "  ".join(f"{name} {probability:.3f}" for name, probability in prediction.top)
            sys.stdout.write(f"{prediction.image}: {ranked}\n")
        return 0

    exit_with(guarded(body))


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(evaluate)
    app.command()(predict)
