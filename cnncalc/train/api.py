"""The library API: :func:`train`, :func:`evaluate`, :func:`predict` (the CLI calls these).

>>> import cnncalc
>>> result = cnncalc.train("specs/lenet5.yaml", epochs=2, quiet=True)  # doctest: +SKIP
>>> result.best_accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from ..errors import SpecError
from . import checkpoint as checkpoints
from .config import ConfigError, TrainConfig, config_from_dict, config_text, resolve_config
from .data import Batches, Data, check_head, prepare_data, read_source, take
from .distributed import World, start, stop, world_from_environment
from .metrics import Metrics
from .runfolder import (
    new_run_dir,
    write_confusion,
    write_curves,
    write_logs,
    write_metrics,
    write_report,
    write_text,
)
from .trainer import Trainer, evaluate_split, guarantee, seed_everything, select_device

RESUMABLE = frozenset(
    (
        "epochs",
        "max_steps",
        "time_budget",
        "early_stop",
        "log_every",
        "device",
        "threads",
        "pin_memory",
        "data_dir",
        "compile",
        "plots",
    )
)
"""Settings a resume may change; the others would make it a different run."""


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path | None
    config: TrainConfig
    history: tuple[dict[str, Any], ...]
    metrics: Metrics | None
    """Validation metrics of the best epoch."""
    best_epoch: int
    stopped: str
    images_per_second: float
    guarantee: str
    notes: tuple[str, ...] = ()

    @property
    def best_accuracy(self) -> float:
        return self.metrics.accuracy if self.metrics else 0.0


@dataclass(frozen=True)
class EvaluationResult:
    checkpoint: Path
    split: str
    loss: float
    metrics: Metrics
    output_dir: Path | None


@dataclass(frozen=True)
class Prediction:
    image: str
    top: tuple[tuple[str, float], ...]


def _spec_source(spec: Any, state: Mapping[str, Any] | None) -> tuple[str, str]:
    """The spec's text and path: from the file given, else from the checkpoint."""
    from ..spec.yaml_source import read_spec_text

    if spec is not None:
        text = read_spec_text(spec)
        if state is not None:
            checkpoints.check_same_spec(state, text, os.fspath(spec))
        return text, os.fspath(spec)
    if state is None:
        raise ConfigError("give a spec to train, or --resume a run")
    return state["spec"]["text"], state["spec"].get("path") or "<checkpoint spec>"


def resolve(
    spec: Any = None, resume: Any = None, settings: Mapping[str, Any] | None = None
) -> tuple[TrainConfig, dict[str, str], str, str, dict[str, Any] | None]:
    """The configuration a run would use, with where each value came from."""
    from ..spec import parse_spec
    from ..spec.parser import attach_source

    state = checkpoints.read_state(resume) if resume is not None else None
    text, path = _spec_source(spec, state)
    loaded = parse_spec(text, path)
    if state is None:
        try:
            config, origin = resolve_config(loaded.train, settings, path)
        except SpecError as error:
            raise attach_source(error, loaded.lines) from None
        return config, origin, text, path, None
    saved = config_from_dict(state["config"])
    changed = {key: value for key, value in (settings or {}).items() if value is not None}
    refused = sorted(
        key
        for key, value in changed.items()
        if key not in RESUMABLE and getattr(saved, key) != value
    )
    if refused:
        raise ConfigError(
            f"--resume continues a run exactly, so it cannot change {', '.join(refused)}; "
            f"a resume may change {', '.join(sorted(RESUMABLE))} (start a new run otherwise)"
        )
    config, origin = resolve_config({}, {**vars_of(saved), **changed}, path)
    return config, origin, text, path, state


