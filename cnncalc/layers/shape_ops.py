"""Layers that only move or select values: flatten, dropout, identity, zeropad, channel
shuffle and channel split. No parameters, no MACs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import Cost, Field, Float, Int, LayerKind, Sizes, TorchCode, Where, elements, torch_args
from .explain import Equation, Explanation, product, text, unchanged, volume


class Flatten(LayerKind):
    name = "flatten"
    receptive_field = "pointwise"
    prefix = "flatten"
    category = "reshape"
    summary = "C×H×W → C·H·W (a view: nothing is computed)"

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        return Cost(output=(elements(shape),))

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        return TorchCode("nn.Flatten()")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        channels, height, width = row.input_shape
        return Explanation(
            (("input", volume(row.input_shape)),),
            (
                Equation(
                    "N",
                    "H_in·W_in·D_in",
                    product(height, width, channels),
                    text(row.output_shape[0]),
                    "a reshape: nothing is computed",
                ),
            ),
        )


class Dropout(LayerKind):
    name = "dropout"
    receptive_field = "pointwise"
    prefix = "dropout"
    category = "regularization"
    shorthand = "p"
    summary = "dropout (identity at inference)"
    fields = (Float("p", 0.5, doc="probability of zeroing an element"),)

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        if not 0 <= values["p"] <= 1:
            raise where.error(f"dropout p must be between 0 and 1, got {values['p']}", "p")
        return Cost(output=shape)

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        return TorchCode(f"nn.Dropout({torch_args(p=values['p'])})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        return unchanged(row, self.name)


class Identity(LayerKind):
    name = "identity"
    receptive_field = "pointwise"
    prefix = "identity"
    category = "reshape"
    summary = "passes its input through"

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        return Cost(output=shape)

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        return TorchCode("nn.Identity()")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        return unchanged(row, self.name)


class KerasOrder(tuple[Any, ...]):
    """(top, bottom, left, right) read from a flat list of four: Keras' order, which PyTorch's
    ``nn.ZeroPad2d((left, right, top, bottom))`` would read otherwise."""


SIDES = ("top", "bottom", "left", "right")


class ZeroPadField(Field):
    """The list forms of zeropad's padding; the sides by name are fields of their own."""

    type_name = "int, [ph, pw], [[top, bottom], [left, right]] or [top, bottom, left, right]"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> tuple[Any, ...]:
        if raw is None:
            return ()
        items = raw if isinstance(raw, list) else [raw]
        if len(items) == 2 and all(isinstance(item, list) for item in items):
            return self._nested(items, env, where)
        if len(items) not in (1, 2, 4) or any(isinstance(item, list) for item in items):
            raise where.error(
                f"'{self.name}' must be an int, [ph, pw], [[top, bottom], [left, right]] or "
                "[top, bottom, left, right]",
                self.name,
                hint="or name the sides: zeropad: {top: 1, bottom: 1, left: 2, right: 2}",
            )
        values = [Int(self.name, minimum=0).parse(item, env, where) for item in items]
        if len(values) == 1:
            return (values[0],) * 4
        if len(values) == 2:
            return (values[0], values[0], values[1], values[1])
        return KerasOrder(values)

    def _nested(self, items: list[Any], env: Mapping[str, Any], where: Where) -> tuple[Any, ...]:
        """Keras' ((top, bottom), (left, right)): H's pair first, as in every cnncalc pair."""
        if any(len(item) != 2 for item in items):
            raise where.error(
                f"'{self.name}' as pairs is [[top, bottom], [left, right]]", self.name
            )
        (top, bottom), (left, right) = (
            [Int(self.name, minimum=0).parse(value, env, where) for value in item] for item in items
        )
        return (top, bottom, left, right)


def _ambiguity(padding: tuple[Any, ...]) -> tuple[str, ...]:
    """A flat list of four whose halves differ reads differently in Keras and PyTorch."""
    if not isinstance(padding, KerasOrder) or padding[:2] == padding[2:]:
        return ()
    top, bottom, left, right = padding
    return (
        f"zeropad [{top}, {bottom}, {left}, {right}] is read in Keras' order (top {top}, "
        f"bottom {bottom}, left {left}, right {right}); PyTorch's nn.ZeroPad2d(({top}, "
        f"{bottom}, {left}, {right})) would pad left {top}, right {bottom}, top {left}, "
        f"bottom {right}: name the sides to say which, zeropad: {{top: {top}, bottom: "
        f"{bottom}, left: {left}, right: {right}}}",
    )


