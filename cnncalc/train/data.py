"""Data for training: the bundled digits, the dataset readers, and the checks that a spec fits.

Every source arrives as :class:`ImageSet` splits. This module makes them fit the spec (channel
count, input size), takes a seeded validation split and ``--fraction``, measures the
normalisation on the training split, and batches them with tensor-op augmentation. Images stay
in memory as the readers give them (uint8 or float) and are scaled per batch on the device.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .imageset import DataError, ImageSet

DIGITS = "digits"
DIGITS_TEST_SEED = 20260101
"""The digits' test split is fixed (not moved by ``--seed``), as a published test set is."""
DIGITS_TEST_SHARE = 0.2


@dataclass(frozen=True)
class Data:
    """The splits a run uses, fitted to the spec, with the training split's statistics."""

    train: ImageSet
    val: ImageSet
    test: ImageSet | None
    classes: tuple[str, ...]
    input_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    notes: tuple[str, ...] = ()


def load_digits() -> dict[str, ImageSet]:
    """scikit-learn's 1,797 handwritten digits (8×8, grey levels 0–16), a file inside the
    scikit-learn package: no download. A fixed 20% is the test split."""
    import torch
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    classes = tuple(str(name) for name in bunch.target_names)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(DIGITS_TEST_SEED))
    test_count = round(len(labels) * DIGITS_TEST_SHARE)
    test, train = order[:test_count], order[test_count:]
    return {
        "train": ImageSet(images[train], labels[train], classes),
        "test": ImageSet(images[test], labels[test], classes),
    }


def read_source(
    source: str,
    root: str = "",
    download: bool = False,
    image_size: Sequence[int] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, ImageSet]:
    """The splits of ``source``: the bundled digits here, every other source through the
    dataset readers (:func:`cnncalc.train.datasets.read_dataset`).

    ``root`` (``--data-dir``): a standard dataset's directory (default ``data/NAME``), or the
    folder a relative folder or data YAML is looked for in. ``image_size`` (H, W): folder
    images are resized to it on load (``--resize``), so mixed sizes can train.
    """
    if source == DIGITS:
        if download:
            raise DataError(
                "--download: the digits are bundled with scikit-learn, there is nothing to fetch"
            )
        return load_digits()
    from .datasets import read_dataset

    size = tuple(int(value) for value in image_size) if image_size else None
    return dict(read_dataset(source, root or None, download, image_size=size, log=log))


def as_float(images: Any) -> Any:
    """Images as float32 in [0, 1] (uint8 files hold 0–255)."""
    import torch

    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return images.float()


def prepare_data(
    splits: Mapping[str, ImageSet],
    spec_input: Sequence[int],
    config: Any,
    valid_from: Callable[[], Mapping[str, int]] | None = None,
    source: str = DIGITS,
) -> Data:
    """Fit ``splits`` to the spec's ``[C, H, W]`` and split, subsample and measure them."""
    if "train" not in splits:
        raise DataError(f"data source '{source}' has no training split (found {sorted(splits)})")
    train = splits["train"]
    classes = tuple(train.classes)
    if len(classes) < 2:
        raise DataError(
            f"data source '{source}' has {len(classes)} class: a classifier needs at least 2"
        )
    notes: list[str] = []
    fitted = {  # the training split first: a mismatch is reported for it
        name: _fit_channels(split, int(spec_input[0]), config.channels, name)
        for name, split in sorted(splits.items(), key=lambda item: item[0] != "train")
    }
    size, size_notes = _input_size(fitted["train"], spec_input, config, valid_from, source)
    notes += size_notes
    fitted = {name: _resize(split, size) for name, split in fitted.items()}
    train = fitted["train"]
    if "val" in fitted:
        val = fitted["val"]
    else:
        train, val = split_off(train, config.val_fraction, config.seed)
        notes.append(
            f"validation: {len(val):,} images ({config.val_fraction:.0%} of the training split, "
            f"seed {config.seed})"
        )
    test = fitted.get("test")
    if config.fraction < 1:
        train = subsample(train, config.fraction, config.seed)
        val = subsample(val, config.fraction, config.seed + 1)
        test = subsample(test, config.fraction, config.seed + 2) if test is not None else None
        notes.append(f"--fraction {config.fraction}: {len(train):,} training images")
    mean, std = channel_statistics(train.images)
    channels = int(train.images.shape[1])
    return Data(train, val, test, classes, (channels, *size), mean, std, tuple(notes))


