"""The training loop: one code path for one process and for N under torchrun.

No host synchronisation per step: losses, correct counts and the first non-finite step are
kept in device tensors and read only every ``log_every`` steps and at the end of an epoch.
The state a checkpoint needs (position in the epoch, every RNG, the plateau and early-stop
counters, the epoch's running sums) lives in :class:`Position`, so a resumed run continues
bitwise where the saved one stopped (on CPU).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CnncalcError
from . import checkpoint as checkpoints
from .config import TrainConfig, config_dict
from .contract import CHECKPOINT_FORMAT
from .data import Batches, Data, augmentation_for
from .distributed import World, sum_across
from .metrics import Metrics, metrics_from_confusion
from .optim import Plateau, WeightAverage, learning_rate, make_optimizer, set_rate
from .transfer import train_mode


class TrainingError(CnncalcError):
    """Training that had to stop (a non-finite loss): the message names the step (exit 2)."""


@dataclass
class Position:
    """Where the run is, and every counter a resume needs (plain types)."""

    epoch: int = 0
    micro_batch: int = 0
    step: int = 0
    best: float | None = None
    best_epoch: int = 0
    stale_epochs: int = 0
    best_counts: dict[str, Any] = field(default_factory=dict)
    """The best epoch's confusion matrix and top-5 count: its metrics survive a resume."""
    plateau: dict[str, Any] = field(default_factory=lambda: asdict(Plateau()))
    epoch_sums: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0


@dataclass(frozen=True)
class Evaluation:
    loss: float
    metrics: Metrics


