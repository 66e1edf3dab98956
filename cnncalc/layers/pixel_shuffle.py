"""pixel_shuffle / pixel_unshuffle — depth to space and back (``nn.PixelShuffle(r)``,
``nn.PixelUnshuffle(r)``; ESPCN's sub-pixel convolution).

pixel_shuffle: C×H×W → C/r²×H·r×W·r (C must divide by r²); pixel_unshuffle: C×H×W →
C·r²×H/r×W/r (H and W must divide by r). Values are moved, not computed: no parameters, no
ops. fvcore has no handle for ``aten::pixel_shuffle``/``aten::pixel_unshuffle`` (0, with an
"unsupported operator" warning); FlopCounterMode and torchinfo count 0.

Receptive field: a shuffled output pixel is one input pixel's value (gathered: n = 1, outputs
1/r input pixels apart); an unshuffled output position holds an r×r block of input pixels
across its channels (sliding: k = s = r).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .. import arith
from .base import Cost, Gathered, Int, LayerKind, TorchCode, Where
from .explain import Equation, Explanation, factor, no_parameters, text, volume


class PixelShuffle(LayerKind):
    name = "pixel_shuffle"
    receptive_field = "gathered"
    aliases = ("depth_to_space",)
    prefix = "shuffle"
    category = "reshape"
    shorthand = "factor"
    summary = "depth to space: C×H×W → C/r²×H·r×W·r (nn.PixelShuffle)"
    fields = (Int("factor", doc="upscale factor r"),)

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H, W = self.spatial(shape, where)
        r = values["factor"]
        if arith.remainder(C, r * r) not in (0, None):
            raise where.error(
                f"pixel_shuffle by {r} needs channels divisible by r² = {r * r}, got "
                f"{arith.as_text(C)}",
                "factor",
                hint=f"give the conv before it a multiple of {r * r} filters",
            )
        step = 1 if r == 1 else Fraction(1, r)
        window = ((1, step, 0), (1, step, 0))
        return Cost(
            output=(arith.floor_div(C, r * r), arith.normalize(H * r), arith.normalize(W * r)),
            details={"window": window},
            window=window,
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        return TorchCode(f"nn.PixelShuffle({values['factor']})")

    def gathered_terms(self, row: Any, axis: int) -> Gathered:
        r, jump_in = row.values["factor"], row.receptive_field_in[axis][1]
        return Gathered(
            "n",
            "j_in/r",
            f"{factor(jump_in)}/{r}",
            f"n = 1: each output pixel is one input pixel's value; r = {r} outputs per input",
        )

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels, height, width = row.input_shape
        r = row.values["factor"]
        return Explanation(
            (("input", volume(row.input_shape)), ("r", str(r))),
            (
                Equation("W_out", "W_in·r", f"{factor(width)}·{r}", text(row.output_shape[2])),
                Equation("H_out", "H_in·r", f"{factor(height)}·{r}", text(row.output_shape[1])),
                Equation(
                    "D_out",
                    "D_in/r²",
                    f"{factor(channels)}/{r * r}",
                    text(row.output_shape[0]),
                    "each r×r block of the output comes from r² channels of one input pixel",
                ),
                no_parameters("values are moved, nothing is computed"),
            ),
        )


class PixelUnshuffle(LayerKind):
    name = "pixel_unshuffle"
    receptive_field = "sliding"
    aliases = ("space_to_depth",)
    prefix = "unshuffle"
    category = "reshape"
    shorthand = "factor"
    summary = "space to depth: C×H×W → C·r²×H/r×W/r (nn.PixelUnshuffle)"
    fields = (Int("factor", doc="downscale factor r"),)

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H, W = self.spatial(shape, where)
        r = values["factor"]
        for axis, size in (("H", H), ("W", W)):
            if arith.remainder(size, r) not in (0, None):
                raise where.error(
                    f"pixel_unshuffle by {r} needs {axis} divisible by {r}, got "
                    f"{arith.as_text(size)}",
                    "factor",
                    hint="crop or pad the map to a multiple of the factor first",
                )
        window = ((r, r, 0), (r, r, 0))
        return Cost(
            output=(arith.normalize(C * r * r), arith.floor_div(H, r), arith.floor_div(W, r)),
            details={"window": window},
            window=window,
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        return TorchCode(f"nn.PixelUnshuffle({values['factor']})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels, height, width = row.input_shape
        r = row.values["factor"]
        return Explanation(
            (("input", volume(row.input_shape)), ("r", str(r))),
            (
                Equation("W_out", "W_in/r", f"{factor(width)}/{r}", text(row.output_shape[2])),
                Equation("H_out", "H_in/r", f"{factor(height)}/{r}", text(row.output_shape[1])),
                Equation(
                    "D_out",
                    "D_in·r²",
                    f"{factor(channels)}·{r * r}",
                    text(row.output_shape[0]),
                    "each r×r block of pixels becomes r² channels of one output pixel",
                ),
                no_parameters("values are moved, nothing is computed"),
            ),
        )
