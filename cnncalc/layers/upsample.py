"""upsample — interpolation to a larger (or any) size: ``nn.Upsample`` / ``F.interpolate``.

Shapes: by ``scale`` s, H_out = H·s (PyTorch floors H·s; cnncalc asks for a whole number, so a
fractional scale that does not divide is an error, not a silent floor); by ``size``, as given.
C is unchanged. No parameters, no MACs.

Ops (cnncalc): the taps each output reads, per output element: nearest 1 (a copy), bilinear
4 (2×2 inputs), bicubic 16 (4×4). fvcore counts ``aten::upsample_nearest2d`` as 1 and
``aten::upsample_bilinear2d`` as 4 per output element and does not count bicubic (0, with an
"unsupported operator" warning); FlopCounterMode and torchinfo count 0 (measured with fvcore
0.1.5 and torch 2.x: see tests/test_new_kinds.py).

Receptive field: gathered. Along an axis each output reads n inputs (nearest 1, bilinear 2,
bicubic 4; fewer only where the source falls exactly on an input, and 1 from a single input),
spaced L_in/L_out input pixels apart (align_corners: (L_in − 1)/(L_out − 1)).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .. import arith
from .base import (
    Bool,
    Choice,
    Cost,
    Field,
    Gathered,
    LayerKind,
    LikeField,
    Pair,
    TorchCode,
    Where,
    size_source,
    sized,
    torch_args,
)
from .explain import Equation, Explanation, factor, no_parameters, product, text, volume

MODES = ("nearest", "bilinear", "bicubic")
TAPS = {"nearest": 1, "bilinear": 2, "bicubic": 4}
"""Inputs one output reads along one axis."""
FVCORE_PER_OUTPUT = {"nearest": 1, "bilinear": 4, "bicubic": 0}
"""fvcore's count per output element (bicubic: no handle, counted 0)."""


class ScaleField(Field):
    """A positive number, or [sh, sw]: exact, as a fraction (1.5 is 3/2)."""

    type_name = "number or [sh, sw]"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> Any:
        if raw is None:
            return None
        items = raw if isinstance(raw, list) else [raw, raw]
        if len(items) != 2:
            raise where.error(
                f"'{self.name}' must be a number or a pair [sh, sw], got a list of {len(items)}",
                self.name,
            )
        return tuple(self._one(item, where) for item in items)

    def _one(self, item: Any, where: Where) -> Any:
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise where.error(
                f"'{self.name}' must be a positive number, got {item!r}",
                self.name,
                hint="write scale: 2, or size: [h, w] for a given output size",
            )
        value = Fraction(str(item))  # 1.5 → 3/2 exactly, not the float's binary expansion
        if value <= 0:
            raise where.error(f"'{self.name}' must be above 0, got {item}", self.name)
        return value.numerator if value.denominator == 1 else value