def select_device(name: str, world: World) -> Any:
    """``auto``: CUDA, then Apple's MPS, then the CPU."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise CnncalcError("--device cuda: CUDA is not available to this PyTorch")
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise CnncalcError("--device mps: Apple's MPS is not available to this PyTorch")
    return torch.device(name)


def seed_everything(seed: int, deterministic: bool) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)  # every device's generator
    with contextlib.suppress(ImportError):
        import numpy

        numpy.random.seed(seed % 2**32)
    if deterministic:
        # cuBLAS needs a fixed workspace for deterministic results (CUDA docs, "Reproducibility")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def guarantee(device: Any, deterministic: bool, world: World) -> str:
    """Which reproducibility guarantee holds for this run, in words for the report."""
    if device.type == "cpu" and not world.distributed:
        return (
            "bitwise: same seed, settings, PyTorch build and thread count on this CPU give the "
            "same weights, and a resumed run equals an uninterrupted one"
        )
    if device.type == "cpu":
        return (
            "repeatable on the same machine and process count (gloo sums in a fixed order); "
            "not bitwise equal to a different process count"
        )
    if deterministic:
        return "deterministic algorithms (torch.use_deterministic_algorithms) on this GPU type"
    return "none: seeded, but GPU kernels may sum in a different order each run (--deterministic)"


def rng_state(generator: Any) -> dict[str, Any]:
    import torch

    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "augment": generator.get_state(),
        "python": _python_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    with contextlib.suppress(ImportError):
        import numpy

        kind, keys, position, has_gauss, cached = numpy.random.get_state(legacy=True)
        state["numpy"] = {
            "keys": torch.tensor(numpy.asarray(keys).astype("int64")),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
            "kind": str(kind),
        }
    return state


def _python_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    return {"version": version, "internal": list(internal), "gauss": gauss}


def restore_rng(state: Mapping[str, Any], generator: Any) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    generator.set_state(state["augment"])
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "numpy" in state:
        with contextlib.suppress(ImportError):
            import numpy

            saved = state["numpy"]
            numpy.random.set_state(
                (
                    saved["kind"],
                    saved["keys"].numpy().astype("uint32"),
                    saved["position"],
                    saved["has_gauss"],
                    saved["cached"],
                )
            )


class Interrupt:
    """Ctrl-C asks the loop to stop at the next step boundary and save; a second one aborts."""

    def __init__(self) -> None:
        self.asked = False
        self.previous: Any = None

    def __enter__(self) -> Interrupt:
        import threading

        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        sys.stderr.write("\ninterrupted: finishing this step and saving (Ctrl-C again aborts)\n")

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


@dataclass
class Trainer:
    """Everything one run holds; :meth:`run` trains until an end condition."""

    config: TrainConfig
    data: Data
    model: Any
    analysis: Any
    spec: dict[str, Any]
    device: Any
    world: World
    run_dir: Path | None
    on_epoch: Callable[[dict[str, Any]], None] | None = None
    progress: Any = None
    position: Position = field(default_factory=Position)
    stopped: str = "completed"
    best_metrics: Metrics | None = None
    last_metrics: Metrics | None = None

    def __post_init__(self) -> None:
        import torch

        config = self.config
        self.network = self.model
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            if config.sync_bn:
                self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.network = DistributedDataParallel(self.model, device_ids=ids)
        self.forward = torch.compile(self.network) if config.compile else self.network
        self.optimizer = make_optimizer(config, self.parameter_groups())
        for group in self.optimizer.param_groups:
            group.setdefault("lr_scale", 1.0)
        self.criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        cuda = self.device.type == "cuda"
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=cuda and config.amp == "fp16")
        self.ema = WeightAverage(self.model, config.ema) if config.ema else None
        self.generator = torch.Generator().manual_seed(config.seed * 1_000_003 + self.world.rank)
        pin = config.pin_memory and cuda
        self.train_batches = Batches(
            self.data.train, self.data.mean, self.data.std, self.device, pin, config.channels_last
        )
        self.val_batches = Batches(
            self.data.val, self.data.mean, self.data.std, self.device, pin, config.channels_last
        )
        self.augment = augmentation_for(config, self.data.input_shape[0])
        micro = config.batch // (self.world.size * config.accumulate)
        if micro * self.world.size * config.accumulate != config.batch:
            raise CnncalcError(
                f"--batch {config.batch} must be a multiple of the processes ({self.world.size}) "
                f"× --accumulate ({config.accumulate})"
            )
        self.micro = micro
        from torch.utils.data import DistributedSampler

        # the same sampler for 1 or N processes: a seeded permutation per epoch (set_epoch),
        # shard r of N taking every N-th index; drop_last so every process has equal batches
        self.sampler: Any = DistributedSampler(
            range(len(self.data.train)),  # type: ignore[arg-type]  # only its length is used
            num_replicas=self.world.size,
            rank=self.world.rank,
            shuffle=True,
            seed=config.seed,
            drop_last=self.world.distributed,
        )
        per_process = len(self.sampler)
        self.micro_batches = math.ceil(per_process / micro)
        self.steps_per_epoch = math.ceil(self.micro_batches / config.accumulate)

    def parameter_groups(self) -> Any:
        """The trainable parameters; with ``--backbone-lr-scale``, two groups whose
        ``lr_scale`` the schedule multiplies: the backbone's and the head's (1)."""
        if self.config.backbone_lr_scale == 1:
            return [p for p in self.model.parameters() if p.requires_grad]
        from .transfer import parameter_groups

        groups = parameter_groups(self.model, self.config.lr, self.config.backbone_lr_scale)
        for group in groups:
            group["lr_scale"] = group["lr"] / self.config.lr
        return groups

    # -- checkpoints -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        config = self.config
        return {
            "format": CHECKPOINT_FORMAT,
            "versions": checkpoints.versions(),
            "spec": self.spec,
            "input_shape": list(self.data.input_shape),
            "classes": list(self.data.classes),
            "normalisation": {"mean": list(self.data.mean), "std": list(self.data.std)},
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else None,
            "position": asdict(self.position),
            "rng": rng_state(self.generator),
            "config": config_dict(config),
            "world_size": self.world.size,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema and state.get("ema"):
            self.ema.model.load_state_dict(state["ema"])
        self.position = Position(**state["position"])
        restore_rng(state["rng"], self.generator)
        counts = self.position.best_counts
        if counts:
            self.best_metrics = metrics_from_confusion(
                counts["confusion"], self.data.classes, counts["top5"]
            )

    def save(self, name: str) -> None:
        if self.run_dir is not None and self.world.main:
            checkpoints.save_checkpoint(self.state(), self.run_dir / name)

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        start = time.perf_counter() - self.position.elapsed
        with Interrupt() as interrupt:
            while self.position.epoch < self.config.epochs:
                finished = self.train_epoch(interrupt, start)
                self.position.elapsed = time.perf_counter() - start
                if not finished:
                    self.save(checkpoints.LAST)
                    return
                if self.end_epoch(start):
                    return

    def micro_batch_indices(self) -> Iterator[tuple[int, Any]]:
        import torch

        self.sampler.set_epoch(self.position.epoch)
        order = torch.tensor(list(self.sampler), dtype=torch.int64)
        for index in range(self.position.micro_batch, self.micro_batches):
            yield index, order[index * self.micro : (index + 1) * self.micro]

    def train_epoch(self, interrupt: Interrupt, start: float) -> bool:
        """One epoch (or its rest, after a resume); False when the run must stop mid-way."""
        import torch

        config, position = self.config, self.position
        train_mode(self.model)  # frozen batchnorm stays in eval mode (its statistics kept)
        sums = position.epoch_sums or {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        first_bad = torch.full((), -1, dtype=torch.int64, device=self.device)
        seen = 0
        epoch_start = time.perf_counter()
        for index, indices in self.micro_batch_indices():
            images, labels = self.train_batches.batch(indices, self.augment, self.generator)
            boundary = (index + 1) % config.accumulate == 0 or index + 1 == self.micro_batches
            loss, logits = self.forward_backward(images, labels, sync=boundary)
            loss_sum += loss.detach().double() * len(labels)
            correct += (logits.detach().argmax(1) == labels).sum()
            bad = ~torch.isfinite(loss.detach()) & (first_bad < 0)
            first_bad = torch.where(bad, position.step, first_bad)
            seen += len(labels)
            position.micro_batch = index + 1
            if not boundary:
                continue
            self.optimizer_step()
            position.step += 1
            logging = position.step % config.log_every == 0 or index + 1 == self.micro_batches
            if logging:
                self.check_finite(first_bad)
                self.report_progress(sums, loss_sum, correct, seen, epoch_start)
            if self.must_stop(interrupt, start, logging):
                self.check_finite(first_bad)
                position.epoch_sums = self.epoch_sums(sums, loss_sum, correct, seen, epoch_start)
                return False
        self.check_finite(first_bad)
        position.epoch_sums = self.epoch_sums(sums, loss_sum, correct, seen, epoch_start)
        return True

    def forward_backward(self, images: Any, labels: Any, sync: bool) -> tuple[Any, Any]:
        import torch

        # DDP all-reduces gradients on the micro-batch that ends an accumulation only
        quiet = (
            self.network.no_sync()
            if self.world.distributed and not sync
            else contextlib.nullcontext()
        )
        autocast = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with quiet:
            with autocast:
                logits = self.forward(images)
                loss = self.criterion(logits.float(), labels)
            self.scaler.scale(loss / self.config.accumulate).backward()
        return loss, logits

    def optimizer_step(self) -> None:
        import torch

        config, position = self.config, self.position
        rate = learning_rate(config, position.step, self.steps_per_epoch, position.plateau["scale"])
        set_rate(self.optimizer, rate)
        if config.clip_grad:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema:
            self.ema.update(self.model)

    def check_finite(self, first_bad: Any) -> None:
        step = int(first_bad)
        if step >= 0:
            kept = (
                f"; the last good checkpoint is kept in {self.run_dir}"
                if self.run_dir is not None and (self.run_dir / checkpoints.LAST).exists()
                else ""
            )
            self.stopped = "non-finite loss"
            raise TrainingError(
                f"the loss became NaN or infinite at step {step + 1} (epoch "
                f"{self.position.epoch + 1}): lower --lr (now {self.config.lr}), add "
                f"--clip-grad 1.0 or a --warmup-epochs, or check the data{kept}"
            )

    def must_stop(self, interrupt: Interrupt, start: float, logging: bool) -> bool:
        """Whether to stop after this step. A clock or a signal can differ between processes,
        so N processes decide together, at logging intervals (one all-reduce there); alone,
        after any step."""
        config = self.config
        if config.max_steps and self.position.step >= config.max_steps:
            self.stopped = "max steps"  # the same step on every process
            return True
        if self.world.distributed and not logging:
            return False
        over_time = (
            bool(config.time_budget) and time.perf_counter() - start > config.time_budget * 60
        )
        interrupted, over_time = self.agree(interrupt.asked, over_time)
        if interrupted:
            self.stopped = "interrupted"
        elif over_time:
            self.stopped = "time budget"
        return interrupted or over_time

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag true on any process is true on all (a max all-reduce; alone, as given)."""
        if not self.world.distributed:
            return flags
        import torch
        import torch.distributed as dist

        values = torch.tensor([int(flag) for flag in flags], device=self.device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return tuple(bool(value) for value in values.tolist())

    def epoch_sums(
        self, sums: dict[str, float], loss_sum: Any, correct: Any, seen: int, epoch_start: float
    ) -> dict[str, float]:
        return {
            "loss": sums["loss"] + float(loss_sum),
            "correct": int(sums["correct"]) + int(correct),
            "seen": int(sums["seen"]) + seen,
            "seconds": sums["seconds"] + time.perf_counter() - epoch_start,
        }

    def report_progress(
        self, sums: dict[str, float], loss_sum: Any, correct: Any, seen: int, epoch_start: float
    ) -> None:
        if self.progress is None:
            return
        now = self.epoch_sums(sums, loss_sum, correct, seen, epoch_start)
        images = now["seen"] * self.world.size
        self.progress.update(
            self.position,
            self.micro_batches,
            loss=now["loss"] / max(1, now["seen"]),
            accuracy=now["correct"] / max(1, now["seen"]),
            images_per_second=images / max(1e-9, now["seconds"]),
        )

    def end_epoch(self, start: float) -> bool:
        """Validate, log, checkpoint; True when the run ends here."""
        config, position = self.config, self.position
        sums = self.sum_train(position.epoch_sums)
        evaluation = evaluate_split(
            self.eval_model(),
            self.val_batches,
            self.data.classes,
            self.world,
            self.criterion,
            self.micro,
        )
        self.last_metrics = evaluation.metrics
        value = evaluation.metrics.accuracy if config.monitor == "val_acc" else evaluation.loss
        higher = config.monitor == "val_acc"
        improved = position.best is None or (
            value > position.best if higher else value < position.best
        )
        position.epoch += 1
        row = {
            "epoch": position.epoch,
            "step": position.step,
            # the head's rate (--backbone-lr-scale scales the other groups)
            "lr": self.optimizer.param_groups[-1]["lr"],
            "train_loss": sums["loss"] / max(1, sums["seen"]),
            "train_acc": sums["correct"] / max(1, sums["seen"]),
            "val_loss": evaluation.loss,
            "val_acc": evaluation.metrics.accuracy,
            "val_top5": evaluation.metrics.top5,
            "images_per_second": sums["seen"] / max(1e-9, sums["seconds"]),
            "seconds": sums["seconds"],
        }
        position.history.append(row)
        position.micro_batch, position.epoch_sums = 0, {}
        if config.schedule == "plateau":
            plateau = Plateau(**position.plateau)
            plateau.update(value, higher, config.plateau_patience, config.gamma)
            position.plateau = asdict(plateau)
        if improved:
            position.best, position.best_epoch, position.stale_epochs = value, position.epoch, 0
            self.best_metrics = evaluation.metrics
            position.best_counts = {
                "confusion": [list(row) for row in evaluation.metrics.confusion],
                "top5": evaluation.metrics.top5_correct,
            }
        else:
            position.stale_epochs += 1
        position.elapsed = time.perf_counter() - start
        self.save(checkpoints.LAST)
        if improved:
            self.save(checkpoints.BEST)
        if self.on_epoch is not None and self.world.main:
            self.on_epoch(row)
        if config.early_stop and position.stale_epochs >= config.early_stop:
            self.stopped = (
                f"early stop ({config.monitor} not better for {config.early_stop} epochs)"
            )
            return True
        if config.time_budget and self.agree(position.elapsed > config.time_budget * 60)[0]:
            self.stopped = "time budget"
            return True
        return bool(config.max_steps and position.step >= config.max_steps)

    def sum_train(self, sums: Mapping[str, float]) -> dict[str, float]:
        """The epoch's training sums over every process (one all-reduce per epoch)."""
        import torch

        if not self.world.distributed:
            return dict(sums)
        totals = torch.tensor(
            [sums["loss"], sums["correct"], sums["seen"]], dtype=torch.float64, device=self.device
        )
        sum_across(totals, self.world)
        return {
            "loss": float(totals[0]),
            "correct": float(totals[1]),
            "seen": float(totals[2]),
            "seconds": sums["seconds"],
        }

    def eval_model(self) -> Any:
        return self.ema.model if self.ema else self.model


def evaluate_split(
    model: Any,
    batches: Batches,
    classes: tuple[str, ...],
    world: World,
    criterion: Any = None,
    batch: int = 256,
) -> Evaluation:
    """Exact metrics over a split: process r takes images r, r + N, … (no padding, no
    duplicates), and the confusion counts, top-5 count and loss sum are added over processes."""
    import torch

    count = len(classes)
    device = batches.device
    confusion = torch.zeros(count * count, dtype=torch.int64, device=device)
    top5 = torch.zeros((), dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    mine = torch.arange(world.rank, len(batches.labels), world.size)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(mine), batch):
            images, labels = batches.batch(mine[start : start + batch])
            logits = model(images).float()
            predicted = logits.argmax(1)
            confusion += torch.bincount(labels * count + predicted, minlength=count * count)
            if count > 5:
                best5 = logits.topk(5, dim=1).indices
                top5 += (best5 == labels[:, None]).any(1).sum()
            if criterion is not None:
                loss_sum += torch.nn.functional.cross_entropy(
                    logits, labels, reduction="sum"
                ).double()
    model.train(was_training)
    totals = torch.cat([confusion.double(), top5.double().view(1), loss_sum.view(1)])
    sum_across(totals, world)
    values = totals.cpu()
    matrix = values[: count * count].round().long().view(count, count).tolist()
    metrics = metrics_from_confusion(matrix, classes, int(values[count * count]))
    return Evaluation(float(values[-1]) / max(1, metrics.total), metrics)
