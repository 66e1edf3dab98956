"""What is inside the network: a conv layer's kernels, and any layer's feature maps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import Row
from .images import Batch, normalised
from .layers import capture, module_at, resolve_layer
from .methods import shape_text, working_copy
from .source import Source, VisualiseError

FILTER_MODES = ("auto", "average", "channels")


@dataclass(frozen=True)
class Filters:
    """The kernels of one conv layer. ``weights``: C_out×C_in/groups×kH×kW as trained;
    ``tiles``: what is drawn, one per kernel (kH×kW×3 in colour for a 3-channel input, kH×kW
    in grey for a 1-channel one or averaged over the input channels), or one per (output,
    input channel) pair; each scaled to [0, 1] on its own (min → 0, max → 1) so the pattern
    shows whatever its magnitude."""

    layer: str
    kind: str
    weights: Any
    tiles: Any
    mode: str
    columns: int
    caption: str


@dataclass(frozen=True)
class Activations:
    """The output of one layer for N images: N×C×H×W feature maps (N×1×1×K for a flat
    output), with the caption the pictures carry."""

    layer: str
    kind: str
    maps: Any
    names: tuple[str, ...]
    caption: str


def filters(source: Source, layer: str, mode: str = "auto") -> Filters:
    """The kernels of the conv ``layer``: in colour when it sees 3 channels (the first layer
    of an RGB network), in grey when it sees 1, otherwise ``average`` (mean over the input
    channels, one tile per filter) or ``channels`` (one tile per filter and input channel)."""
    from torch import nn

    row = resolve_layer(source.analysis, layer)
    module = module_at(source.model, row.path)
    if not isinstance(module, nn.Conv2d):
        convs = [item.path for item in source.analysis.layers if item.kind in ("conv", "depthwise")]
        raise VisualiseError(
            f"filters draws a conv layer's kernels; '{layer}' is a {row.kind} layer "
            f"(conv layers: {', '.join(convs[:8]) or 'none'})"
        )
    if mode not in FILTER_MODES:
        raise VisualiseError(f"filter mode '{mode}': choose {', '.join(FILTER_MODES)}")
    weights = module.weight.detach().cpu().numpy()
    chosen = _mode(weights, mode)
    tiles, columns = _tiles(weights, chosen)
    caption = _filters_caption(row, weights, chosen)
    return Filters(row.path, row.kind, weights, tiles, chosen, columns, caption)


def _mode(weights: Any, mode: str) -> str:
    if mode != "auto":
        if mode == "colour" and weights.shape[1] != 3:
            raise VisualiseError("colour needs a layer with 3 input channels")
        return mode
    return {3: "colour", 1: "grey"}.get(weights.shape[1], "average")


def _scaled(tile: Any) -> Any:
    low, high = float(tile.min()), float(tile.max())
    return (tile - low) / (high - low) if high > low else tile * 0 + 0.5


def _tiles(weights: Any, mode: str) -> tuple[Any, int]:
    import math

    import numpy as np

    out_channels, in_channels = weights.shape[:2]
    if mode == "colour":
        tiles = [_scaled(kernel.transpose(1, 2, 0)) for kernel in weights]
    elif mode in ("average", "grey"):
        tiles = [_scaled(kernel.mean(axis=0)) for kernel in weights]
    else:
        tiles = [_scaled(plane) for kernel in weights for plane in kernel]
        return np.stack(tiles), in_channels
    return np.stack(tiles), math.ceil(math.sqrt(out_channels))


def _filters_caption(row: Row, weights: Any, mode: str) -> str:
    out_channels, in_channels, height, width = weights.shape
    how = {
        "colour": "in colour (the 3 input channels as R, G, B)",
        "grey": "in grey (one input channel)",
        "average": f"averaged over the {in_channels} input channels",
        "channels": f"one row per filter, one column per input channel ({in_channels})",
    }[mode]
    return (
        f"{row.path}: {out_channels} filters of {in_channels}×{height}×{width}, {how}; "
        "each tile scaled on its own (min black, max white)"
    )


def activations(source: Source, batch: Batch, layer: str) -> Activations:
    """The feature maps of ``layer`` for every image, and a caption with the layer's output
    shape and receptive field from the engine."""
    import torch

    row = resolve_layer(source.analysis, layer)
    model = working_copy(source.model)
    with torch.inference_mode(), capture(model, [row.path]) as outputs:
        model(normalised(source, batch))
    maps = outputs[row.path]
    if maps.dim() == 2:
        maps = maps[:, None, None, :]
    return Activations(row.path, row.kind, maps.numpy(), batch.names, activation_caption(row))


def activation_caption(row: Row) -> str:
    text = f"{row.path} ({row.kind}): output {shape_text(row.output_shape)}"
    if row.spatial_field:
        (size_h, jump_h, _), (size_w, jump_w, _) = row.spatial_field
        text += f", receptive field {size_h}×{size_w} pixels, {jump_h}×{jump_w} apart"
    else:
        text += ", a vector: no receptive field"
    return text