def _fit_channels(split: ImageSet, spec_channels: int, convert_to: int, name: str) -> ImageSet:
    import torch

    have = int(split.images.shape[1])
    target = convert_to or have
    if target != have:
        images = as_float(split.images)
        if have == 1:
            images = images.expand(-1, target, -1, -1).contiguous()
        elif have == 3 and target == 1:
            # ITU-R BT.601 luma, as Pillow's convert("L") computes it
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images * weights).sum(1, keepdim=True)
        else:
            raise DataError(f"--channels {target}: cannot convert {have}-channel images")
        split = replace(split, images=images)
        have = target
    if have != spec_channels:
        fix = (
            f"--channels {spec_channels} (repeats the grey channel)"
            if have == 1
            else f"--channels {spec_channels} (converts to grey)"
            if spec_channels == 1 and have == 3
            else "a spec whose input has the data's channel count"
        )
        raise DataError(
            f"the spec takes {spec_channels}-channel images but the {name} split has {have} "
            f"channel(s): use {fix}, or change the spec's input to [{have}, H, W]"
        )
    return split


def _input_size(
    train: ImageSet,
    spec_input: Sequence[int],
    config: Any,
    valid_from: Callable[[], Mapping[str, int]] | None,
    source: str,
) -> tuple[tuple[int, int], list[str]]:
    """The H×W to train at: the spec's when the data has it, or ``--resize`` or the bundled
    digits (8×8 scans, always resized); the data's own when the network is valid there."""
    have = (int(train.images.shape[2]), int(train.images.shape[3]))
    want = (int(spec_input[1]), int(spec_input[2]))
    if have == want:
        return want, []
    if config.resize or source == DIGITS:
        return want, [f"images resized from {have[0]}×{have[1]} to {want[0]}×{want[1]}"]
    bounds = valid_from() if valid_from is not None else {}  # a symbolic analysis: only now
    smallest = bounds.get("H"), bounds.get("W")
    low_h, low_w = smallest
    if low_h is not None and low_w is not None and have[0] >= low_h and have[1] >= low_w:
        return have, [
            f"trained at the data's {have[0]}×{have[1]} (the spec says {want[0]}×{want[1]}; "
            f"the network is valid for H ≥ {smallest[0]}, W ≥ {smallest[1]})"
        ]
    valid = (
        f"; the network accepts H ≥ {smallest[0]}, W ≥ {smallest[1]}"
        if smallest[0] is not None
        else ""
    )
    raise DataError(
        f"the spec takes {want[0]}×{want[1]} images but '{source}' has {have[0]}×{have[1]}"
        f"{valid}: give --resize to resize the images to the spec's input, or change the "
        f"spec's input to [{spec_input[0]}, {have[0]}, {have[1]}]"
    )


def _resize(split: ImageSet, size: tuple[int, int]) -> ImageSet:
    import torch.nn.functional as F

    if tuple(split.images.shape[2:]) == size:
        return split
    shrinking = size[0] < split.images.shape[2] or size[1] < split.images.shape[3]
    images = F.interpolate(
        as_float(split.images),
        size=size,
        mode="bilinear",
        align_corners=False,
        antialias=shrinking,
    ).clamp_(0.0, 1.0)
    return replace(split, images=images)


