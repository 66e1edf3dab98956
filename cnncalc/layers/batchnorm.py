"""batchnorm — batch normalisation (``nn.BatchNorm2d``; ``BatchNorm1d`` on a flat input).

Parameters: γ and β, 2·C (trainable, when affine). Buffers: running mean and variance
(2·C) and num_batches_tracked (1) — state, not parameters, in PyTorch; Keras counts the
moving mean and variance as 2·C non-trainable parameters.
Ops: 2 per element at inference (statistics folded into one multiply and one add).
fvcore: 2 per input element in eval mode (1 without affine); 5 in training mode (4 without).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import Bool, Cost, Float, LayerKind, TorchCode, Where, elements, torch_args
from .explain import Equation, Explanation, no_parameters, text, volume


class BatchNorm(LayerKind):
    name = "batchnorm"
    receptive_field = "pointwise"
    aliases = ("bn", "batch_norm", "batchnorm2d")
    prefix = "bn"
    category = "norm"
    summary = "batch normalisation (nn.BatchNorm2d / BatchNorm1d)"
    fields = (
        Float("eps", 1e-5, positive=True),
        Float("momentum", 0.1),
        Bool("affine", True, doc="learn a scale γ and shift β per channel"),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        channels = shape[0]
        count = elements(shape)
        scale = channels if values["affine"] else 0  # γ and β: one each per channel
        return Cost(
            output=shape,
            weights=scale,
            biases=scale,
            buffers=arith.normalize(2 * channels + 1),
            ops={"norm": arith.normalize(2 * count)},
            peers={
                "fvcore": arith.normalize(count * (2 if values["affine"] else 1)),
                # fvcore's norm_flop_counter in training mode: "5 is just a rough estimate".
                "fvcore_training": arith.normalize(count * (5 if values["affine"] else 4)),
                # Keras' BatchNormalization keeps its moving mean and variance as weights
                "keras": arith.normalize(2 * channels),
            },
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
        if values["momentum"] != 0.1:
            options["momentum"] = values["momentum"]
        if not values["affine"]:
            options["affine"] = False
        dims = "2d" if len(shape) == 3 else "1d"
        return TorchCode(f"nn.BatchNorm{dims}({torch_args(shape[0], **options)})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels = row.input_shape[0]
        equations = [
            affine_parameters(row, channels, no_bias),
            Equation(
                "buffers",
                "2·D + 1 (running mean and variance, batch count)",
                f"2·{text(channels)} + 1",
                text(row.buffers),
                "state, not parameters",
            ),
        ]
        return Explanation(
            (("input", volume(row.input_shape)),), tuple(equations), "shape unchanged"
        )


def affine_parameters(row: Any, channels: Any, no_bias: bool, symbol: str = "D") -> Equation:
    """γ and β per channel (batchnorm, layernorm); under --no-bias β is a bias, left out."""
    if row.params == 0:
        return no_parameters("affine: false, so no γ or β")
    if no_bias:
        return Equation(
            "weights",
            f"{symbol} (γ per channel)",
            text(channels),
            text(row.weights),
            "β left out under --no-bias-all",
        )
    return Equation(
        "parameters",
        f"2·{symbol} (γ and β per channel)",
        f"2·{text(channels)}",
        text(row.params),
    )
