"""Checkpoints: written atomically, read back safely (``weights_only=True``), spec inside.

The format is :mod:`cnncalc.train.contract`'s. A save writes a temporary file in the same
folder, flushes and fsyncs it, then ``os.replace``s it over the old file (atomic on POSIX and
Windows) and fsyncs the folder: a process killed at any moment leaves either the old
checkpoint or the new one, never a torn file (timm's ``CheckpointSaver`` does the same).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CnncalcError
from .contract import CHECKPOINT_FORMAT

LAST = "last.pt"
BEST = "best.pt"


class CheckpointError(CnncalcError):
    """A checkpoint that cannot be read or used here (exit status 2)."""


def spec_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def versions() -> dict[str, str]:
    import torch

    from .. import __version__

    return {
        "cnncalc": __version__,
        "torch": str(torch.__version__),
        "python": sys.version.split()[0],
    }


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename)."""
    import torch

    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)
    return target


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no folder handles to sync)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> None:
    """Temporary files a killed save left behind (never a complete checkpoint)."""
    for leftover in Path(folder).glob(".*.pt.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw checkpoint dict, loaded with ``weights_only=True``; clear errors otherwise."""
    import torch

    file = resolve_checkpoint_path(path)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # a torn, truncated or foreign file: torch says why
        raise CheckpointError(
            f"{file} is not a readable checkpoint ({_first_line(error)}): it may be truncated "
            f"or not a cnncalc checkpoint; use the run's other checkpoint ({BEST} or {LAST}) "
            "or train again"
        ) from None
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(
            f"{file} is not a cnncalc checkpoint (a plain PyTorch state_dict or another "
            "program's file?): evaluate, predict and --resume read the best.pt or last.pt "
            "that cnncalc train writes"
        )
    if state["format"] != CHECKPOINT_FORMAT:
        writer = state.get("versions", {}).get("cnncalc", "an unknown version")
        raise CheckpointError(
            f"{file} is in format {state['format']!r}, written by cnncalc {writer}; this cnncalc "
            f"reads {CHECKPOINT_FORMAT}: use the cnncalc version that wrote it"
        )
    missing = [key for key in MODEL_KEYS if key not in state]
    if missing:
        raise CheckpointError(
            f"{file} lacks {', '.join(missing)}: it was not written by cnncalc train (or was "
            "edited); train again"
        )
    return dict(state)


MODEL_KEYS = ("spec", "input_shape", "classes", "normalisation", "model")
"""What every reader needs to rebuild the model (:mod:`.contract`)."""


def _first_line(error: Exception) -> str:
    """The first sentence of an exception's message (torch's run to a paragraph)."""
    text = str(error).strip().splitlines()
    return text[0].split(". ")[0].rstrip(".") if text else type(error).__name__


def resolve_checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file, or a run folder (its ``best.pt``, else ``last.pt``)."""
    given = Path(path)
    if given.is_dir():
        for name in (BEST, LAST):
            if (given / name).is_file():
                return given / name
        raise CheckpointError(f"run folder {given} has no {BEST} or {LAST}")
    if not given.is_file():
        raise CheckpointError(f"no checkpoint at {given}: give a run folder or a .pt file")
    return given


def check_same_spec(state: Mapping[str, Any], spec_text: str, spec_file: str) -> None:
    """Refuse to resume a checkpoint that was trained from another spec."""
    written = state["spec"]
    if written.get("sha256") != spec_hash(spec_text):
        raise CheckpointError(
            f"the checkpoint was trained from spec '{written.get('name')}' "
            f"({written.get('path')}, sha256 {str(written.get('sha256'))[:12]}…), which is not "
            f"{spec_file} (sha256 {spec_hash(spec_text)[:12]}…): resume with the spec it was "
            "trained from (leave the spec out to use the copy inside the checkpoint), or start "
            "a new run"
        )


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read back: its model rebuilt from the spec it carries, in eval mode."""

    path: Path
    spec_text: str
    spec_name: str
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    model: Any
    state: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.state.get("config", {}))


def load_checkpoint(path: str | os.PathLike[str], device: Any = "cpu") -> Checkpoint:
    """Read a checkpoint (or a run folder's best) and rebuild its model with its weights (the
    EMA weights when the run kept them)."""
    file = resolve_checkpoint_path(path)
    return checkpoint_from_state(file, read_state(file), device)


def checkpoint_from_state(file: Path, state: dict[str, Any], device: Any = "cpu") -> Checkpoint:
    """The model of a state :func:`read_state` returned, rebuilt and loaded (callers that
    check the state first, as ``visualise`` checks its spec hash, read the file once)."""
    from ..spec import parse_spec
    from ..torch.build import build

    spec = state["spec"]
    loaded = parse_spec(spec["text"], spec.get("path") or "<checkpoint spec>")
    shape = tuple(int(dim) for dim in state["input_shape"])
    model = build(loaded, list(shape))
    weights = state.get("ema") or state["model"]
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise CheckpointError(
            f"{file}: the weights do not fit the spec inside it ({_first_line(error)})"
        ) from None
    model.to(device).eval()
    normalisation = state["normalisation"]
    return Checkpoint(
        path=file,
        spec_text=spec["text"],
        spec_name=spec.get("name", ""),
        input_shape=shape,
        classes=tuple(state["classes"]),
        mean=tuple(normalisation["mean"]),
        std=tuple(normalisation["std"]),
        model=model,
        state=state,
    )
