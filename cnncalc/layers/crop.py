"""crop — a centre crop to a given size (the original U-Net's crop before each concat).

Shapes: C×H×W → C×h×w, with h ≤ H and w ≤ W; the window starts ⌊(H − h)/2⌋ rows and
⌊(W − w)/2⌋ columns in (an odd difference leaves the extra row at the bottom and the extra
column at the right). No parameters and no arithmetic: PyTorch slices (a view); fvcore,
FlopCounterMode and torchinfo count 0.

Receptive field: sliding, a 1×1 window moved in by the offset: the field's size and jump are
unchanged, its start moves by top·j_in (left·j_in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from ..quasilinear import value_range
from .base import Cost, LayerKind, LikeField, Pair, TorchCode, Where, size_source, sized
from .explain import Equation, Explanation, factor, no_parameters, text, volume


def centre_offset(size_in: Any, size_out: Any) -> Any:
    """⌊(L_in − L_out)/2⌋: where a centre crop starts along one axis. Symbolically, a
    U-Net's encoder and decoder sizes round differently but their difference only wobbles
    with H, and the offset is often one number for every H (4 at the deepest level): then
    it is that number, not a formula of floors that every later window would carry."""
    difference = arith.normalize(size_in - size_out)
    if isinstance(difference, int):
        return difference // 2
    found = value_range(difference)
    if found is not None and found[0] // 2 == found[1] // 2:
        return int(found[0] // 2)
    return arith.floor_div(difference, 2)


def larger_than_input(size_in: Any, size_out: Any) -> bool:
    """Whether the crop asks for more than its input at every size (a periodic difference
    is decided exactly; else sympy's sign, None counting as no)."""
    difference = arith.normalize(size_in - size_out)
    if isinstance(difference, int):
        return difference < 0
    found = value_range(difference)
    if found is not None:
        return found[1] < 0
    return arith.sign_of(difference) == -1


class Crop(LayerKind):
    name = "crop"
    receptive_field = "sliding"
    aliases = ("center_crop", "centre_crop")
    prefix = "crop"
    category = "reshape"
    shorthand = "size"
    summary = "centre crop to a size: C×H×W → C×h×w (a slice; U-Net's crop-and-copy)"
    fields = (
        Pair("size", None, doc="the output size: int or [h, w], at most the input's (or like)"),
        LikeField("like", None, doc="crop to the H×W of an earlier output, by name (or size)"),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H_in, W_in = self.spatial(shape, where)
        size = sized(values, where, "crop")
        if size is None:
            raise where.error(
                "crop needs 'size' or 'like'",
                hint="write crop: {size: [h, w]} or crop: {like: up4} (that output's size)",
            )
        H_out, W_out = size
        for axis, size_in, size_out in (("H", H_in, H_out), ("W", W_in, W_out)):
            if larger_than_input(size_in, size_out):
                raise where.error(
                    f"crop to {arith.as_text(H_out)}×{arith.as_text(W_out)} is larger than its "
                    f"input {arith.as_text(H_in)}×{arith.as_text(W_in)} ({axis}: "
                    f"{arith.as_text(size_out)} > {arith.as_text(size_in)})",
                    "size",
                    hint="a crop can only cut: give a size no larger than the input, or pad "
                    "with zeropad to grow it",
                )
        top, left = centre_offset(H_in, H_out), centre_offset(W_in, W_out)
        return Cost(
            output=(C, H_out, W_out),
            details={"offsets": (top, left)},
            window=((1, 1, arith.normalize(-top)), (1, 1, arith.normalize(-left))),
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        (top, left), (_, height, width) = details["offsets"], output
        return TorchCode(None, f"{{x}}[:, :, {top}:{top + height}, {left}:{left + width}]")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels, height, width = row.input_shape
        _, height_out, width_out = row.output_shape
        top, left = row.details["offsets"]
        named, reason = size_source(row.values)
        size = f"{text(height_out)}×{text(width_out)}"
        return Explanation(
            (("input", volume(row.input_shape)), ("size", size), *named),
            (
                Equation("W_out", "w", "", text(width_out), reason),
                Equation("H_out", "h", "", text(height_out)),
                Equation("D_out", "D_in", "", text(channels)),
                Equation(
                    "left",
                    "⌊(W_in − w)/2⌋",
                    f"⌊({factor(width)} − {factor(width_out)})/2⌋",
                    text(left),
                    "columns cut on the left; the rest on the right",
                ),
                Equation(
                    "top",
                    "⌊(H_in − h)/2⌋",
                    f"⌊({factor(height)} − {factor(height_out)})/2⌋",
                    text(top),
                    "rows cut at the top; the rest at the bottom",
                ),
                no_parameters("a crop has no weights and computes nothing"),
            ),
        )
