"""Layers that only move or select values: flatten, dropout, identity, zeropad, channel
shuffle and channel split. No parameters, no MACs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import arith
from .base import Cost, Field, Float, Int, LayerKind, Sizes, TorchCode, Where, elements, torch_args
from .explain import Equation, Explanation, product, text, volume


class Flatten(LayerKind):
    name = "flatten"
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


class Identity(LayerKind):
    name = "identity"
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


class ZeroPadField(Field):
    type_name = "int, [ph, pw] or [top, bottom, left, right]"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> tuple[Any, ...]:
        items = raw if isinstance(raw, list) else [raw]
        if len(items) not in (1, 2, 4):
            raise where.error(
                f"'{self.name}' must be an int, [ph, pw] or [top, bottom, left, right]", self.name
            )
        values = [Int(self.name, minimum=0).parse(item, env, where) for item in items]
        if len(values) == 1:
            return (values[0],) * 4
        if len(values) == 2:
            return (values[0], values[0], values[1], values[1])
        return tuple(values)


class ZeroPad(LayerKind):
    name = "zeropad"
    aliases = ("zero_padding", "zeropad2d", "pad")
    prefix = "pad"
    category = "reshape"
    shorthand = "padding"
    summary = "zero padding around the image (nn.ZeroPad2d, Keras ZeroPadding2D)"
    fields = (ZeroPadField("padding"),)

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H, W = self.spatial(shape, where)
        top, bottom, left, right = values["padding"]
        return Cost(
            output=(C, arith.normalize(H + top + bottom), arith.normalize(W + left + right)),
            window=((1, 1, top), (1, 1, left)),
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        top, bottom, left, right = values["padding"]
        return TorchCode(f"nn.ZeroPad2d({(left, right, top, bottom)!r})")

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        top, bottom, left, right = row.values["padding"]
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


class ChannelSplit(LayerKind):
    name = "channel_split"
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
