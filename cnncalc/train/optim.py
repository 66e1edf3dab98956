"""Optimizers and learning-rate schedules.

The learning rate is a pure function of the optimizer step (and, for reduce-on-plateau, of a
scale the epochs lower): nothing to save but the step and that scale, so a resumed run sets
exactly the rate the uninterrupted run would, and a resume that extends ``--epochs`` stretches
the schedule over the new total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ONECYCLE_RISE = 0.3
ONECYCLE_START_DIVISOR = 25.0
ONECYCLE_END_DIVISOR = 1e4
"""``torch.optim.lr_scheduler.OneCycleLR``'s defaults (Smith & Topin 2019): rise over 30% of
the steps from lr/25, then cosine annealing to lr/25/10⁴."""


def make_optimizer(config: Any, parameters: Any) -> Any:
    import torch

    if config.optimizer == "sgd":
        return torch.optim.SGD(
            parameters,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
    kind = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return kind(parameters, lr=config.lr, weight_decay=config.weight_decay)


@dataclass
class Plateau:
    """Reduce-on-plateau's state: the scale applied to the rate, and the patience count."""

    scale: float = 1.0
    best: float | None = None
    bad_epochs: int = 0

    def update(self, value: float, higher_is_better: bool, patience: int, gamma: float) -> None:
        improved = self.best is None or (
            value > self.best if higher_is_better else value < self.best
        )
        if improved:
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > patience:
            self.scale *= gamma
            self.bad_epochs = 0


def learning_rate(
    config: Any, step: int, steps_per_epoch: int, plateau_scale: float = 1.0
) -> float:
    """The rate at optimizer step ``step`` (0-based) under ``config``'s schedule and warm-up."""
    total = max(1, config.epochs * steps_per_epoch)
    if config.schedule == "onecycle":
        return _one_cycle(config.lr, step, total)
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.schedule == "step":
        return float(config.lr * config.gamma ** ((step // steps_per_epoch) // config.step_size))
    if config.schedule == "cosine":
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return float(
            config.min_lr + (config.lr - config.min_lr) * (1 + math.cos(math.pi * progress)) / 2
        )
    if config.schedule == "plateau":
        return float(config.lr * plateau_scale)
    return float(config.lr)


def _one_cycle(peak: float, step: int, total: int) -> float:
    """As ``OneCycleLR(anneal_strategy="cos")``: the rise ends at step 0.3·total − 1 and the
    fall at the last step, each a half cosine."""
    start = peak / ONECYCLE_START_DIVISOR
    end = start / ONECYCLE_END_DIVISOR
    rise = max(1.0, ONECYCLE_RISE * total - 1)
    if step <= rise:
        return _cosine_between(start, peak, step / rise)
    return _cosine_between(peak, end, min(1.0, (step - rise) / max(1.0, total - 1 - rise)))


def _cosine_between(first: float, last: float, progress: float) -> float:
    return last + (first - last) * (1 + math.cos(math.pi * progress)) / 2


def set_rate(optimizer: Any, rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = rate * group.get("lr_scale", 1.0)


class WeightAverage:
    """An exponential moving average of the weights (Polyak averaging, as timm's ModelEmaV3):
    ``ema ← ema + (1 − decay)(w − ema)`` after each step; buffers (BN statistics) copied."""

    def __init__(self, model: Any, decay: float) -> None:
        import copy

        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.decay = decay

    def update(self, model: Any) -> None:
        import torch

        with torch.no_grad():
            averaged = [p for p in self.model.parameters() if p.dtype.is_floating_point]
            current = [p for p in model.parameters() if p.dtype.is_floating_point]
            torch._foreach_lerp_(averaged, current, 1.0 - self.decay)
            for mine, theirs in zip(self.model.buffers(), model.buffers(), strict=True):
                mine.copy_(theirs)
