"""The training configuration: defaults, then the spec's ``train:`` section, then the command
line, checked once and resolved into one frozen :class:`TrainConfig` (no torch here).

The resolved configuration is what the run folder saves (``config.yaml``), what the checkpoint
carries, and what ``--print-config`` prints, each value with where it came from.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..errors import CnncalcError, SpecError, did_you_mean

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle", "plateau")
AUGMENTATIONS = ("auto", "none", "crop-flip")
PRECISIONS = ("none", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda", "mps")
MONITORS = ("val_acc", "val_loss")

DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}
"""The learning rate when none is given: a common starting point for each optimizer."""
DEFAULT_WEIGHT_DECAY = {"sgd": 0.0, "adam": 0.0, "adamw": 0.01}
"""PyTorch's own defaults (AdamW's decoupled decay is 0.01)."""


class ConfigError(CnncalcError):
    """A training setting that cannot be used (exit status 2); ``key`` names the setting."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting, resolved (no ``None`` where a default applies)."""

    data: str = "digits"
    data_dir: str = ""
    download: bool = False
    epochs: int = 10
    batch: int = 64
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    step_size: int = 3
    gamma: float = 0.1
    min_lr: float = 0.0
    plateau_patience: int = 2
    label_smoothing: float = 0.0
    clip_grad: float = 0.0
    accumulate: int = 1
    ema: float = 0.0
    early_stop: int = 0
    monitor: str = "val_acc"
    time_budget: float = 0.0
    fraction: float = 1.0
    val_fraction: float = 0.1
    augment: str = "auto"
    resize: bool = False
    channels: int = 0
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    amp: str = "none"
    channels_last: bool = False
    compile: bool = False
    pin_memory: bool = True
    sync_bn: bool = False
    log_every: int = 50
    max_steps: int = 0
    fast_dev_run: bool = False
    overfit_batch: int = 0
    threads: int = 0
    name: str = ""
    runs_dir: str = "runs"
    plots: bool = True
    weights: str = ""
    freeze: str = ""
    freeze_up_to: str = ""
    new_head: bool = False
    classes: int = 0
    backbone_lr_scale: float = 1.0


HELP = {
    "data": "digits (bundled, offline), mnist, fashion-mnist, cifar10, cifar100, a folder "
    "of class folders, or a data YAML",
    "data_dir": "where dataset files are read (and --download writes); default data/NAME",
    "epochs": "passes over the training split",
    "batch": "images per optimizer step, over all processes together",
    "lr": "peak learning rate (default: 0.05 for sgd, 0.001 for adam/adamw)",
    "weight_decay": "L2 (sgd, adam) or decoupled (adamw) weight decay (default 0, adamw 0.01)",
    "warmup_epochs": "linear warm-up from 0 to lr over this many epochs (fractions allowed)",
    "step_size": "step schedule: epochs between decays by gamma (default epochs // 3)",
    "plateau_patience": "plateau schedule: epochs without improvement before lr × gamma",
    "clip_grad": "clip the gradients' total L2 norm to this (0: off)",
    "accumulate": "micro-batches whose gradients add up to one step",
    "ema": "keep an exponential moving average of the weights with this decay (0: off)",
    "early_stop": "stop after this many epochs without improvement of --monitor (0: off)",
    "time_budget": "stop cleanly (with a checkpoint) after this many minutes (0: none)",
    "fraction": "use this fraction of every split (seeded), for quick trials",
    "val_fraction": "validation share taken from the training split when it has none",
    "max_steps": "stop after this many optimizer steps in all (0: run every epoch)",
    "overfit_batch": "train this many steps on one batch and check it is learnt (0: off)",
    "threads": "CPU threads for PyTorch (0: its default)",
    "plots": "draw the curves and confusion matrices (PNG) in the run folder",
    "weights": "start from these weights (a cnncalc checkpoint or a PyTorch state_dict file)",
    "freeze": "freeze the layers matching these path patterns (comma-separated, wildcards)",
    "freeze_up_to": "freeze every layer from the input up to and including this one",
    "new_head": "replace the final linear layer with one of the data's class count",
    "classes": "the new head's outputs (implies new_head; must equal the data's classes)",
    "backbone_lr_scale": "the learning rate of every layer but the head, as a share of lr",
}