def vars_of(config: TrainConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(config)


def train(
    spec: str | os.PathLike[str] | None = None,
    *,
    resume: str | os.PathLike[str] | None = None,
    quiet: bool = False,
    stream: IO[str] | None = None,
    **settings: Any,
) -> TrainResult:
    """Train ``spec`` (a YAML file) with ``settings`` (any :class:`TrainConfig` field, e.g.
    ``epochs=5, lr=0.01``) over the spec's ``train:`` section, or continue ``resume`` (a run
    folder or a checkpoint); writes ``runs/NAME/`` and returns what it measured."""
    config, _, text, path, state = resolve(spec, resume, settings)
    world = world_from_environment()
    device = select_device(config.device, world)
    world = start(device.type)
    import torch

    threads = torch.get_num_threads()
    try:
        return _train(config, text, path, state, resume, world, device, quiet, stream)
    finally:
        torch.set_num_threads(threads)  # a library call leaves the process as it found it
        stop(world)


def _train(
    config: TrainConfig,
    text: str,
    path: str,
    state: dict[str, Any] | None,
    resume: Any,
    world: World,
    device: Any,
    quiet: bool,
    stream: IO[str] | None,
) -> TrainResult:
    import torch

    from ..engine import analyse
    from ..spec import parse_spec
    from ..torch.build import build

    out = stream or sys.stdout
    show = world.main and not quiet
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed + world.rank, config.deterministic)
    loaded = parse_spec(text, path)
    data = load_data(config, loaded, path, log=_log_to(out) if show else None)
    analysis = analyse(loaded, list(data.input_shape))
    transfer_lines: list[str] = []
    fresh_head = state is None and bool(config.new_head or config.classes)
    if fresh_head:  # a resumed run's spec text already has the new head
        replacement = new_head(loaded, analysis, config, data)
        if replacement is not None:  # its head's shape differs: no weights file fills it
            fresh_head = False
            text, loaded, analysis = replacement.text, replacement.spec, replacement.analysis
            transfer_lines.append(replacement.render())
    output = analysis.output_shape
    check_head(output[0] if len(output) == 1 else output, data.classes)
    model = build(analysis).to(device)
    transfer_lines += apply_transfer(model, config, state is None, fresh_head)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    checks = config.fast_dev_run or config.overfit_batch
    if config.overfit_batch:
        data, config = _one_batch(data, config)
    run_dir = _run_dir(config, loaded.name, path, resume, world, bool(checks))
    spec_record = {
        "text": text,
        "name": loaded.name,
        "path": path,
        "sha256": checkpoints.spec_hash(text),
    }
    if show:
        for note in data.notes:
            out.write(f"note: {note}\n")
        for line in transfer_lines:
            out.write(line + "\n")
        out.write(_header(analysis, data, config, device, world, run_dir, model))
    progress = Progress.for_terminal(config, out) if show else None
    trainer = Trainer(
        config,
        data,
        model,
        analysis,
        spec_record,
        device,
        world,
        run_dir,
        progress=progress,
    )
    if show:
        trainer.on_epoch = lambda row: _print_line(epoch_line(row, config), progress, out)
    if state is not None:
        trainer.restore(state)
    if run_dir is not None and world.main:
        write_text(run_dir / "config.yaml", config_text(config))
        checkpoints.remove_stale_temporaries(run_dir)
    if config.fast_dev_run:
        trainer.config = config = replace(config, max_steps=1)
    started = time.perf_counter()
    try:
        trainer.run()
        if config.fast_dev_run:  # the validation pass the one step skipped
            trainer.last_metrics = evaluate_split(
                trainer.eval_model(), trainer.val_batches, data.classes, world, None, trainer.micro
            ).metrics
    finally:
        if trainer.progress is not None:
            trainer.progress.close()
        if run_dir is not None and world.main and trainer.position.history:
            _finish(trainer, analysis, data, config, device, world, path)
    return _result(trainer, config, run_dir, device, world, data, out, show, started)