def split_off(split: ImageSet, share: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """A seeded random ``share`` of ``split`` as validation; the rest for training."""
    import torch

    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    count = max(1, round(len(split) * share))
    return take(split, order[count:].sort().values), take(split, order[:count].sort().values)


def subsample(split: ImageSet, fraction: float, seed: int) -> ImageSet:
    import torch

    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    count = max(1, round(len(split) * fraction))
    return take(split, order[:count].sort().values)


def take(split: ImageSet, indices: Any) -> ImageSet:
    return ImageSet(split.images[indices], split.labels[indices], split.classes)


def channel_statistics(images: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of ``images`` in [0, 1] units (float64 sums)."""
    values = as_float(images).double()
    mean = values.mean(dim=(0, 2, 3))
    std = values.std(dim=(0, 2, 3)).clamp_min(1e-6)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def check_head(output_features: Any, classes: Sequence[str]) -> None:
    """The network's last layer must give one score per class."""
    if output_features != len(classes):
        raise DataError(
            f"the spec's head gives {output_features} outputs but the data has {len(classes)} "
            f"classes: give --new-head to replace the final linear layer with one of "
            f"{len(classes)} outputs (the checkpoint keeps that spec), or change the spec's "
            f"last layer to {len(classes)} features (e.g. 'linear: {len(classes)}')"
        )


class Batches:
    """Batches of one split on a device: scaled to ``(x/scale_in − mean)/std`` and, for
    training, augmented with tensor ops (no per-image Python).

    ``indices`` says which images (in order) make the batches; the training loop draws them
    from a ``DistributedSampler`` each epoch, so one and N processes share one code path.
    """

    def __init__(
        self,
        split: ImageSet,
        mean: Sequence[float],
        std: Sequence[float],
        device: Any,
        pin: bool = False,
        channels_last: bool = False,
    ) -> None:
        import torch

        images = split.images
        if pin and device.type == "cuda":
            images = images.pin_memory()
        self.images = images
        self.labels = split.labels
        to_unit = 1 / 255.0 if images.dtype == torch.uint8 else 1.0
        std_tensor = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        mean_tensor = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.scale = to_unit / std_tensor
        self.shift = -mean_tensor / std_tensor
        self.device = device
        self.channels_last = channels_last

    def batch(self, indices: Any, augment: str = "none", generator: Any = None) -> tuple[Any, Any]:
        import torch

        blocking = self.device.type != "cuda"
        images = self.images[indices].to(self.device, non_blocking=not blocking)
        labels = self.labels[indices].to(self.device, non_blocking=not blocking)
        images = torch.addcmul(self.shift, images.float(), self.scale)
        if augment == "crop-flip":
            images = crop_flip(images, generator)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, labels


def crop_flip(images: Any, generator: Any) -> Any:
    """Random crop after zero padding by H/8 (4 px at 32×32, as for CIFAR in He et al. 2016),
    and a horizontal flip with probability ½, drawn per image from ``generator`` (on the CPU,
    so the draws are the same on every device)."""
    import torch
    import torch.nn.functional as F

    count, _, height, width = images.shape
    pad = max(1, height // 8)
    padded = F.pad(images, (pad, pad, pad, pad))
    offsets = torch.randint(0, 2 * pad + 1, (count, 2), generator=generator).to(images.device)
    flips = (torch.rand(count, generator=generator) < 0.5).to(images.device)
    rows = offsets[:, 0:1] + torch.arange(height, device=images.device)
    columns = offsets[:, 1:2] + torch.arange(width, device=images.device)
    columns = torch.where(flips[:, None], columns.flip(1), columns)
    batch = torch.arange(count, device=images.device)[:, None, None]
    cropped = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], columns[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous()


def augmentation_for(config: Any, channels: int) -> str:
    """``auto``: crop and flip for colour images; none for grey ones (a flipped digit is
    another glyph)."""
    if config.augment == "auto":
        return "crop-flip" if channels == 3 else "none"
    return str(config.augment)
