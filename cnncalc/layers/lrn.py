"""lrn — local response normalisation across channels (AlexNet; ``nn.LocalResponseNorm``).

b = a / (k + α/n · Σ a²)^β over n neighbouring channels. No parameters.
Ops: n + 3 per element (square, an n-term window sum, power, divide). PyTorch runs it as
plain tensor ops that fvcore does not count (0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import Cost, Float, Int, LayerKind, TorchCode, Where, elements, torch_args
from .explain import Explanation, unchanged


class LocalResponseNorm(LayerKind):
    name = "lrn"
    receptive_field = "pointwise"
    aliases = ("local_response_norm",)
    prefix = "lrn"
    category = "norm"
    shorthand = "size"
    summary = "local response normalisation across channels"
    fields = (
        Int("size", doc="n: channels in the window"),
        Float("alpha", 1e-4),
        Float("beta", 0.75),
        Float("k", 1.0),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        self.spatial(shape, where)  # nn.LocalResponseNorm refuses a flat (N, C) input
        return Cost(
            output=shape,
            ops={"norm": arith.normalize((values["size"] + 3) * elements(shape))},
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        arguments = torch_args(
            values["size"], alpha=values["alpha"], beta=values["beta"], k=values["k"]
        )
        return TorchCode(f"nn.LocalResponseNorm({arguments})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        return unchanged(row, self.name)