def new_head(loaded: Any, analysis: Any, config: TrainConfig, data: Data) -> Any:
    """``--new-head`` / ``--classes N``: the spec variant whose final linear layer gives one
    output per class (None when the head already does)."""
    from .transfer import replace_head

    classes = config.classes or len(data.classes)
    if classes != len(data.classes):
        raise ConfigError(
            f"--classes {classes}: the data '{config.data}' has {len(data.classes)} classes, "
            f"so the new head needs {len(data.classes)} outputs (--classes "
            f"{len(data.classes)}, or leave --classes out)"
        )
    output = analysis.output_shape
    if len(output) == 1 and int(output[0]) == classes:
        return None
    return replace_head(loaded, classes, list(data.input_shape))


def apply_transfer(model: Any, config: TrainConfig, load: bool, fresh_head: bool) -> list[str]:
    """``--weights`` (when ``load``: a resume restores its own), a ``--new-head`` that the
    weights must not fill, then ``--freeze`` / ``--freeze-up-to`` (before any DDP wrapping);
    the reports, as lines to print."""
    from .transfer import freeze, load_weights

    lines = []
    if config.weights and load:
        lines.append(load_weights(model, config.weights).render())
        if fresh_head:
            lines += _reset_head(model)
    patterns = [pattern.strip() for pattern in config.freeze.split(",") if pattern.strip()]
    if patterns or config.freeze_up_to:
        lines.append(freeze(model, patterns, up_to=config.freeze_up_to or None).render())
    return lines


def _reset_head(model: Any) -> list[str]:
    """A new head learns the new task from scratch, even when the old one had as many outputs
    (e.g. 10 ImageNet-subset classes → CIFAR-10's ten): its loaded weights are discarded."""
    from .transfer import _analysis_of, _head_row

    head = _head_row(_analysis_of(model), "the model").path
    module = model.get_submodule(head)
    if not hasattr(module, "reset_parameters"):
        return []
    module.reset_parameters()
    return [f"new head: {head} initialised afresh (the weights file's values are not used)"]


