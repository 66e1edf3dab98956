"""Images to explain: files read with Pillow, or samples of scikit-learn's bundled digits.

Either way the result is a :class:`Batch` of pixels in [0, 1] at the model's input size;
:func:`normalised` applies the source's normalisation to make the model's input.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .source import Source, VisualiseError

CHANNELS_OF_MODE = {"1": 1, "L": 1, "I": 1, "I;16": 1, "F": 1, "LA": 2, "RGB": 3, "RGBA": 4}


@dataclass(frozen=True)
class Batch:
    """N images: ``pixels`` a float32 array N×C×H×W in [0, 1]; ``labels`` the true class of
    each where known (None otherwise); ``names`` say where each image came from."""

    pixels: Any
    labels: tuple[int | None, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)


def normalised(source: Source, batch: Batch) -> Any:
    """The model's input: ``(pixels − mean) / std`` per channel, a float32 tensor."""
    import torch

    pixels = torch.as_tensor(batch.pixels, dtype=torch.float32)
    mean = torch.tensor(source.normalisation.mean).view(1, -1, 1, 1)
    std = torch.tensor(source.normalisation.std).view(1, -1, 1, 1)
    return (pixels - mean) / std


def load_images(source: Source, paths: Sequence[str | os.PathLike[str]]) -> Batch:
    """Read each image (PNG, JPEG…), check its channels, resize it to the model's H×W."""
    import numpy as np

    arrays = [_read_image(Path(path), source.input_shape) for path in paths]
    return Batch(np.stack(arrays), tuple(None for _ in paths), tuple(str(p) for p in paths))


def _read_image(path: Path, input_shape: tuple[int, ...]) -> Any:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    channels, height, width = input_shape
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGBA") if opened.mode in ("P", "PA") else opened.copy()
    except FileNotFoundError:
        raise VisualiseError(f"{path}: no such image file") from None
    except (UnidentifiedImageError, OSError) as error:
        raise VisualiseError(f"{path}: not an image Pillow can read ({error})") from None
    image = _without_opaque_alpha(image)
    found = CHANNELS_OF_MODE.get(image.mode)
    if found != channels:
        raise VisualiseError(
            f"{path}: a {image.mode} image ({found} channel{'s' if found != 1 else ''}) but the "
            f"model takes {channels} channel{'s' if channels != 1 else ''}; convert it first, "
            f"e.g. Image.open(...).convert('{'L' if channels == 1 else 'RGB'}')"
        )
    if image.mode not in ("L", "RGB"):
        image = image.convert("L" if channels == 1 else "RGB")
    resized = image.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(resized, dtype=np.float32) / 255.0
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _without_opaque_alpha(image: Any) -> Any:
    """An alpha channel that is fully opaque carries nothing: RGBA → RGB, LA → L."""
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema() == (255, 255):
        return image.convert(image.mode[:-1])
    return image


def digit_samples(source: Source, count: int) -> Batch:
    """``count`` images of scikit-learn's bundled digits (8×8, 0–16, no download), taken in
    turn from each class (0, 1, … 9, 0, …), resized bilinearly to the model's H×W; a
    3-channel model gets the grey image in every channel. A digit's label is its target only
    where the model has a class named by that digit ("3"); otherwise its prediction is."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    if count < 1:
        raise VisualiseError("--samples must be at least 1")
    digits = load_digits()
    chosen = _round_robin(digits.target, count)
    pixels = torch.as_tensor(digits.images[chosen] / 16.0, dtype=torch.float32)[:, None]
    channels, height, width = source.input_shape
    pixels = F.interpolate(pixels, size=(height, width), mode="bilinear", align_corners=False)
    pixels = pixels.clamp(0.0, 1.0).expand(-1, channels, -1, -1)
    labels = tuple(int(digits.target[index]) for index in chosen)
    known = tuple(
        label if label < len(source.classes) and source.classes[label] == str(label) else None
        for label in labels
    )
    names = tuple(
        f"digits[{index}] (a {label})" for index, label in zip(chosen, labels, strict=True)
    )
    return Batch(np.ascontiguousarray(pixels.numpy()), known, names)


def _round_robin(targets: Any, count: int) -> list[int]:
    by_class = [[int(i) for i in (targets == label).nonzero()[0]] for label in range(10)]
    chosen: list[int] = []
    for round_index in range(max(len(indices) for indices in by_class)):
        for indices in by_class:
            if round_index < len(indices) and len(chosen) < count:
                chosen.append(indices[round_index])
    return chosen