def defaults_for(config: TrainConfig, given: Collection[str]) -> TrainConfig:
    """Fill the values that depend on others and were not ``given`` (lr and weight decay by
    optimizer, the step schedule's step)."""
    changes: dict[str, Any] = {}
    if "lr" not in given:
        changes["lr"] = DEFAULT_LR.get(config.optimizer, 0.05)
    if "weight_decay" not in given:
        changes["weight_decay"] = DEFAULT_WEIGHT_DECAY.get(config.optimizer, 0.0)
    if "step_size" not in given:
        changes["step_size"] = max(1, config.epochs // 3)
    return replace(config, **changes)


FIELD_TYPES = {field.name: field.type for field in fields(TrainConfig)}


def resolve_config(
    spec_train: Mapping[str, Any] | None,
    overrides: Mapping[str, Any] | None = None,
    spec_file: str = "<spec>",
) -> tuple[TrainConfig, dict[str, str]]:
    """Defaults ← the spec's ``train:`` ← ``overrides`` (command-line values, ``None`` meaning
    not given); returns the checked configuration and where each value came from."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in (spec_train or {}).items():
        name = str(key).replace("-", "_")
        _check_key(name, spec_train, key, spec_file)
        values[name] = _coerce(name, value, _where_in_spec(spec_train, key, spec_file))
        origin[name] = "spec"
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        name = key.replace("-", "_")
        if name not in FIELD_TYPES:
            raise ConfigError(f"unknown training setting '{key}'")
        values[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
        origin[name] = "command line"
    config = defaults_for(TrainConfig(**values), values)
    try:
        check_config(config)
    except ConfigError as error:
        # a bad value written in the spec: say where
        if error.key and origin.get(error.key) == "spec" and spec_train is not None:
            written = next(k for k in spec_train if str(k).replace("-", "_") == error.key)
            raise ConfigError(
                f"{_where_in_spec(spec_train, written, spec_file)}: {error}", error.key
            ) from None
        raise
    return config, {name: origin.get(name, "default") for name in FIELD_TYPES}


def _where_in_spec(spec_train: Any, key: Any, spec_file: str) -> str:
    locs = getattr(spec_train, "value_locs", {})
    return f"{locs[key]}: train.{key}" if key in locs else f"{spec_file}: train.{key}"


def _check_key(name: str, spec_train: Any, key: Any, spec_file: str) -> None:
    if name in FIELD_TYPES:
        return
    locs = getattr(spec_train, "key_locs", {})
    raise SpecError(
        f"unknown training setting '{key}' in 'train'",
        locs.get(key),
        key=str(key),
        hint=did_you_mean(name, FIELD_TYPES) or f"train accepts: {', '.join(FIELD_TYPES)}",
    )


def _coerce(name: str, value: Any, where: str) -> Any:
    """``value`` as the field's type (YAML and the command line both give strings or numbers)."""
    kind = str(FIELD_TYPES[name])
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "on", "1"):
                return True
            if text in ("false", "no", "off", "0"):
                return False
            raise ValueError
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: '{value}' is not a valid {kind} for {name}") from None


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        hint = did_you_mean(value, choices)
        raise ConfigError(
            f"unknown {name.replace('_', ' ')} '{value}': choose from {', '.join(choices)}"
            + (f" ({hint})" if hint else ""),
            key=name,
        )


def check_config(config: TrainConfig) -> None:
    """Refuse settings no run can use, with the fix; called on every resolved config."""
    _choice("optimizer", config.optimizer, OPTIMIZERS)
    _choice("schedule", config.schedule, SCHEDULES)
    _choice("augment", config.augment, AUGMENTATIONS)
    _choice("amp", config.amp, PRECISIONS)
    _choice("device", config.device, DEVICES)
    _choice("monitor", config.monitor, MONITORS)
    if not math.isfinite(config.lr) or config.lr <= 0:
        raise ConfigError(
            f"learning rate {config.lr} cannot train: give a positive finite --lr "
            f"(e.g. {DEFAULT_LR[config.optimizer]} for {config.optimizer})"
        )
    _positive("epochs", config.epochs)
    _positive("step_size", config.step_size)
    _positive("batch", config.batch)
    _positive("accumulate", config.accumulate)
    _positive("log_every", config.log_every)
    for name in (
        "weight_decay",
        "momentum",
        "warmup_epochs",
        "min_lr",
        "clip_grad",
        "label_smoothing",
        "time_budget",
        "max_steps",
        "overfit_batch",
        "threads",
        "early_stop",
        "channels",
        "classes",
    ):
        value = getattr(config, name)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{name.replace('_', '-')} must be 0 or more, got {value}")
    if not 0 < config.fraction <= 1:
        raise ConfigError(f"--fraction must be in (0, 1], got {config.fraction}")
    if not 0 < config.val_fraction < 1:
        raise ConfigError(f"--val-fraction must be in (0, 1), got {config.val_fraction}")
    if not (math.isfinite(config.backbone_lr_scale) and config.backbone_lr_scale > 0):
        raise ConfigError(
            f"--backbone-lr-scale must be a positive share of --lr such as 0.1, got "
            f"{config.backbone_lr_scale}; to keep the backbone fixed, freeze it instead "
            "(--freeze-up-to LAYER)",
            key="backbone_lr_scale",
        )
    if not 0 < config.gamma <= 1:
        raise ConfigError(f"gamma must be in (0, 1], got {config.gamma}")
    if not 0 <= config.ema < 1:
        raise ConfigError(f"--ema is a decay in [0, 1) such as 0.999, got {config.ema}")
    if config.label_smoothing >= 1:
        raise ConfigError(f"--label-smoothing must be below 1, got {config.label_smoothing}")
    if config.nesterov and (config.optimizer != "sgd" or config.momentum == 0):
        raise ConfigError("--nesterov needs --optimizer sgd with a momentum above 0")


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def config_dict(config: TrainConfig) -> dict[str, Any]:
    """Plain types, for the checkpoint and the run folder."""
    return asdict(config)


def config_from_dict(values: Mapping[str, Any]) -> TrainConfig:
    """The configuration a checkpoint carries (keys this version does not know are ignored)."""
    return TrainConfig(**{key: value for key, value in values.items() if key in FIELD_TYPES})


def config_text(config: TrainConfig, origin: Mapping[str, str] | None = None) -> str:
    """YAML, one setting a line, with where each came from (``--print-config``)."""
    import yaml

    lines = []
    for key, value in config_dict(config).items():
        text = yaml.safe_dump({key: value}, default_flow_style=True, width=1000).strip()
        text = text.strip("{}")
        note = f"  # {origin[key]}" if origin and origin.get(key, "default") != "default" else ""
        lines.append(f"{text}{note}")
    return "\n".join(lines) + "\n"
