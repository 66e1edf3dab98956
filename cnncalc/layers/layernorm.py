"""layernorm — layer normalisation over the channels at each pixel (ConvNeXt's LayerNorm2d).

Parameters: γ and β, 2·C. Ops: 5 per element (mean, subtract, variance, normalise, affine),
as fvcore counts ``aten::layer_norm`` (4 without affine).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import Bool, Cost, Float, LayerKind, TorchCode, Where, elements, torch_args
from .batchnorm import affine_parameters
from .explain import Explanation, volume


class LayerNorm(LayerKind):
    name = "layernorm"
    receptive_field = "pointwise"
    aliases = ("layer_norm", "ln")
    prefix = "ln"
    category = "norm"
    summary = "layer normalisation over channels at each position"
    fields = (Float("eps", 1e-5, positive=True), Bool("affine", True))

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        channels = shape[0]
        count = elements(shape)
        per_element = 5 if values["affine"] else 4
        scale = channels if values["affine"] else 0
        return Cost(
            output=shape,
            weights=scale,
            biases=scale,
            ops={"norm": arith.normalize(per_element * count)},
            peers={"fvcore": arith.normalize(per_element * count)},
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        options: dict[str, Any] = {}
        if values["eps"] != 1e-5:
            options["eps"] = values["eps"]
        if not values["affine"]:
            options["elementwise_affine"] = False
        module = f"nn.LayerNorm({torch_args(shape[0], **options)})"
        if len(shape) == 1:
            return TorchCode(module)
        # channels last for the normalisation, then back (ConvNeXt's LayerNorm2d)
        return TorchCode(module, "{m}({x}.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels = row.input_shape[0]
        return Explanation(
            (("input", volume(row.input_shape)),),
            (affine_parameters(row, channels, no_bias, "C"),),
            "shape unchanged",
        )
