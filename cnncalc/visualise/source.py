"""Where the model comes from: a spec (fresh, seeded weights) or a ``cnncalc train`` checkpoint.

A checkpoint (:mod:`cnncalc.train.contract`) carries its spec's text, so the model is rebuilt
from that text with :func:`cnncalc.build` and its ``state_dict`` loaded. A spec given beside a
checkpoint must be the very spec it was trained from (same SHA-256 of the text).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import Analysis, analyse
from ..errors import CnncalcError
from ..spec import load_spec, parse_spec
from ..spec.yaml_source import read_spec_text
from ..train.contract import CHECKPOINT_FORMAT

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
    if not path.is_file():
        raise VisualiseError(f"{path}: no such file (give a spec .yaml or a checkpoint .pt)")
    if path.suffix.lower() in SPEC_SUFFIXES:
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
    from ..torch.build import build

    checkpoint = _read_checkpoint(path)
    recorded = checkpoint["spec"]
    text = str(recorded["text"])
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != recorded.get("sha256"):
        raise VisualiseError(
            f"{path}: the spec text inside does not match its recorded sha256 (the checkpoint "
            "was edited or damaged); write it again with cnncalc train"
        )
    if spec is not None:
        _check_same_spec(path, Path(spec), recorded)
    loaded = parse_spec(text, str(recorded.get("path") or f"{path}:spec"))
    analysis = _numeric(analyse(loaded, list(checkpoint["input_shape"])), path)
    model = build(analysis)
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as error:
        raise VisualiseError(
            f"{path}: the weights do not fit the spec it carries: {str(error).splitlines()[0]}"
        ) from None
    normalisation = Normalisation(
        tuple(float(value) for value in checkpoint["normalisation"]["mean"]),
        tuple(float(value) for value in checkpoint["normalisation"]["std"]),
    )
    classes = tuple(str(name) for name in checkpoint["classes"])
    origin = f"{path} (trained; spec {recorded.get('name') or recorded.get('path')})"
    return Source(model.eval(), classes, normalisation, analysis, origin, trained=True)


REQUIRED_KEYS = ("format", "spec", "input_shape", "classes", "normalisation", "model")


def _read_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any file at all may be given: struct, zip, pickle errors…
        raise VisualiseError(
            f"{path}: not a spec (.yaml) nor a checkpoint torch can read with "
            f"weights_only=True ({_reason(error)})"
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint)
        raise VisualiseError(
            f"{path}: not a cnncalc checkpoint (format {found!r}, expected "
            f"{CHECKPOINT_FORMAT!r}); write one with cnncalc train"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise VisualiseError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return checkpoint


def _reason(error: Exception) -> str:
    """The line of torch's message that says what is wrong (its first is often advice)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "Unsupported global" in line or "error" in line.lower():
            return line
    return lines[0] if lines else type(error).__name__


def _check_same_spec(path: Path, spec: Path, recorded: dict[str, Any]) -> None:
    given = hashlib.sha256(read_spec_text(spec).encode("utf-8")).hexdigest()
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
