"""mean — the spatial mean of each channel, ``x.mean([2, 3])`` (ShuffleNet v2's and MnasNet's
head in torchvision): C×H×W → C (or C×1×1 with ``keepdim``).

The same numbers as global average pooling, counted differently by the peers: fvcore has no
handle for ``aten::mean`` (0), while it counts ``nn.AdaptiveAvgPool2d`` (``gap``) as one per
input element. FlopCounterMode and torchinfo count 0 for both. Ops (cnncalc): C·H·W, the
additions of the mean, as for ``gap``.

Receptive field: global (each output sees its whole channel).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import Bool, Cost, LayerKind, TorchCode, Where
from .explain import Equation, Explanation, no_parameters, product, text, volume


class Mean(LayerKind):
    name = "mean"
    receptive_field = "global"
    aliases = ("spatial_mean",)
    prefix = "mean"
    category = "pool"
    shorthand = "keepdim"
    summary = "spatial mean x.mean([2, 3]): C×H×W → C (fvcore counts 0, unlike gap)"
    fields = (Bool("keepdim", False, doc="keep H and W as 1×1: C×1×1"),)

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H, W = self.spatial(shape, where)
        output = (C, 1, 1) if values["keepdim"] else (C,)
        return Cost(
            output=output,
            ops={"pooling": arith.normalize(C * H * W)},
            window=((H, H, 0), (W, W, 0)),
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        keep = ", keepdim=True" if values["keepdim"] else ""
        return TorchCode(None, f"{{x}}.mean([2, 3]{keep})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels, height, width = row.input_shape
        return Explanation(
            (("input", volume(row.input_shape)),),
            (
                Equation(
                    "output",
                    "",
                    f"each of the {text(channels)} channels averaged over its "
                    f"{text(height)}×{text(width)} pixels",
                    volume(row.output_shape),
                ),
                Equation(
                    "pooling ops",
                    "H_in·W_in·D_in",
                    product(height, width, channels),
                    text(row.ops.get("pooling", 0)),
                    "one addition per input element",
                ),
                no_parameters("a mean has no weights"),
            ),
        )
