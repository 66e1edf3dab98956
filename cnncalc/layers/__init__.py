"""The layer registry: every layer kind cnncalc knows, by name and alias.

Adding a layer kind is adding one small module with a :class:`LayerKind` subclass and
listing it in ``_KINDS`` below. There is no fallback: an unknown kind is an error.
"""

from __future__ import annotations

from .activation import ACTIVATIONS
from .base import REQUIRED, Cost, Field, LayerKind, Shape, TorchCode, Where
from .batchnorm import BatchNorm
from .conv import Conv
from .conv_transpose import ConvTranspose
from .crop import Crop
from .depthwise import Depthwise
from .global_pool import AdaptiveAvgPool, AdaptiveMaxPool, GlobalAvgPool, GlobalMaxPool
from .layernorm import LayerNorm
from .linear import Linear
from .lrn import LocalResponseNorm
from .mean import Mean
from .pixel_shuffle import PixelShuffle, PixelUnshuffle
from .pool import AvgPool, MaxPool
from .scale import Scale
from .shape_ops import ChannelShuffle, ChannelSplit, Dropout, Flatten, Identity, ZeroPad
from .upsample import Upsample

_KINDS: tuple[type[LayerKind], ...] = (
    Conv,
    Depthwise,
    ConvTranspose,
    Linear,
    MaxPool,
    AvgPool,
    GlobalAvgPool,
    GlobalMaxPool,
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    BatchNorm,
    LayerNorm,
    LocalResponseNorm,
    *ACTIVATIONS,
    Dropout,
    Flatten,
    Identity,
    ZeroPad,
    ChannelShuffle,
    ChannelSplit,
    Upsample,
    Crop,
    PixelShuffle,
    PixelUnshuffle,
    Scale,
    Mean,
)

KINDS: dict[str, LayerKind] = {kind.name: kind() for kind in _KINDS}
"""Canonical name → the kind's definition."""

ALIASES: dict[str, str] = {
    alias: kind.name for kind in KINDS.values() for alias in (kind.name, *kind.aliases)
}
"""Every accepted spelling → canonical name."""


def lookup(name: str) -> LayerKind | None:
    canonical = ALIASES.get(name)
    return KINDS[canonical] if canonical else None


__all__ = [
    "ALIASES",
    "KINDS",
    "REQUIRED",
    "Cost",
    "Field",
    "LayerKind",
    "Shape",
    "TorchCode",
    "Where",
    "lookup",
]
