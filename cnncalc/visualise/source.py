"""Where the model comes from: a spec (fresh, seeded weights) or a ``cnncalc train`` checkpoint.

A checkpoint (:mod:`cnncalc.train.contract`) carries its spec's text; it is read, and its model
rebuilt, by the training package's reader (:mod:`cnncalc.train.checkpoint`), so the format has
one reader. A run folder stands for its ``best.pt`` (else ``last.pt``). A spec given beside a
checkpoint must be the very spec it was trained from (same SHA-256 of the text).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import Analysis, analyse
from ..errors import CnncalcError
from ..spec import load_spec, parse_spec
from ..spec.yaml_source import read_spec_text

SPEC_SUFFIXES = (".yaml", ".yml")


class VisualiseError(CnncalcError):
    """A visualisation that cannot be made as asked: the message says why and how to fix it."""


@dataclass(frozen=True)
class Normalisation:
    """Per-channel ``(x − mean) / std`` applied to images scaled to [0, 1]."""

    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class Source:
    """A model ready to explain: the ``nn.Module`` (eval mode), its classes, the normalisation
    its inputs need, and the engine's analysis of its spec (shapes, receptive fields)."""

    model: Any
    classes: tuple[str, ...]
    normalisation: Normalisation
    analysis: Analysis
    origin: str
    """The file it came from, and whether the weights are trained or fresh."""
    trained: bool
    run_config: dict[str, Any] | None = None
    """A run's resolved training configuration (its data, split and seed), when the
    checkpoint carries one: the gallery rebuilds the run's validation images from it."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(dim) for dim in self.analysis.input_shape)


def load_source(
    path: str | os.PathLike[str],
    spec: str | os.PathLike[str] | None = None,
    seed: int = 0,
    input_shape: Sequence[int] | None = None,
) -> Source:
    """The model of a spec file (weights initialised with ``seed``, at ``input_shape`` when
    given, else the spec's input) or of a checkpoint (at the input it was trained at)."""
    path = Path(path)
    if not path.is_file() and not path.is_dir():  # a folder: a run's best.pt, else last.pt
        raise VisualiseError(
            f"{path}: no such file (give a spec .yaml, a checkpoint .pt or a run folder)"
        )
    if path.is_file() and path.suffix.lower() in SPEC_SUFFIXES:
        if spec is not None:
            raise VisualiseError(f"{path} is a spec already; --spec is for a checkpoint")
        return _from_spec(path, seed, input_shape)
    if input_shape is not None:
        raise VisualiseError(f"{path}: a checkpoint is explained at the input it was trained at")
    return _from_checkpoint(path, spec)


def _from_spec(path: Path, seed: int, input_shape: Sequence[int] | None) -> Source:
    import torch

    from ..torch.build import build

    analysis = _numeric(analyse(load_spec(path), input_shape), path)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build(analysis)
    classes = tuple(str(index) for index in range(_class_count(analysis)))
    channels = int(analysis.input_shape[0])
    identity = Normalisation((0.0,) * channels, (1.0,) * channels)
    origin = f"{path} (untrained: weights drawn with seed {seed})"
    return Source(model.eval(), classes, identity, analysis, origin, trained=False)


def _from_checkpoint(path: Path, spec: str | os.PathLike[str] | None) -> Source:
    """Through the training package's reader (:mod:`cnncalc.train.checkpoint`), the one
    reader of the format; visualise adds its two spec checks before the model is built."""
    from ..train import checkpoint as checkpoints

    file, state = _read_checkpoint(path)
    recorded = state["spec"]
    text = str(recorded["text"])
    if checkpoints.spec_hash(text) != recorded.get("sha256"):
        raise VisualiseError(
            f"{file}: the spec text inside does not match its recorded sha256 (the checkpoint "
            "was edited or damaged); write it again with cnncalc train"
        )
    if spec is not None:
        _check_same_spec(file, Path(spec), recorded)
    loaded = parse_spec(text, str(recorded.get("path") or f"{file}:spec"))
    analysis = _numeric(analyse(loaded, list(state["input_shape"])), file)
    try:
        checkpoint = checkpoints.checkpoint_from_state(file, state)
    except checkpoints.CheckpointError as error:
        raise VisualiseError(str(error)) from None
    normalisation = Normalisation(
        tuple(float(value) for value in checkpoint.mean),
        tuple(float(value) for value in checkpoint.std),
    )
    classes = tuple(str(name) for name in checkpoint.classes)
    origin = f"{file} (trained; spec {recorded.get('name') or recorded.get('path')})"
    config = checkpoint.config or None
    return Source(checkpoint.model, classes, normalisation, analysis, origin, True, config)


def _read_checkpoint(path: Path) -> tuple[Path, dict[str, Any]]:
    from ..train import checkpoint as checkpoints

    try:
        file = checkpoints.resolve_checkpoint_path(path)
        return file, checkpoints.read_state(file)
    except checkpoints.CheckpointError as error:
        raise VisualiseError(
            f"{path}: not a spec (.yaml) nor a checkpoint cnncalc can use: {error}"
        ) from None


def _check_same_spec(path: Path, spec: Path, recorded: dict[str, Any]) -> None:
    from ..train.checkpoint import spec_hash

    given = spec_hash(read_spec_text(spec))
    if given != recorded.get("sha256"):
        raise VisualiseError(
            f"{path} was trained from another spec ({recorded.get('path') or recorded.get('name')},"
            f" sha256 {str(recorded.get('sha256'))[:12]}…) than {spec} (sha256 {given[:12]}…); "
            "leave out --spec (the checkpoint carries its own) or give the spec it was trained from"
        )


def _numeric(analysis: Analysis, path: Path) -> Analysis:
    if analysis.symbolic or len(analysis.input_shape) != 3:
        raise VisualiseError(
            f"{path}: visualisation needs an image input C×H×W with numbers; the spec's input "
            f"is {list(analysis.input_shape)}"
        )
    return analysis


def _class_count(analysis: Analysis) -> int:
    shape = analysis.output_shape
    if len(shape) != 1:
        raise VisualiseError(
            f"{analysis.file}: the network ends in {'×'.join(map(str, shape))}, not a vector "
            "of class scores; the methods explain one class score"
        )
    return int(shape[0])
