"""depthwise — depthwise convolution: one filter (or ``multiplier`` filters) per input channel.

Same rules as conv with groups = C_in and C_out = C_in · multiplier
(MobileNet's depthwise step; Keras ``DepthwiseConv2D``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import Bool, Cost, Int, LayerKind, Padding, Pair, TorchCode, Where
from .conv import IN_CHANNELS_DOC, convolution, convolution_code, convolution_explanation
from .explain import Explanation


class Depthwise(LayerKind):
    name = "depthwise"
    receptive_field = "sliding"
    aliases = ("dwconv", "depthwise_conv")
    prefix = "dwconv"
    category = "conv"
    weight_layer = True
    summary = "depthwise convolution: groups = C_in, C_out = C_in·multiplier"
    shorthand = "kernel"
    fields = (
        Pair("kernel", doc="kernel size: int or [kh, kw]"),
        Pair("stride", 1),
        Padding("padding", 0),
        Pair("dilation", 1),
        Int("multiplier", 1, doc="filters per input channel"),
        Bool("bias", True),
        Int("in_channels", None, doc=IN_CHANNELS_DOC),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        channels = self.spatial(shape, where)[0]
        filters = arith.normalize(channels * values["multiplier"])
        return convolution(shape, filters, values, channels, self, where)

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        return convolution_code(values, shape, details)

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        return convolution_explanation(row, no_bias)