def sides(values: Mapping[str, Any], where: Where | None = None) -> tuple[Any, ...]:
    """(top, bottom, left, right) from ``padding`` or from the sides named one by one."""
    named = {side: values.get(side) for side in SIDES if values.get(side) is not None}
    if values.get("padding"):
        if named and where is not None:
            raise where.error(
                "zeropad takes 'padding' or the sides by name, not both",
                next(iter(named)),
                hint="write zeropad: {top: 1, bottom: 1, left: 2, right: 2}, or padding alone",
            )
        return tuple(values["padding"])
    if not named and where is not None:
        raise where.error(
            "zeropad needs 'padding' or at least one side (top, bottom, left, right)",
            hint="write zeropad: 1, or zeropad: {left: 1, right: 1}",
        )
    return tuple(named.get(side, 0) for side in SIDES)


class ZeroPad(LayerKind):
    name = "zeropad"
    receptive_field = "sliding"
    aliases = ("zero_padding", "zeropad2d", "pad")
    prefix = "pad"
    category = "reshape"
    shorthand = "padding"
    summary = "zero padding around the image (nn.ZeroPad2d, Keras ZeroPadding2D)"
    fields = (
        ZeroPadField("padding", None, doc="all sides, or a list (see the spec language)"),
        *(Int(side, None, minimum=0, doc=f"{side} rows or columns") for side in SIDES),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H, W = self.spatial(shape, where)
        top, bottom, left, right = sides(values, where)
        return Cost(
            output=(C, arith.normalize(H + top + bottom), arith.normalize(W + left + right)),
            window=((1, 1, top), (1, 1, left)),
            warnings=_ambiguity(values["padding"]),
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        top, bottom, left, right = sides(values)
        return TorchCode(f"nn.ZeroPad2d({(left, right, top, bottom)!r})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        top, bottom, left, right = sides(row.values)
        _, height, width = row.input_shape
        return Explanation(
            (
                ("input", volume(row.input_shape)),
                ("top, bottom, left, right", f"{top}, {bottom}, {left}, {right}"),
            ),
            (
                Equation(
                    "W_out",
                    "W_in + P_left + P_right",
                    f"{text(width)} + {left} + {right}",
                    text(row.output_shape[2]),
                ),
                Equation(
                    "H_out",
                    "H_in + P_top + P_bottom",
                    f"{text(height)} + {top} + {bottom}",
                    text(row.output_shape[1]),
                ),
                Equation("D_out", "D_in", "", text(row.output_shape[0])),
                Equation("parameters", "", "", "0", "zero padding has no weights"),
            ),
        )


class ChannelShuffle(LayerKind):
    name = "channel_shuffle"
    receptive_field = "pointwise"
    aliases = ("shuffle",)
    prefix = "shuffle"
    category = "reshape"
    shorthand = "groups"
    summary = "interleave channels between groups (ShuffleNet; nn.ChannelShuffle)"
    fields = (Int("groups"),)

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        rest = arith.remainder(shape[0], values["groups"])
        if rest not in (0, None):
            raise where.error(
                f"channels ({arith.as_text(shape[0])}) are not divisible by groups "
                f"({values['groups']})",
                "groups",
            )
        return Cost(output=shape)

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        # ShuffleNet's channel shuffle: (g, C/g) → transpose → flatten
        groups = values["groups"]
        return TorchCode(None, f"{{x}}.unflatten(1, ({groups}, -1)).transpose(1, 2).flatten(1, 2)")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        return unchanged(row, self.name)


class ChannelSplit(LayerKind):
    name = "channel_split"
    receptive_field = "pointwise"
    aliases = ("split",)
    prefix = "split"
    category = "reshape"
    shorthand = "sections"
    summary = "keep one part of the channels (ShuffleNet v2's split; torch.split on dim 1)"
    fields = (
        Sizes("sections", doc="an int (equal parts) or a list of part sizes"),
        Int("index", 0, minimum=0, doc="which part to keep (0-based)"),
    )

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        channels, sections, index = shape[0], values["sections"], values["index"]
        if isinstance(sections, tuple):
            total = arith.normalize(sum(sections))
            if arith.equal(total, channels) is False:
                raise where.error(
                    f"sections {list(sections)} add up to {arith.as_text(total)}, "
                    f"not the {arith.as_text(channels)} input channels",
                    "sections",
                )
            parts = sections
        else:
            if arith.remainder(channels, sections) not in (0, None):
                raise where.error(
                    f"{arith.as_text(channels)} channels do not split into {sections} equal parts",
                    "sections",
                )
            parts = (arith.floor_div(channels, sections),) * sections
        if index >= len(parts):
            raise where.error(f"index {index} is out of range: {len(parts)} parts", "index")
        return Cost(output=(parts[index], *shape[1:]), details={"parts": parts})

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        parts, index = list(details["parts"]), values["index"]
        return TorchCode(None, f"{{x}}.split({parts!r}, dim=1)[{index}]")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        parts = " + ".join(text(part) for part in row.details["parts"])
        return Explanation(
            (("input", volume(row.input_shape)),),
            (
                Equation(
                    "D_out",
                    f"part {row.values['index']} (counted from 0) of {parts}",
                    "",
                    text(row.output_shape[0]),
                    "the channels are split into parts; this layer keeps one",
                ),
            ),
        )
