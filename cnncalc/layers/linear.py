"""linear — fully connected layer (PyTorch ``nn.Linear``, Keras ``Dense``, the notes' FC).

weights = N_in · N_out, biases = N_out, MACs = N_in · N_out. Needs a flat input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import (
    Bool,
    Cost,
    Int,
    LayerKind,
    TorchCode,
    Where,
    check_declared_width,
    filter_bank,
    torch_args,
)
from .explain import Equation, Explanation, params_equation, product, text


class Linear(LayerKind):
    name = "linear"
    receptive_field = "global"
    aliases = ("dense", "fc")
    prefix = "fc"
    category = "linear"
    weight_layer = True
    shorthand = "features"
    summary = "fully connected layer (nn.Linear / Dense)"
    fields = (
        Int("features", doc="output features N_out"),
        Bool("bias", True),
        Int("in_features", None, doc="optional: the input features N_in it is built for"),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        if len(shape) != 1:
            flat = arith.as_text(arith.product(shape), thousands=True)
            dims = "×".join(arith.as_text(dim) for dim in shape)
            raise where.error(
                f"linear needs a flat input, got {dims}",
                hint=f"add '- flatten' before it ({dims} = {flat} features), "
                "or a global pool then flatten",
            )
        features_in, features_out = shape[0], values["features"]
        declared = values.get("in_features")
        words = (
            f"PyTorch would fail at the matrix product: {arith.as_text(features_in, True)} "
            f"features into nn.Linear({arith.as_text(declared)}, {arith.as_text(features_out)})"
        )
        check_declared_width(declared, features_in, where, "in_features", "N_in", words)
        weights = filter_bank(features_out, (features_in,))
        biases = features_out if values["bias"] else 0
        return Cost(
            output=(features_out,),
            weights=weights,
            biases=biases,
            macs=weights,
            ops={"bias": biases},
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        options = {} if values["bias"] else {"bias": False}
        return TorchCode(f"nn.Linear({torch_args(shape[0], values['features'], **options)})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        inputs, outputs = row.input_shape[0], row.output_shape[0]
        return Explanation(
            (("N_in", text(inputs)), ("N_out", text(outputs))),
            (
                params_equation(
                    "N_in·N_out",
                    product(inputs, outputs),
                    row.weights,
                    row.biases,
                    "N_out",
                    no_bias,
                ),
                Equation("MACs", "N_in·N_out", product(inputs, outputs), text(row.macs)),
            ),
        )
