"""global_avgpool / global_maxpool and adaptive_avgpool / adaptive_maxpool.

Global pooling reduces each channel to one value: C×H×W → C×1×1 (``nn.AdaptiveAvgPool2d(1)``),
the head of NiN, GoogLeNet and ResNet that replaced flatten + big FC layers.
Adaptive pooling to (oh, ow) uses PyTorch's windows: for output i of n over a size L,
start = ⌊i·L/n⌋ and end = ⌈(i+1)·L/n⌉. Pooling ops = sum of the window sizes.
fvcore counts adaptive *average* pooling as one flop per input element, max as 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any, ClassVar

from .. import arith
from .base import Cost, Field, Gathered, LayerKind, Pair, TorchCode, Where
from .explain import Equation, Explanation, factor, no_parameters, text, volume


def window_lengths(size_in: Any, size_out: int) -> Iterator[Any]:
    """The length of each of PyTorch's adaptive windows along one axis: output i of n over
    L pools ⌊i·L/n⌋ … ⌈(i + 1)·L/n⌉ (exact, also symbolic)."""
    for index in range(size_out):
        start = arith.floor_div(index * size_in, size_out)
        end = arith.ceil_div((index + 1) * size_in, size_out)
        yield arith.normalize(end - start)


SYMBOLIC_WINDOWS = 4096
"""The most adaptive outputs per axis worked window by window over a symbolic size (a
numeric size has the closed forms below, at any output size)."""


def _windows_bounded(size_in: Any, size_out: int, where: Where | None = None) -> None:
    if not isinstance(size_in, int) and size_out > SYMBOLIC_WINDOWS:
        message = (
            f"adaptive pooling of a symbolic size into {size_out:,} outputs: cnncalc works "
            f"at most {SYMBOLIC_WINDOWS:,} symbolic windows per axis"
        )
        hint = "give a numeric --input, or a smaller output size"
        if where is None:
            from ..errors import SpecError

            raise SpecError(message, hint=hint)
        raise where.error(message, "output", hint=hint)


def window_total(size_in: Any, size_out: int) -> Any:
    """Σ over the outputs of the window lengths along one axis. For numbers in closed form:
    window i is ⌈(r + L)/n⌉ long with r = i·L mod n, and Σ⌈(i+1)L/n⌉ − ⌊iL/n⌋ telescopes
    to L plus the n − gcd(n, L) windows whose end is rounded up."""
    if isinstance(size_in, int):
        return size_in + size_out - math.gcd(size_in, size_out)
    _windows_bounded(size_in, size_out)
    total: Any = 0
    for length in window_lengths(size_in, size_out):
        total = total + length
    return arith.normalize(total)


def adaptive_window(size_in: Any, size_out: int) -> tuple[Any, Any, int]:
    """The receptive-field step of one axis: (the longest window, the windows' mean spacing
    L/n, 0). The windows start at ⌊i·L/n⌋, so unless n divides L they are not evenly spaced:
    the jump is then their exact mean spacing, a fraction."""
    if isinstance(size_in, int):
        # the offsets r = i·L mod n are the multiples of gcd(n, L) below n: the longest
        # window has r = n − gcd, so ⌈(n − gcd + L)/n⌉ (no loop over a huge n)
        longest: Any = -(-(size_out - math.gcd(size_in, size_out) + size_in) // size_out)
    else:
        _windows_bounded(size_in, size_out)
        longest = 0
        for length in window_lengths(size_in, size_out):
            longest = arith.maximum(longest, length)
    if isinstance(size_in, int):
        spacing: Any = Fraction(size_in, size_out)
        spacing = spacing.numerator if spacing.denominator == 1 else spacing
    else:
        spacing = arith.normalize(size_in / size_out)
    return longest, spacing, 0


def _uneven_warning(sizes_in: tuple[Any, Any], sizes_out: tuple[int, int]) -> tuple[str, ...]:
    """Uneven windows leave no regular grid: later receptive fields are approximate."""
    uneven = [
        f"{arith.as_text(size_in)} into {size_out}"
        for size_in, size_out in zip(sizes_in, sizes_out, strict=True)
        if size_out > 1 and arith.remainder(size_in, size_out) != 0
    ]
    if not uneven:
        return ()
    return (
        f"adaptive windows are uneven ({', '.join(uneven)}): the receptive fields of the "
        "layers after it use the windows' mean spacing, so they are approximate",
    )


class _Adaptive(LayerKind):
    receptive_field = "gathered"
    prefix = "pool"
    category = "pool"
    average: ClassVar[bool] = True

    def output_size(self, values: Mapping[str, Any]) -> tuple[Any, Any]:
        return values["output"]

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H_in, W_in = self.spatial(shape, where)
        H_out, W_out = self.output_size(values)
        if not (isinstance(H_out, int) and isinstance(W_out, int)):
            raise where.error("adaptive pooling needs a numeric output size", "output")
        _windows_bounded(H_in, H_out, where)
        _windows_bounded(W_in, W_out, where)
        reads = arith.normalize(C * window_total(H_in, H_out) * window_total(W_in, W_out))
        input_elements = arith.normalize(C * H_in * W_in)
        geometry = (adaptive_window(H_in, H_out), adaptive_window(W_in, W_out))
        return Cost(
            output=(C, H_out, W_out),
            ops={"pooling": reads},
            peers={"fvcore": input_elements if self.average else 0},
            details={"window": geometry},
            warnings=_uneven_warning((H_in, W_in), (H_out, W_out)),
            window=geometry,
        )

    def field_rule(self, row: Any, axis: int) -> str:
        """Pooling to one value along an axis sees all of it; to n > 1, uneven windows."""
        return "global" if row.output_shape[axis + 1] == 1 else "gathered"

    def gathered_terms(self, row: Any, axis: int) -> Gathered:
        size_from, size_to = row.input_shape[axis + 1], row.output_shape[axis + 1]
        (_, jump_in, _), reach = row.receptive_field_in[axis], row.details["window"][axis][0]
        return Gathered(
            "k",
            "j_in·L/n",
            f"{factor(jump_in)}·{factor(size_from)}/{size_to}",
            f"k = {text(reach)}: the longest of the windows ⌊i·L/n⌋ … ⌈(i + 1)·L/n⌉",
        )

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        what = "averaged" if self.average else "reduced to its maximum"
        channels, height, width = row.input_shape
        return Explanation(
            (("input", volume(row.input_shape)),),
            (
                Equation(
                    "output",
                    "",
                    f"each of the {text(channels)} channels {what} over its "
                    f"{text(height)}×{text(width)} pixels into {text(row.output_shape[1])}×"
                    f"{text(row.output_shape[2])}",
                    volume(row.output_shape),
                ),
                no_parameters("pooling has no weights"),
            ),
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        size = output[1] if output[1] == output[2] else (output[1], output[2])
        return TorchCode(f"nn.Adaptive{'Avg' if self.average else 'Max'}Pool2d({size!r})")


class AdaptiveAvgPool(_Adaptive):
    name = "adaptive_avgpool"
    aliases = ("adaptive_avg_pool",)
    shorthand = "output"
    summary = "adaptive average pooling to a fixed output size (nn.AdaptiveAvgPool2d)"
    fields: ClassVar[tuple[Field, ...]] = (Pair("output", doc="output size: int or [oh, ow]"),)


class AdaptiveMaxPool(_Adaptive):
    name = "adaptive_maxpool"
    aliases = ("adaptive_max_pool",)
    shorthand = "output"
    average = False
    summary = "adaptive max pooling to a fixed output size (nn.AdaptiveMaxPool2d)"
    fields: ClassVar[tuple[Field, ...]] = (Pair("output", doc="output size: int or [oh, ow]"),)


class GlobalAvgPool(_Adaptive):
    name = "global_avgpool"
    aliases = ("gap", "global_average_pool", "global_avg_pool")
    summary = "global average pooling: C×H×W → C×1×1 (nn.AdaptiveAvgPool2d(1))"

    def output_size(self, values: Mapping[str, Any]) -> tuple[Any, Any]:
        return (1, 1)


class GlobalMaxPool(_Adaptive):
    name = "global_maxpool"
    aliases = ("global_max_pool",)
    average = False
    summary = "global max pooling: C×H×W → C×1×1 (nn.AdaptiveMaxPool2d(1))"

    def output_size(self, values: Mapping[str, Any]) -> tuple[Any, Any]:
        return (1, 1)