class Upsample(LayerKind):
    name = "upsample"
    receptive_field = "gathered"
    aliases = ("interpolate", "upsampling")
    prefix = "up"
    category = "resample"
    shorthand = "scale"
    summary = "interpolation by a scale or to a size: nearest, bilinear, bicubic (nn.Upsample)"
    fields = (
        ScaleField("scale", None, doc="scale factor s: H_out = H·s (one of scale, size or like)"),
        Pair("size", None, doc="output size: int or [h, w] (one of scale, size or like)"),
        LikeField("like", None, doc="the H×W of an earlier output, by name (or scale, size)"),
        Choice("mode", "nearest", options=MODES),
        Bool("align_corners", False, doc="bilinear/bicubic: corners of input and output align"),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H_in, W_in = self.spatial(shape, where)
        mode, scale, size = values["mode"], values["scale"], sized(values, where, "upsample")
        if (scale is None) == (size is None):
            raise where.error(
                "upsample takes one of 'scale', 'size' or 'like', not two"
                if scale is not None
                else "upsample needs one of 'scale', 'size' or 'like'",
                ("size" if values["size"] is not None else "like") if scale is not None else None,
                hint="write upsample: {scale: 2}, upsample: {size: [h, w]} or "
                "upsample: {like: enc4} (the size of an earlier output)",
            )
        if values["align_corners"] and mode == "nearest":
            raise where.error(
                "align_corners applies to bilinear and bicubic only",
                "align_corners",
                hint="PyTorch refuses align_corners with mode nearest: remove it",
            )
        if size is not None:
            H_out, W_out = size
        else:
            H_out, W_out = (
                _scaled(length, factor_, axis, where)
                for length, factor_, axis in zip((H_in, W_in), scale, ("H", "W"), strict=True)
            )
        outputs = arith.normalize(C * H_out * W_out)
        taps = TAPS[mode]
        window = tuple(
            _window(mode, values["align_corners"], length_in, length_out)
            for length_in, length_out in ((H_in, H_out), (W_in, W_out))
        )
        return Cost(
            output=(C, H_out, W_out),
            ops={"interpolation": arith.normalize(taps * taps * outputs)},
            peers={"fvcore": arith.normalize(FVCORE_PER_OUTPUT[mode] * outputs)},
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
        options: dict[str, Any] = {}
        if values["scale"] is None:
            options["size"] = _single(tuple(output[1:]))
        else:
            options["scale_factor"] = _single(tuple(float(item) for item in values["scale"]))
        options["mode"] = values["mode"]
        if values["mode"] != "nearest":
            options["align_corners"] = values["align_corners"]
        return TorchCode(f"nn.Upsample({torch_args(**options)})")

    def gathered_terms(self, row: Any, axis: int) -> Gathered:
        mode = row.values["mode"]
        size_in, size_out = row.input_shape[axis + 1], row.output_shape[axis + 1]
        jump_in = row.receptive_field_in[axis][1]
        reach = row.details["window"][axis][0]
        if row.values["align_corners"]:
            spacing = "j_in·(L_in − 1)/(L_out − 1)"
            working = f"{factor(jump_in)}·({factor(size_in)} − 1)/({factor(size_out)} − 1)"
        else:
            spacing, working = "j_in·L_in/L_out", f"{factor(jump_in)}·{factor(size_in)}/{size_out}"
        note = f"n = {text(reach)}: {mode} reads {text(reach)} input(s) per axis"
        if arith.equal(size_in, 1) is True:
            note = "n = 1: a single input pixel along this axis, read by every output"
        return Gathered("n", spacing, working, note)

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        values = row.values
        channels, height, width = row.input_shape
        _, height_out, width_out = row.output_shape
        given = [("input", volume(row.input_shape)), ("mode", values["mode"])]
        if values["scale"] is not None:
            scale_h, scale_w = values["scale"]
            given.append(("s", text(scale_w) if scale_h == scale_w else f"{scale_h}×{scale_w}"))
            equations = [
                Equation("W_out", "W_in·s", f"{factor(width)}·{factor(scale_w)}", text(width_out)),
                Equation(
                    "H_out", "H_in·s", f"{factor(height)}·{factor(scale_h)}", text(height_out)
                ),
            ]
        else:
            named, reason = size_source(values)
            given.extend(named)
            equations = [
                Equation("W_out", "size", "", text(width_out), reason),
                Equation("H_out", "size", "", text(height_out)),
            ]
        taps = TAPS[values["mode"]]
        equations += [
            Equation("D_out", "D_in", "", text(channels)),
            no_parameters("interpolation has no weights"),
            Equation(
                "interpolation ops",
                "taps·W_out·H_out·D" if taps > 1 else "W_out·H_out·D (one copy each)",
                product(*([taps * taps] if taps > 1 else []), width_out, height_out, channels),
                text(row.ops.get("interpolation", 0)),
                f"{values['mode']} reads {taps}×{taps} inputs per output" if taps > 1 else "",
            ),
        ]
        return Explanation(tuple(given), tuple(equations))


def _scaled(length: Any, scale: Any, axis: str, where: Where) -> Any:
    """H·s, which must be a whole number of pixels."""
    if isinstance(scale, int):
        return arith.normalize(length * scale)
    if not isinstance(length, int):
        raise where.error(
            f"a fractional scale ({scale}) needs a numeric {axis}: {arith.as_text(length)}·{scale} "
            "may not be whole",
            "scale",
            hint="give the output size instead: upsample: {size: [h, w]}",
        )
    value = length * scale
    if value.denominator != 1:
        exact = float(value)
        raise where.error(
            f"upsampling {axis} = {length} by {float(scale):g} gives {exact:g} pixels, "
            "not a whole number",
            "scale",
            hint=f"PyTorch would floor it to {int(value)}: write size: {int(value)} if that "
            "is meant, or a scale that gives a whole size",
        )
    return int(value)


def _window(mode: str, align_corners: bool, length_in: Any, length_out: Any) -> tuple[Any, ...]:
    """(n, spacing, −first input of output 0) for the gathered recurrence along one axis."""
    same = arith.equal(length_in, length_out) is True
    # an unchanged size reads each input exactly; a single input (DeepLab's pooled 1×1 branch)
    # is all every output reads: PyTorch clamps the other taps onto it
    single = arith.equal(length_in, 1) is True
    taps = 1 if same or single else TAPS[mode]
    if align_corners:
        spacing = _ratio(arith.normalize(length_in - 1), arith.normalize(length_out - 1))
        return (taps, spacing, 0)
    spacing = _ratio(length_in, length_out)
    # output 0's source is (0.5)·L_in/L_out − 0.5; its first tap is ⌊src⌋ (bicubic one before)
    first = 0 if mode == "nearest" or same or single else -(taps // 2)
    return (taps, spacing, -first if isinstance(spacing, int | Fraction) else 0)


def _ratio(numerator: Any, denominator: Any) -> Any:
    if isinstance(numerator, int) and isinstance(denominator, int):
        if denominator == 0:
            return Fraction(numerator)
        value = Fraction(numerator, denominator)
        return value.numerator if value.denominator == 1 else value
    return arith.normalize(numerator / denominator)


def _single(pair: tuple[Any, ...]) -> Any:
    return pair[0] if pair[0] == pair[1] else pair
