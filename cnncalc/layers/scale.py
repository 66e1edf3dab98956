"""scale — a learned scale per channel, y = γ·x (ConvNeXt's and CaiT's layer scale).

Parameters: γ, one per channel (C; no bias). Ops: 1 multiply per element. PyTorch writes it
as ``gamma * x`` with ``gamma`` of shape C×1×1: fvcore does not count ``aten::mul`` (0),
FlopCounterMode counts 0, torchinfo counts 0 (its mult-adds cover modules' weights only).
A 1×1 depthwise conv would hold the same C numbers but count C·H·W MACs in every tool.

Receptive field: pointwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Cost, Float, LayerKind, TorchCode, Where, elements
from .explain import Equation, Explanation, factor, product, text, volume


class Scale(LayerKind):
    name = "scale"
    receptive_field = "pointwise"
    aliases = ("layer_scale",)
    prefix = "scale"
    category = "norm"  # sits between layers like a norm's affine part
    shorthand = "init"
    summary = "learned per-channel scale γ·x (ConvNeXt's layer scale): C parameters"
    fields = (Float("init", 1e-6, doc="γ's initial value (ConvNeXt: 1e-6)"),)

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        return Cost(
            output=shape,
            weights=shape[0],
            ops={"multiply": elements(shape)},
            # torchinfo counts only parameters named weight or bias: γ is "gamma"
            peers={"torchinfo": 0},
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        # γ broadcast over H and W: C×1×1 (C for a flat input), as torchvision's CNBlock
        dims = f"({shape[0]}, 1, 1)" if len(shape) == 3 else f"({shape[0]},)"
        init = values["init"]
        module = f'nn.ParameterDict({{"gamma": nn.Parameter(torch.full({dims}, {init!r}))}})'
        return TorchCode(module, '{m}["gamma"] * {x}')

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels = row.input_shape[0]
        return Explanation(
            (("input", volume(row.input_shape)),),
            (
                Equation("parameters", "D (γ per channel)", factor(channels), text(row.params)),
                Equation(
                    "multiply ops",
                    "one per element",
                    product(*row.input_shape),
                    text(row.ops.get("multiply", 0)),
                    "y = γ·x: the shape is unchanged",
                ),
            ),
        )
