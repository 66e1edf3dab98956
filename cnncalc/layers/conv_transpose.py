"""conv_transpose — transposed ("de-") convolution (PyTorch ``nn.ConvTranspose2d``).

H_out = (H_in − 1)·s − 2p + d·(k − 1) + output_padding + 1   (PyTorch docs).
weights = C_in · (C_out / groups) · k_h · k_w.
MACs = H_in · W_in · weights: every input pixel is multiplied by every weight once, which is
how fvcore and torch's FlopCounterMode count it too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .. import arith
from .base import (
    Bool,
    Cost,
    Gathered,
    Int,
    LayerKind,
    Pair,
    TorchCode,
    Where,
    filter_bank,
    multiply_accumulates,
    torch_args,
)
from .conv import IN_CHANNELS_DOC, check_divides, check_in_channels
from .explain import (
    Equation,
    Explanation,
    factor,
    pair_given,
    params_equation,
    product,
    text,
    volume,
)


def transposed_window(kernel: int, stride: int, dilation: int, padding: int) -> tuple[Any, ...]:
    """The receptive-field step of one axis, as (n, 1/s, −i₀) for the recurrence
    r_out = r_in + (n − 1)·j_in, j_out = j_in/s, start_out = start_in + i₀·j_in.

    Output o gathers input i through kernel tap t when i·s − p + t·d = o, so tap t reaches
    output o ≡ t·d − p (mod s) from input i(t) = −⌊(t·d − p)/s⌋. Taps reach the same outputs
    when they differ by a multiple of q = s/gcd(d, s), and i(t) falls by d/gcd(d, s) per such
    step. n − 1 is the most inputs apart one output gathers (the class of tap 0: ⌊(F − 1)/q⌋
    steps); i₀ is output 0's first input (negative: before the input's first pixel). Closed
    form: a loop over the s outputs took seconds at s = 10⁷ (found by the spec fuzzer)."""
    common = math.gcd(dilation, stride)
    period = stride // common
    span = (kernel - 1) // period * (dilation // common)
    step = 1 if stride == 1 else Fraction(1, stride)
    return (span + 1, step, -_first_input_of_output_zero(kernel, stride, dilation, padding))


def _first_input_of_output_zero(kernel: int, stride: int, dilation: int, padding: int) -> int:
    """The least input output 0 gathers: the last tap t with t·d ≡ p (mod s); when no tap
    reaches output 0 (a stride above the kernel), the input of the last tap."""
    common = math.gcd(dilation, stride)
    period = stride // common
    last_tap = kernel - 1
    if padding % common == 0:
        # t·(d/g) ≡ p/g (mod q): the first such tap, then the last below the kernel
        first_tap = (padding // common) * pow(dilation // common, -1, period) % period
        if first_tap < kernel:
            last_tap = first_tap + (kernel - 1 - first_tap) // period * period
    return -((last_tap * dilation - padding) // stride)


PER_AXIS = ("kernel", "stride", "padding", "output_padding", "dilation")
"""The fields given per axis (H, W): the two sizes are worked alike only when these agree."""


class ConvTranspose(LayerKind):
    name = "conv_transpose"
    receptive_field = "gathered"
    aliases = ("deconv", "convtranspose", "conv_transpose2d")
    prefix = "deconv"
    category = "conv"
    weight_layer = True
    summary = "transposed convolution (nn.ConvTranspose2d)"
    fields = (
        Int("filters"),
        Pair("kernel"),
        Pair("stride", 1),
        Pair("padding", 0, minimum=0),
        Pair("output_padding", 0, minimum=0),
        Pair("dilation", 1),
        Int("groups", 1),
        Bool("bias", True),
        Int("in_channels", None, doc=IN_CHANNELS_DOC),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C_in, H_in, W_in = self.spatial(shape, where)
        check_in_channels(values, C_in, where)
        filters, groups = values["filters"], values["groups"]
        check_divides(C_in, groups, "input channels", where)
        check_divides(filters, groups, "filters", where)
        sizes = []
        for axis, size in enumerate((H_in, W_in)):
            k, s, p = values["kernel"][axis], values["stride"][axis], values["padding"][axis]
            d, extra = values["dilation"][axis], values["output_padding"][axis]
            if (
                isinstance(extra, int)
                and isinstance(s, int)
                and isinstance(d, int)
                and extra >= max(s, d)
            ):
                raise where.error(
                    f"output_padding {extra} must be smaller than stride or dilation ({max(s, d)})",
                    "output_padding",
                )
            size_out = arith.normalize((size - 1) * s - 2 * p + d * (k - 1) + extra + 1)
            if arith.sign_of(size_out) in (-1, 0):
                raise where.error(
                    f"output size {arith.as_text(size_out)} is not positive",
                    "padding",
                    hint="padding is subtracted from a transposed convolution's output: use less",
                )
            sizes.append(size_out)
        H_out, W_out = sizes
        window = tuple(
            transposed_window(
                values["kernel"][axis],
                values["stride"][axis],
                values["dilation"][axis],
                values["padding"][axis],
            )
            for axis in range(2)
        )
        # each input pixel scatters through C_in filters of F·F·K/g (PyTorch's weight layout)
        weights = filter_bank(
            C_in, (values["kernel"][0], values["kernel"][1], arith.floor_div(filters, groups))
        )
        biases = filters if values["bias"] else 0
        pixels_out = arith.normalize(H_out * W_out)
        macs = multiply_accumulates((H_in, W_in), weights)
        return Cost(
            output=(filters, H_out, W_out),
            weights=weights,
            biases=biases,
            macs=macs,
            ops={"bias": arith.normalize(pixels_out * biases)},
            # torchinfo multiplies every parameter of a "Conv*" module by the *output* pixels.
            peers={"torchinfo": arith.normalize((weights + biases) * pixels_out)},
            details={"groups": groups, "filters": filters, "window": window},
            window=window,
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        options: dict[str, Any] = {"kernel_size": values["kernel"], "stride": values["stride"]}
        defaults = {"padding": (0, 0), "output_padding": (0, 0), "dilation": (1, 1)}
        options.update(
            {key: values[key] for key, default in defaults.items() if values[key] != default}
        )
        if values["groups"] != 1:
            options["groups"] = values["groups"]
        if not values["bias"]:
            options["bias"] = False
        return TorchCode(
            f"nn.ConvTranspose2d({torch_args(shape[0], values['filters'], **options)})"
        )

    @staticmethod
    def _size_equation(row: Any, axis: int) -> Equation:
        """``W_out = (W_in − 1)·S − 2P + d·(F − 1) + output_padding + 1`` for axis 1 (W) or 0."""
        values, name = row.values, "HW"[axis]
        k, s, p = values["kernel"][axis], values["stride"][axis], values["padding"][axis]
        d, extra = values["dilation"][axis], values["output_padding"][axis]
        return Equation(
            f"{name}_out",
            f"({name}_in − 1)·S − 2P + d·(F − 1) + output_padding + 1",
            f"({factor(row.input_shape[axis + 1])} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {extra} + 1",
            text(row.output_shape[axis + 1]),
        )

    def gathered_terms(self, row: Any, axis: int) -> Gathered:
        """Outputs are 1/s apart in the input and gather up to n inputs each."""
        stride, reach = row.values["stride"][axis], row.details["window"][axis][0]
        jump_in = row.receptive_field_in[axis][1]
        meaning = (
            f"n = {text(reach)}: the most input pixels one output gathers at stride {stride}; "
            "outputs alternate, and this is the largest"
            if stride > 1
            else f"n = {text(reach)}: every output gathers n input pixels, as a conv would"
        )
        return Gathered("n", "j_in/s", f"{factor(jump_in)}/{stride}", meaning)

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        values = row.values
        width_in = row.input_shape[2]
        per_group = arith.floor_div(values["filters"], values["groups"])
        kernel_text = product(values["kernel"][0], values["kernel"][1], per_group)
        given = (
            ("input", volume(row.input_shape)),
            pair_given("F", values["kernel"]),
            pair_given("S", values["stride"]),
            pair_given("P", values["padding"]),
            *([pair_given("d", values["dilation"])] if values["dilation"] != (1, 1) else []),
            *(
                [pair_given("output_padding", values["output_padding"])]
                if values["output_padding"] != (0, 0)
                else []
            ),
            ("K", text(values["filters"])),
        )
        same = all(values[key][0] == values[key][1] for key in PER_AXIS)
        same = same and row.input_shape[1] == row.input_shape[2]
        height = (
            Equation("H_out", "", "likewise", text(row.output_shape[1]))
            if same
            else self._size_equation(row, 0)
        )
        equations = (
            self._size_equation(row, 1),
            height,
            Equation("D_out", "K", text(values["filters"]), text(values["filters"])),
            params_equation(
                "(F·F·K/g)·D_in",
                f"({kernel_text})·{factor(row.input_shape[0])}",
                row.weights,
                row.biases,
                "K",
                no_bias,
            ),
            Equation(
                "MACs",
                "W_in·H_in·D_in·(F·F·K/g)",
                f"{product(width_in, row.input_shape[1], row.input_shape[0])}·({kernel_text})",
                text(row.macs),
                "each input pixel meets every weight once",
            ),
        )
        return Explanation(given, equations)
