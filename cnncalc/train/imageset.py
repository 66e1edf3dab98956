"""The in-memory form of an image dataset split, as every reader returns it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import CnncalcError


class DataError(CnncalcError):
    """Missing, corrupt or unsuitable data: the message names the files and the fix (exit 2)."""


@dataclass(frozen=True)
class ImageSet:
    """One split of a labelled image dataset.

    ``images``: a ``torch.Tensor`` of shape N×C×H×W, dtype uint8 (0–255, as the files store
    them) or float32 in [0, 1]; ``labels``: int64 tensor of shape N with values in
    ``range(len(classes))``; ``classes``: the class names, in label order.
    """

    images: Any
    labels: Any
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])
