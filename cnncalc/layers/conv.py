"""conv — 2-D convolution (PyTorch ``nn.Conv2d``, Keras ``Conv2D``).

Shapes: H_out = ⌊(H + p_top + p_bottom − d·(k_h − 1) − 1)/s⌋ + 1, likewise W; C_out = filters.
Parameters: weights = C_out · (C_in / groups) · k_h · k_w, biases = C_out.
MACs: H_out · W_out · weights (one multiply-accumulate per weight per output pixel).
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
    Padding,
    Pair,
    TorchCode,
    Where,
    check_declared_width,
    filter_bank,
    multiply_accumulates,
    torch_args,
)
from .explain import Equation, Explanation, factor, params_equation, product, text, volume
from .geometry import (
    axis_warnings,
    torch_padding,
    window_equations,
    window_geometry,
    window_given,
    windows,
)


def check_divides(count: Any, groups: Any, what: str, where: Where, key: str = "groups") -> None:
    rest = arith.remainder(count, groups)
    if rest not in (0, None):
        raise where.error(
            f"{what} ({arith.as_text(count)}) are not divisible by groups "
            f"({arith.as_text(groups)})",
            key,
            hint="channels are split evenly between groups: pick groups that divide both",
        )


IN_CHANNELS_DOC = "optional: the input channels C_in it is built for, checked against the input"


def check_in_channels(values: Mapping[str, Any], channels: Any, where: Where) -> None:
    """``in_channels`` as declared (nn.Conv2d's first argument) against what arrives."""
    declared = values.get("in_channels")
    words = (
        f"PyTorch would refuse the input: a conv built for {arith.as_text(declared)} "
        f"channels given {arith.as_text(channels)}"
    )
    check_declared_width(declared, channels, where, "in_channels", "C_in", words)


def convolution(
    shape: tuple[Any, ...],
    filters: Any,
    values: Mapping[str, Any],
    groups: Any,
    kind: LayerKind,
    where: Where,
) -> Cost:
    """The cost of a (possibly grouped or depthwise) convolution: shared by conv and depthwise."""
    C_in, H_in, W_in = kind.spatial(shape, where)
    check_in_channels(values, C_in, where)
    check_divides(C_in, groups, "input channels", where)
    check_divides(filters, groups, "filters", where)
    kernel, stride, dilation = values["kernel"], values["stride"], values["dilation"]
    axes = windows(H_in, W_in, kernel, stride, dilation, values["padding"], where)
    H_out, W_out = axes[0].size_out, axes[1].size_out
    weights = filter_bank(filters, (kernel[0], kernel[1], arith.floor_div(C_in, groups)))
    biases = filters if values["bias"] else 0
    pixels = arith.normalize(H_out * W_out)
    macs = multiply_accumulates((H_out, W_out), weights)
    return Cost(
        output=(filters, H_out, W_out),
        weights=weights,
        biases=biases,
        macs=macs,
        ops={"bias": arith.normalize(pixels * biases)},
        # torchinfo multiplies every parameter of a "Conv*" module by the output pixels
        peers={"torchinfo": arith.normalize((weights + biases) * pixels)},
        details={"axes": axes, "groups": groups, "filters": filters},
        warnings=axis_warnings(axes),
        window=window_geometry(axes),
    )


def convolution_code(
    values: Mapping[str, Any], shape: tuple[Any, ...], details: Mapping[str, Any]
) -> TorchCode:
    """nn.Conv2d for conv and depthwise; an explicit F.pad when the padding is asymmetric.

    'same' is written as its resolved padding, never as ``padding="same"``: fvcore does not
    count ``aten::_convolution_mode`` (what the string form traces to) and would report 0.
    """
    symmetric, pad = torch_padding(details["axes"])
    options: dict[str, Any] = {"kernel_size": values["kernel"], "stride": values["stride"]}
    if symmetric is not None and symmetric != (0, 0):
        options["padding"] = symmetric
    if values["dilation"] != (1, 1):
        options["dilation"] = values["dilation"]
    if details["groups"] != 1:
        options["groups"] = details["groups"]
    if not values["bias"]:
        options["bias"] = False
    module = f"nn.Conv2d({torch_args(shape[0], details['filters'], **options)})"
    if symmetric is None:
        return TorchCode(module, f"{{m}}(F.pad({{x}}, {pad}))")
    return TorchCode(module)


def convolution_explanation(row: Any, no_bias: bool) -> Explanation:
    """Conv1 — F = 11, K = 96, S = 4, P = 0; W_out = (227 − 11 + 2·0)/4 + 1 = 55; ..."""
    axes, groups, filters = row.details["axes"], row.details["groups"], row.details["filters"]
    channels = row.input_shape[0]
    per_group = arith.floor_div(channels, groups)
    given = [("input", volume(row.input_shape)), *window_given(axes), ("K", text(filters))]
    kernel_text = product(axes[0].kernel, axes[1].kernel, per_group)
    kernel_formula = "F·F·D_in" if groups == 1 else "F·F·D_in/g"
    if groups != 1:
        given.append(("g", text(groups)))
    equations = [
        *window_equations(axes),
        Equation("D_out", "K", text(filters), text(filters)),
        params_equation(
            f"({kernel_formula})·K",
            f"({kernel_text})·{factor(filters)}",
            row.weights,
            row.biases,
            "K",
            no_bias,
        ),
        Equation(
            "MACs",
            f"W_out·H_out·K·({kernel_formula})",
            f"{product(row.output_shape[2], row.output_shape[1], filters)}·({kernel_text})",
            text(row.macs),
        ),
    ]
    return Explanation(tuple(given), tuple(equations))


class Conv(LayerKind):
    name = "conv"
    receptive_field = "sliding"
    aliases = ("conv2d",)
    prefix = "conv"
    category = "conv"
    weight_layer = True
    summary = "2-D convolution (nn.Conv2d)"
    fields = (
        Int("filters", doc="output channels C_out (K)"),
        Pair("kernel", doc="kernel size F: int or [kh, kw]"),
        Pair("stride", 1, doc="stride S"),
        Padding("padding", 0, doc="padding P"),
        Pair("dilation", 1, doc="dilation d"),
        Int("groups", 1, doc="groups (C_in and C_out must be divisible)"),
        Bool("bias", True, doc="add a bias per output channel"),
        Int("in_channels", None, doc=IN_CHANNELS_DOC),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        return convolution(shape, values["filters"], values, values["groups"], self, where)

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