def _log_to(out: IO[str]) -> Any:
    def log(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    return log


def load_data(
    config: TrainConfig,
    loaded: Any,
    path: str,
    shape: Sequence[int] | None = None,
    log: Any = None,
) -> Data:
    """The run's data fitted to the spec's input (or to ``shape``, a checkpoint's)."""
    from ..engine import analyse

    spec_input = [int(dim) for dim in (shape or loaded.input)]
    if len(spec_input) != 3:
        raise ConfigError(f"{path}: training needs an image input [C, H, W], not {loaded.input}")

    def valid_from() -> Mapping[str, int]:
        return analyse(loaded, [spec_input[0], "H", "W"]).valid_from

    size = spec_input[1:] if config.resize else None
    splits = read_source(config.data, config.data_dir, config.download, size, log)
    return prepare_data(splits, spec_input, config, valid_from, config.data)


def _one_batch(data: Data, config: TrainConfig) -> tuple[Data, TrainConfig]:
    """The overfit check: one batch is the whole training and validation set."""
    import torch

    batch = take(data.train, torch.arange(min(config.batch, len(data.train))))
    checked = replace(
        config,
        epochs=config.overfit_batch,
        augment="none",
        schedule="none",
        warmup_epochs=0.0,
        early_stop=0,
        ema=0.0,
        val_fraction=config.val_fraction,
    )
    return replace(data, train=batch, val=batch), checked


def _run_dir(
    config: TrainConfig, name: str, path: str, resume: Any, world: World, checks: bool
) -> Path | None:
    if checks:
        return None
    if resume is not None:
        return checkpoints.resolve_checkpoint_path(resume).parent
    if not world.main:
        return None
    stem = config.name or Path(path).stem or name
    return new_run_dir(config.runs_dir, stem)


def _header(
    analysis: Any,
    data: Data,
    config: TrainConfig,
    device: Any,
    world: World,
    run_dir: Path | None,
    model: Any,
) -> str:
    totals = analysis.totals
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    trainable = totals.trainable_params - frozen  # frozen: --freeze / --freeze-up-to
    shape = "×".join(map(str, data.input_shape))
    processes = f" × {world.size} processes" if world.distributed else ""
    where = f"→ {run_dir}" if run_dir is not None else "(check only: nothing written)"
    return (
        f"{analysis.name}: {totals.params:,} parameters ({trainable:,} trainable), "
        f"{totals.macs:,} MACs per image at {shape}\n"
        f"data {config.data}: {len(data.train):,} training / {len(data.val):,} validation "
        f"images, {len(data.classes)} classes; {config.optimizer} lr {config.lr:g}, "
        f"{config.schedule} schedule, batch {config.batch}, {config.epochs} epoch(s) on "
        f"{device}{processes} {where}\n"
    )


def _print_line(text: str, progress: Progress | None, out: IO[str]) -> None:
    if progress is not None:
        progress.line(text)
    else:
        print(text, file=out, flush=True)


def epoch_line(row: Mapping[str, Any], config: TrainConfig) -> str:
    """One line per epoch (what a log file or CI shows)."""
    return (
        f"epoch {row['epoch']:>3}/{config.epochs}  train loss {row['train_loss']:.4f} "
        f"acc {row['train_acc']:.4f}  val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}  "
        f"lr {row['lr']:.3g}  {row['images_per_second']:,.0f} img/s  {row['seconds']:.1f} s"
    )


def _finish(
    trainer: Trainer,
    analysis: Any,
    data: Data,
    config: TrainConfig,
    device: Any,
    world: World,
    path: str,
) -> None:
    run_dir = trainer.run_dir
    assert run_dir is not None
    history = trainer.position.history
    write_logs(run_dir, history)
    metrics = trainer.best_metrics or trainer.last_metrics
    if metrics is not None:
        write_metrics(run_dir, metrics)
    if config.plots:
        write_curves(run_dir, history)
        if metrics is not None:
            write_confusion(run_dir, metrics)
    summary = _summary(trainer, analysis, data, config, device, world, path)
    write_report(run_dir, summary, metrics, pictures=config.plots)


def _summary(
    trainer: Trainer,
    analysis: Any,
    data: Data,
    config: TrainConfig,
    device: Any,
    world: World,
    path: str,
) -> dict[str, Any]:
    import torch

    from ..engine.memory import human_bytes, memory_report

    history = trainer.position.history
    seen = sum(row["images_per_second"] * row["seconds"] for row in history)
    seconds = sum(row["seconds"] for row in history)
    rate = seen / seconds if seconds else 0.0
    optimizer = "momentum" if config.optimizer == "sgd" and config.momentum else config.optimizer
    estimate = memory_report(analysis, batch=trainer.micro, optimizer=optimizer).training.total
    if device.type == "cuda":
        measured = (
            f"{human_bytes(torch.cuda.max_memory_allocated(device))} peak allocated on the GPU"
        )
    else:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        measured = f"{human_bytes(peak)} peak resident (the whole process, PyTorch included)"
    metrics = trainer.best_metrics or trainer.last_metrics
    return {
        "spec_name": analysis.name,
        "spec_path": path,
        "data": config.data,
        "train_images": len(data.train),
        "val_images": len(data.val),
        "input": "×".join(map(str, data.input_shape)),
        "device": f"{device}" + (f" × {world.size} processes" if world.distributed else ""),
        "stopped": trainer.stopped,
        "params": analysis.totals.params,
        "trainable": analysis.totals.trainable_params,
        "measured_params": sum(p.numel() for p in trainer.model.parameters()),
        "macs": analysis.totals.macs,
        "achieved_gmacs": 3 * analysis.totals.macs * rate / 1e9,
        "memory_estimate": f"{human_bytes(estimate)} at batch {trainer.micro} ({optimizer})",
        "memory_measured": measured,
        "images_per_second": rate,
        "best_accuracy": metrics.accuracy if metrics else 0.0,
        "best_epoch": trainer.position.best_epoch,
        "seconds": seconds,
        "epochs": len(history),
        "guarantee": guarantee(device, config.deterministic, world),
    }


def _result(
    trainer: Trainer,
    config: TrainConfig,
    run_dir: Path | None,
    device: Any,
    world: World,
    data: Data,
    out: IO[str],
    show: bool,
    started: float,
) -> TrainResult:
    history = tuple(trainer.position.history)
    seen = sum(row["images_per_second"] * row["seconds"] for row in history)
    seconds = sum(row["seconds"] for row in history)
    rate = seen / seconds if seconds else 0.0  # the rows count every process's images
    metrics = trainer.best_metrics or trainer.last_metrics
    stopped = trainer.stopped
    if config.fast_dev_run:
        stopped = "fast dev run"
    result = TrainResult(
        run_dir,
        config,
        history,
        metrics,
        trainer.position.best_epoch,
        stopped,
        rate,
        guarantee(device, config.deterministic, world),
        data.notes,
    )
    if show:
        out.write(result_text(result, time.perf_counter() - started) + "\n")
    return result


def result_text(result: TrainResult, seconds: float) -> str:
    config = result.config
    if config.overfit_batch:
        last = result.history[-1] if result.history else {}
        first = result.history[0] if result.history else {}
        verdict = "passed" if last.get("train_acc", 0) == 1.0 else "FAILED"
        return (
            f"overfit check {verdict}: one batch of {config.batch}, {len(result.history)} steps, "
            f"loss {first.get('train_loss', 0):.4f} → {last.get('train_loss', 0):.4f}, "
            f"accuracy {last.get('train_acc', 0):.4f} (a model that cannot learn one batch "
            "has a bug, not a tuning problem)"
        )
    if config.fast_dev_run:
        return (
            f"fast dev run ok: one step and a validation pass in {seconds:.1f} s; nothing written"
        )
    where = f"; run folder {result.run_dir}" if result.run_dir is not None else ""
    resume = (
        f"; continue with: cnncalc train --resume {result.run_dir}"
        if result.run_dir is not None and result.stopped in ("interrupted", "time budget")
        else ""
    )
    if not result.history:
        return f"{result.stopped} before the first epoch ended{where}{resume}"
    accuracy = f"best val acc {result.best_accuracy:.4f} (epoch {result.best_epoch})"
    rate = f"{result.images_per_second:,.0f} img/s"
    return f"{result.stopped}: {accuracy}, {rate}{where}{resume}"


class Progress:
    """rich's progress bar on a terminal: loss, accuracy, images/s, ETA (updated only at the
    logging interval, when the loop reads its device counters anyway)."""

    def __init__(self, config: TrainConfig, out: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self.config = config
        self.bar = RichProgress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            TextColumn(
                "loss {task.fields[loss]:.4f} acc {task.fields[accuracy]:.3f} "
                "{task.fields[rate]:,.0f} img/s"
            ),
            TimeRemainingColumn(),
            console=Console(file=out),
            transient=True,
        )
        self.task: Any = None
        self.epoch = ""
        self.bar.start()

    @classmethod
    def for_terminal(cls, config: TrainConfig, out: IO[str]) -> Progress | None:
        return cls(config, out) if out.isatty() else None

    def update(
        self, position: Any, total: int, loss: float, accuracy: float, images_per_second: float
    ) -> None:
        epoch = f"{position.epoch + 1}/{self.config.epochs}"
        if self.task is None or self.epoch != epoch:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.epoch = epoch
            self.task = self.bar.add_task(
                "train",
                total=total,
                epoch=epoch,
                loss=loss,
                accuracy=accuracy,
                rate=images_per_second,
            )
        self.bar.update(
            self.task,
            completed=position.micro_batch,
            loss=loss,
            accuracy=accuracy,
            rate=images_per_second,
        )

    def line(self, text: str) -> None:
        """A line above the bar (the epoch summary)."""
        self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self.bar.stop()


# -- evaluate and predict ---------------------------------------------------------------


def evaluate(
    checkpoint: str | os.PathLike[str],
    *,
    split: str = "auto",
    data: str | None = None,
    data_dir: str | None = None,
    device: str = "cpu",
    output_dir: str | os.PathLike[str] | None = None,
    write: bool = True,
) -> EvaluationResult:
    """Metrics of a checkpoint (or a run folder's best) on a split of its data: the test split
    when the data has one (``auto``), else validation. Writes the metrics and confusion
    matrices beside the checkpoint (``evaluate-SPLIT/``) unless ``write`` is False."""
    import torch

    from ..spec import parse_spec

    loaded = checkpoints.load_checkpoint(checkpoint)
    saved = config_from_dict(loaded.state.get("config", {}))
    config = replace(
        saved,
        fraction=1.0,
        data=data or saved.data,
        data_dir=data_dir or saved.data_dir,
        download=False,  # evaluating never fetches anything
    )
    world = world_from_environment()
    target = select_device(device, world)
    world = start(target.type)
    try:
        spec = parse_spec(loaded.spec_text, "<checkpoint spec>")
        prepared = load_data(
            replace(config, resize=True), spec, str(loaded.path), loaded.input_shape
        )
        chosen = split if split != "auto" else ("test" if prepared.test is not None else "val")
        images = {"train": prepared.train, "val": prepared.val, "test": prepared.test}.get(chosen)
        if images is None:
            raise ConfigError(f"the data '{config.data}' has no {chosen} split: use --split val")
        if images.classes != loaded.classes:
            raise ConfigError(
                f"the checkpoint's classes ({', '.join(loaded.classes[:5])}…) differ from the "
                f"data's ({', '.join(images.classes[:5])}…)"
            )
        batches = Batches(images, loaded.mean, loaded.std, target)
        model = loaded.model.to(target)
        evaluation = evaluate_split(
            model, batches, loaded.classes, world, torch.nn.CrossEntropyLoss()
        )
    finally:
        stop(world)
    folder = None
    if write and world.main:
        folder = Path(output_dir) if output_dir else loaded.path.parent / f"evaluate-{chosen}"
        folder.mkdir(parents=True, exist_ok=True)
        write_metrics(folder, evaluation.metrics)
        write_confusion(folder, evaluation.metrics)
    return EvaluationResult(loaded.path, chosen, evaluation.loss, evaluation.metrics, folder)


def predict(
    checkpoint: str | os.PathLike[str], images: Sequence[str | os.PathLike[str]], top: int = 5
) -> list[Prediction]:
    """The ``top`` classes of each image file with their softmax probabilities."""
    import torch

    loaded = checkpoints.load_checkpoint(checkpoint)
    batch = torch.stack([_image_tensor(path, loaded.input_shape) for path in images])
    mean = torch.tensor(loaded.mean).view(1, -1, 1, 1)
    std = torch.tensor(loaded.std).view(1, -1, 1, 1)
    with torch.inference_mode():
        probabilities = torch.softmax(loaded.model((batch - mean) / std).float(), dim=1)
    count = min(top, len(loaded.classes))
    values, indices = probabilities.topk(count, dim=1)
    return [
        Prediction(
            os.fspath(path),
            tuple(
                (loaded.classes[int(i)], float(v))
                for v, i in zip(row_values, row_indices, strict=True)
            ),
        )
        for path, row_values, row_indices in zip(images, values, indices, strict=True)
    ]


def _image_tensor(path: str | os.PathLike[str], shape: Sequence[int]) -> Any:
    import torch
    from PIL import Image, UnidentifiedImageError

    channels, height, width = shape
    try:
        with Image.open(path) as image:
            picture = image.convert("L" if channels == 1 else "RGB")
    except FileNotFoundError:
        raise ConfigError(f"no image at {path}") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ConfigError(f"{path} is not an image Pillow can read ({error})") from None
    picture = picture.resize((width, height), Image.Resampling.BILINEAR)
    values = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8)
    return values.view(height, width, channels).permute(2, 0, 1).float() / 255.0
