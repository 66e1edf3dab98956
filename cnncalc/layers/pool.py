"""maxpool / avgpool — sliding-window pooling (``nn.MaxPool2d``, ``nn.AvgPool2d``).

Same output-size rule as conv (stride defaults to the kernel), with PyTorch's ceil_mode.
No parameters and no MACs; pooling ops = k_h·k_w per output element (each window reads
k_h·k_w values). fvcore counts pooling as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .. import arith
from .base import Bool, Cost, Field, LayerKind, Padding, Pair, Where
from .geometry import axis_warnings, window_geometry, windows


class _Pool(LayerKind):
    prefix = "pool"
    category = "pool"
    shorthand = "kernel"
    has_dilation: ClassVar[bool] = False

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H_in, W_in = self.spatial(shape, where)
        kernel = values["kernel"]
        stride = values["stride"] if values["stride"] is not None else kernel
        dilation = values.get("dilation", (1, 1))
        padding = values["padding"]
        if not isinstance(padding, str):
            self._check_padding(padding, kernel, where)
        axes = windows(H_in, W_in, kernel, stride, dilation, padding, where, values["ceil_mode"])
        H_out, W_out = axes[0].size_out, axes[1].size_out
        output_elements = arith.normalize(C * H_out * W_out)
        return Cost(
            output=(C, H_out, W_out),
            ops={"pooling": arith.normalize(output_elements * kernel[0] * kernel[1])},
            details={"axes": axes, "stride": stride},
            warnings=axis_warnings(axes),
            window=window_geometry(axes),
        )

    def _check_padding(
        self, padding: tuple[Any, Any], kernel: tuple[Any, Any], where: Where
    ) -> None:
        # ATen's pool2d_shape_check: "pad should be at most half of effective kernel size"
        for pad, size in zip(padding, kernel, strict=True):
            if isinstance(pad, int) and isinstance(size, int) and pad > size // 2:
                raise where.error(
                    f"padding {pad} is more than half the kernel {size}: PyTorch refuses it",
                    "padding",
                    hint=f"use padding ≤ {size // 2}, or 'same_tf' for Keras-style padding",
                )


class MaxPool(_Pool):
    name = "maxpool"
    aliases = ("max_pool", "maxpool2d")
    summary = "max pooling (nn.MaxPool2d)"
    fields: ClassVar[tuple[Field, ...]] = (
        Pair("kernel", doc="window F"),
        Pair("stride", None, doc="stride S (default: the kernel)"),
        Padding("padding", 0),
        Pair("dilation", 1),
        Bool("ceil_mode", False, doc="round the output size up, as PyTorch's ceil_mode"),
    )


class AvgPool(_Pool):
    name = "avgpool"
    aliases = ("avg_pool", "avgpool2d", "average_pool")
    summary = "average pooling (nn.AvgPool2d)"
    fields: ClassVar[tuple[Field, ...]] = (
        Pair("kernel", doc="window F"),
        Pair("stride", None, doc="stride S (default: the kernel)"),
        Padding("padding", 0),
        Bool("ceil_mode", False),
        Bool("count_include_pad", True, doc="average over the padded window"),
    )
