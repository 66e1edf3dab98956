"""Occlusion (Zeiler & Fergus 2014; the lecture notes' "occlusion experiments"): slide a grey
patch over the image and watch the target class's probability.

The patch is the baseline 0 in the model's normalised input, i.e. the training mean colour
(grey). Patch positions start at the top-left corner and step by ``stride`` until the patch
reaches the far edge, the last one clipped there, as Captum's ``Occlusion`` places them:
⌈(H − k)/s⌉ + 1 positions per axis, so every pixel is covered when s ≤ k. The occluded copies of all
images are made in chunks of ``batch_size`` and each chunk is one forward pass.

Results: the probability grid (image × row × column of patch positions), and the per-pixel
attribution Captum's ``Occlusion`` returns for the probability: the mean, over the patches
that cover a pixel, of p(unoccluded) − p(occluded) (0 where no patch reaches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import Analysis, Row
from .images import Batch, normalised
from .layers import is_spatial, resolve_layer
from .methods import Explanation, Progress, choose_targets, explanation_of, working_copy
from .source import Source, VisualiseError

TARGET_FRACTION = 4
"""The default patch is the receptive field closest to a quarter of the input's side."""

MEMORY_BUDGET_ELEMENTS = 64 * 2**20
"""Activation elements one forward pass may hold (256 MiB of float32): sets the chunk size."""


@dataclass(frozen=True)
class Window:
    patch: int
    stride: int
    reason: str


def default_window(analysis: Analysis, layer: str | None = None) -> Window:
    """The receptive field (size, jump) of ``layer``, or of the layer whose field is closest
    to a quarter of the input's shorter side: occluding one such window hides what one of
    that layer's neurons sees, one neuron step at a time."""
    side = min(int(analysis.input_shape[1]), int(analysis.input_shape[2]))
    if layer is not None:
        row = resolve_layer(analysis, layer)
        if not is_spatial(row):
            raise VisualiseError(
                f"occlusion sizes its patch by a layer's receptive field; '{layer}' "
                f"({row.kind}) has a flat output and none: name a conv or pool layer"
            )
    else:
        candidates = [row for row in analysis.layers if is_spatial(row) and row.receptive_field]
        row = min(candidates, key=lambda item: abs(_field(item)[0] - side / TARGET_FRACTION))
    size, jump = _field(row)
    size = max(1, min(size, side))
    return Window(size, max(1, jump), f"the receptive field and jump of {row.path}")


def _field(row: Row) -> tuple[int, int]:
    size, jump, _ = row.receptive_field[0]
    return int(size), int(jump)


def occlusion(
    source: Source,
    batch: Batch,
    target: int | str | None = None,
    patch: int | None = None,
    stride: int | None = None,
    layer: str | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> Explanation:
    """The target's probability with a grey patch at each position (see the module)."""
    import torch

    window = _window(source.analysis, patch, stride, layer)
    model = working_copy(source.model)
    inputs = normalised(source, batch)
    with torch.inference_mode():
        logits = model(inputs)
        targets = choose_targets(source, batch, logits, target)
        chunk = batch_size or chunk_size(source.analysis)
        grid = occluded_probabilities(model, inputs, targets, window, chunk, progress)
        base = logits.softmax(dim=1).gather(1, torch.tensor(targets).view(-1, 1))
        attribution = spread(base.view(-1, 1, 1) - grid, window, tuple(inputs.shape[2:]))
    rows, columns = grid.shape[1:]
    return explanation_of(
        "occlusion",
        source,
        batch,
        logits,
        targets,
        maps=attribution.numpy(),
        attributions=grid.numpy(),
        settings={
            "patch": window.patch,
            "stride": window.stride,
            "positions": [rows, columns],
            "chunk": chunk,
            "why": window.reason,
            "baseline": "0 in the normalised input (the training mean: grey)",
        },
        map_label="drop in p(target) when the patch covers the pixel (mean over patches)",
    )


def _window(analysis: Analysis, patch: int | None, stride: int | None, layer: str | None) -> Window:
    side = min(int(analysis.input_shape[1]), int(analysis.input_shape[2]))
    for name, value in (("--patch", patch), ("--stride", stride)):
        if value is not None and not 1 <= value <= side:
            raise VisualiseError(f"{name} {value} must be between 1 and the input's side {side}")
    if patch is not None and layer is None:
        return Window(
            patch,
            stride or max(1, patch // 2),
            "given" if stride else "given (stride: half the patch)",
        )
    found = default_window(analysis, layer)
    return Window(patch or found.patch, stride or found.stride, found.reason)


def chunk_size(analysis: Analysis) -> int:
    """Occluded images per forward pass: as many as fit :data:`MEMORY_BUDGET_ELEMENTS` of
    activations by the engine's count, between 1 and 1024."""
    per_image = max(1, int(analysis.totals.activation_elements) // max(1, int(analysis.batch)))
    return max(1, min(1024, MEMORY_BUDGET_ELEMENTS // per_image))


def occluded_probabilities(
    model: Any,
    inputs: Any,
    targets: tuple[int, ...],
    window: Window,
    chunk: int,
    progress: Progress | None = None,
) -> Any:
    """N×rows×columns: p(target) with the patch at each position; ``chunk`` occluded images
    per forward pass."""
    import torch

    count, _, height, width = inputs.shape
    tops = positions_along(height, window)
    lefts = positions_along(width, window)
    positions = len(tops) * len(lefts)
    total = count * positions
    target_of = torch.tensor(targets)
    probabilities = torch.empty(total)
    rows_range, columns_range = torch.arange(height), torch.arange(width)
    for start in range(0, total, chunk):
        flat = torch.arange(start, min(start + chunk, total))
        image, position = flat // positions, flat % positions
        top, left = tops[position // len(lefts)], lefts[position % len(lefts)]
        inside_rows = (rows_range >= top[:, None]) & (rows_range < top[:, None] + window.patch)
        inside_columns = (columns_range >= left[:, None]) & (
            columns_range < left[:, None] + window.patch
        )
        mask = inside_rows[:, None, :, None] & inside_columns[:, None, None, :]
        occluded = inputs[image].masked_fill(mask, 0.0)
        output = model(occluded).softmax(dim=1)
        probabilities[flat] = output.gather(1, target_of[image].view(-1, 1)).view(-1)
        if progress is not None:
            progress(int(flat[-1]) + 1, total)
    return probabilities.view(count, len(tops), len(lefts))


def positions_along(length: int, window: Window) -> Any:
    """Where the patch starts along an axis: 0, s, 2s, … ⌈(length − k)/s⌉·s."""
    import torch

    count = -(-(length - window.patch) // window.stride) + 1
    return torch.arange(count) * window.stride


def spread(drops: Any, window: Window, size: tuple[int, int]) -> Any:
    """N×H×W: each pixel's mean drop over the patches covering it (0 where none does). A
    transposed convolution with a ones kernel adds each position's value over its patch."""
    import torch
    import torch.nn.functional as F

    ones = torch.ones(1, 1, window.patch, window.patch)
    total = F.conv_transpose2d(drops[:, None], ones, stride=window.stride)
    covered = F.conv_transpose2d(torch.ones_like(drops[:1, None]), ones, stride=window.stride)
    height, width = size  # the last patch may overhang the edge: crop (or pad a gap)
    total = F.pad(total, (0, width - total.shape[3], 0, height - total.shape[2]))
    covered = F.pad(covered, (0, width - covered.shape[3], 0, height - covered.shape[2]))
    return torch.where(covered > 0, total / covered.clamp(min=1), torch.zeros(()))[:, 0]
