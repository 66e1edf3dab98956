"""Activations: element-wise functions that keep the shape and have no parameters.

Ops: 1 per element (softmax: 3 — exponent, sum, divide). fvcore and FlopCounterMode
count activations as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .. import arith
from .base import Choice, Cost, Field, Float, LayerKind, TorchCode, Where, elements, torch_args
from .explain import Explanation, unchanged


class Activation(LayerKind):
    receptive_field = "pointwise"
    category = "activation"
    ops_per_element: ClassVar[int] = 1
    torch_name: ClassVar[str] = ""

    @property
    def prefix(self) -> str:  # type: ignore[override]
        return self.name

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        return Cost(
            output=shape,
            ops={"activation": arith.normalize(self.ops_per_element * elements(shape))},
        )

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        return unchanged(row, self.name)

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        options = {field.name: values[field.name] for field in self.fields}
        if self.name == "softmax":
            options = {"dim": 1}
        if self.name == "gelu" and options["approximate"] == "none":
            options = {}
        return TorchCode(f"nn.{self.torch_name}({torch_args(**options)})")


def _activation(
    name: str,
    summary: str,
    torch_name: str,
    aliases: tuple[str, ...] = (),
    fields: tuple[Field, ...] = (),
    shorthand: str | None = None,
    ops: int = 1,
) -> type[Activation]:
    attributes = {
        "name": name,
        "summary": summary,
        "torch_name": torch_name,
        "aliases": aliases,
        "fields": fields,
        "shorthand": shorthand,
        "ops_per_element": ops,
    }
    return type(f"Activation_{name}", (Activation,), attributes)


ACTIVATIONS: tuple[type[Activation], ...] = (
    _activation("relu", "max(0, x)", "ReLU"),
    _activation("relu6", "min(max(0, x), 6)", "ReLU6"),
    _activation(
        "leaky_relu",
        "x if x > 0 else slope·x",
        "LeakyReLU",
        ("leakyrelu",),
        (Float("negative_slope", 0.01),),
        "negative_slope",
    ),
    _activation("elu", "x if x > 0 else α(eˣ − 1)", "ELU", (), (Float("alpha", 1.0),), "alpha"),
    _activation("tanh", "hyperbolic tangent", "Tanh"),
    _activation("sigmoid", "1 / (1 + e⁻ˣ)", "Sigmoid"),
    _activation(
        "gelu",
        "x·Φ(x)",
        "GELU",
        (),
        (Choice("approximate", "none", options=("none", "tanh")),),
    ),
    _activation("silu", "x·sigmoid(x) (swish)", "SiLU", ("swish",)),
    _activation("hardswish", "x·relu6(x + 3)/6", "Hardswish", ("hard_swish",)),
    _activation("hardsigmoid", "relu6(x + 3)/6", "Hardsigmoid", ("hard_sigmoid",)),
    _activation("softmax", "softmax over the channels", "Softmax", ops=3),
)
