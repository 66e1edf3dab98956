"""Where a network saves: each design choice against the costlier one it replaces.

``find_savings`` walks the plan (:mod:`cnncalc.engine.plan`) and finds

- a 1×1 reduction in front of a larger convolution (against the larger one applied directly);
- a global average pooling head (against flatten + linear on the un-pooled C×H×W);
- two or three stacked 3×3 convolutions (against one 5×5 or 7×7);
- a 1×n convolution followed by an n×1 (against one n×n);
- a depthwise convolution followed by a 1×1 (against a standard convolution);
- a grouped convolution (against the same convolution dense).

"Followed by" means next in the same sequence or branch, ignoring activations,
normalisation, dropout and identities in between; groups (blocks, repeats) are looked
through, a merge (concat, add, multiply) ends a sequence and each branch is one of its own.

Each :class:`Saving` holds the two alternatives with exact parameters (weights + biases,
with the biases the layers have) and MACs (multiply-accumulates without bias adds, for the
whole batch, as cnncalc counts them), and the working. Layers in between (batchnorm,
activations) are the same in both alternatives and are counted in neither.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import pairwise
from typing import Any

from .. import arith
from ..layers import KINDS
from ..layers.base import filter_bank, multiply_accumulates
from ..layers.explain import Equation, factor, product, text
from .plan import GroupStep, LayerStep, MergeStep, ReadStep, Step
from .result import Analysis, Row

REDUCTION = "1x1 reduction"
GLOBAL_POOLING = "global average pooling"
STACKED = "stacked 3x3"
FACTORISED = "factorised n×n"
SEPARABLE = "depthwise separable"
GROUPED = "grouped"
SAVING_KINDS = (REDUCTION, GLOBAL_POOLING, STACKED, FACTORISED, SEPARABLE, GROUPED)

PASS_THROUGH = ("activation", "norm", "regularization")
"""Layer categories that sit between two layers without changing which layer follows which."""


# ------------------------------------------------------------------------ the data


@dataclass(frozen=True)
class Part:
    """One convolution or linear layer of an alternative, real or hypothetical.

    Its weights are ``count`` filters of ``volume`` values each (a kernel F_h·F_w·C_in/g, or
    the input features of a linear layer); it computes ``pixels`` outputs per filter.
    """

    volume: tuple[Any, ...]
    volume_symbols: str
    count: Any
    count_symbol: str
    pixels: tuple[Any, ...] = ()
    pixel_symbols: str = ""
    bias: bool = True

    @cached_property
    def weights(self) -> Any:
        return filter_bank(self.count, self.volume)

    @cached_property
    def biases(self) -> Any:
        return self.count if self.bias else 0

    @cached_property
    def params(self) -> Any:
        return arith.normalize(self.weights + self.biases)

    @cached_property
    def macs(self) -> Any:
        return multiply_accumulates(self.pixels, self.weights)

    def _volume_symbols(self) -> str:
        return f"({self.volume_symbols})" if len(self.volume) > 1 else self.volume_symbols

    def _volume_working(self) -> str:
        working = product(*self.volume)
        return f"({working})" if len(self.volume) > 1 else working

    def params_formula(self) -> str:
        weights = f"{self._volume_symbols()}·{self.count_symbol}"
        return f"{weights} + {self.count_symbol}" if self.bias else weights

    def params_working(self) -> str:
        weights = f"{self._volume_working()}·{factor(self.count)}"
        return f"{weights} + {factor(self.count)}" if self.bias else weights

    def macs_formula(self) -> str:
        lead = "·".join(symbol for symbol in (self.pixel_symbols, self.count_symbol) if symbol)
        return f"{lead}·{self._volume_symbols()}"

    def macs_working(self) -> str:
        return f"{product(*self.pixels, self.count)}·{self._volume_working()}"


@dataclass(frozen=True)
class Alternative:
    """One way of computing the same thing: its layers, exact costs and working."""

    label: str
    parts: tuple[Part, ...]

    @cached_property
    def weights(self) -> Any:
        return _total(part.weights for part in self.parts)

    @cached_property
    def biases(self) -> Any:
        return _total(part.biases for part in self.parts)

    @cached_property
    def params(self) -> Any:
        return _total(part.params for part in self.parts)

    @cached_property
    def macs(self) -> Any:
        return _total(part.macs for part in self.parts)

    @cached_property
    def equations(self) -> tuple[Equation, ...]:
        return (_params_equation(self), _macs_equation(self))


@dataclass(frozen=True)
class Saving:
    """A design choice of the network (``network``) against the one it avoids (``baseline``)."""

    kind: str
    paths: tuple[str, ...]
    description: str
    baseline: Alternative
    """The costlier design: the direct conv, the flatten + FC head, the single 5×5, ..."""
    network: Alternative
    """What the spec does."""
    measure: str = "macs"
    """Which ratio is the headline: ``params`` or ``macs``."""
    remarks: tuple[Equation, ...] = ()
    """The general rule behind the numbers, e.g. ``weights = 2·9·c² vs 25·c²``."""

    @cached_property
    def params_ratio(self) -> Any:
        """baseline / network parameters (exact; None when the network has none)."""
        return exact_ratio(self.baseline.params, self.network.params)

    @cached_property
    def macs_ratio(self) -> Any:
        return exact_ratio(self.baseline.macs, self.network.macs)

    @cached_property
    def ratio(self) -> Any:
        return self.params_ratio if self.measure == "params" else self.macs_ratio

    @cached_property
    def equations(self) -> tuple[Equation, ...]:
        """The working: both alternatives, the ratio and any general remark."""
        return (
            *self.baseline.equations,
            *self.network.equations,
            ratio_equation(self),
            *self.remarks,
        )


def exact_ratio(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator as a Fraction (a sympy expression when symbolic); None for /0."""
    numerator, denominator = arith.normalize(numerator), arith.normalize(denominator)
    if isinstance(numerator, int) and isinstance(denominator, int):
        return Fraction(numerator, denominator) if denominator else None
    if arith.equal(denominator, 0) is True:
        return None
    ratio = arith.normalize(numerator / denominator)
    if getattr(ratio, "is_Rational", False):  # the symbols cancelled: 12/7 at any H, W
        return Fraction(int(ratio.p), int(ratio.q))
    return ratio


def ratio_text(ratio: Any) -> str:
    """A ratio to two decimals (``48.95``), ``—`` when undefined, a formula when symbolic."""
    if ratio is None:
        return "—"
    if isinstance(ratio, Fraction | int):
        if abs(Fraction(ratio)) < 10**300:
            return f"{float(ratio):.2f}"
        exact = Fraction(ratio)  # past a float's range, exact digits (found by the fuzzer)
        return arith.quotient_text(exact.numerator, exact.denominator, 2, thousands=False)
    return arith.as_text(ratio)


def ratio_equation(saving: Saving) -> Equation:
    """``MACs ratio = 120,422,400 / 12,443,648 = 9.68×``."""
    name = "params" if saving.measure == "params" else "MACs"
    baseline = saving.baseline.params if name == "params" else saving.baseline.macs
    network = saving.network.params if name == "params" else saving.network.macs
    ratio = saving.ratio
    costs_more = isinstance(ratio, Fraction) and ratio < 1
    return Equation(
        f"{name} ratio",
        "without / with",
        f"{factor(baseline)} / {factor(network)}"
        if arith.is_symbolic(baseline + network)
        else f"{text(baseline)} / {text(network)}",
        f"{ratio_text(ratio)}×",
        f"(the network's choice has more {name} here)" if costs_more else "",
    )


def _total(values: Iterator[Any]) -> Any:
    total: Any = 0
    for value in values:
        total = total + value
    return arith.normalize(total)


def _params_equation(alternative: Alternative) -> Equation:
    parts = alternative.parts
    biases = alternative.biases
    note = f"({text(alternative.weights)} weights + {text(biases)} biases)" if biases else ""
    return Equation(
        "parameters",
        " + ".join(part.params_formula() for part in parts),
        " + ".join(part.params_working() for part in parts),
        text(alternative.params),
        note or "(no biases)",
    )


def _macs_equation(alternative: Alternative) -> Equation:
    parts = alternative.parts
    note = " + ".join(text(part.macs) for part in parts) if len(parts) > 1 else ""
    return Equation(
        "MACs",
        " + ".join(part.macs_formula() for part in parts),
        " + ".join(part.macs_working() for part in parts),
        text(alternative.macs),
        f"({note})" if note else "",
    )


# ------------------------------------------------------------------------ walking the plan


def find_savings(analysis: Analysis) -> list[Saving]:
    """Every saving in ``analysis``, in network order."""
    batch = analysis.batch
    found: list[Saving] = []
    for chain in sequences(analysis.steps):
        layers = [row for row in chain if not passes_through(row)]
        found += _savings_in(layers, batch)
    order = {row.path: index for index, row in enumerate(analysis.rows)}
    return sorted(
        found, key=lambda saving: (order[saving.paths[0]], SAVING_KINDS.index(saving.kind))
    )


def sequences(steps: Sequence[Step]) -> Iterator[tuple[Row, ...]]:
    """Every straight run of layer rows: groups are looked through; a merge ends the run and
    each of its branches is a run of its own."""
    run: list[Row] = []
    for item in _look_through(steps):
        if isinstance(item, ReadStep):  # the next layer reads an earlier output
            yield tuple(run)
            run = []
        elif isinstance(item, MergeStep):
            yield tuple(run)
            run = []
            for branch in item.branches:
                yield from sequences(branch)
        else:
            run.append(item)
    yield tuple(run)


def _look_through(steps: Sequence[Step]) -> Iterator[Row | MergeStep | ReadStep]:
    for step in steps:
        if isinstance(step, GroupStep):
            yield from _look_through(step.steps)
        elif isinstance(step, MergeStep | ReadStep):
            yield step
        elif isinstance(step, LayerStep):
            yield step.row


def passes_through(row: Row) -> bool:
    """Activations, normalisation, dropout and identities: not a step of their own here."""
    kind = KINDS.get(row.kind)
    return row.kind == "identity" or (kind is not None and kind.category in PASS_THROUGH)


def _savings_in(layers: list[Row], batch: int) -> list[Saving]:
    found: list[Saving] = []
    for first, second in pairwise(layers):
        for rule in (reduction, factorised, separable):
            saving = rule(first, second, batch)
            if saving is not None:
                found.append(saving)
    for first, second, third in zip(layers, layers[1:], layers[2:], strict=False):
        saving = global_pooling(first, second, third, batch)
        if saving is not None:
            found.append(saving)
    found += [saving for row in layers if (saving := grouped(row, batch)) is not None]
    found += [stacked(run, batch) for run in stacked_runs(layers)]
    return found


# ------------------------------------------------------------------------ layer facts


def _is_conv(row: Row) -> bool:
    return row.kind in ("conv", "depthwise")


def _groups(row: Row) -> Any:
    return row.details.get("groups", 1)


def _plain_conv(row: Row) -> bool:
    """A dense (groups = 1) convolution."""
    return row.kind == "conv" and _groups(row) == 1


def _kernel(row: Row) -> tuple[Any, Any]:
    kernel_height, kernel_width = row.values["kernel"]
    return kernel_height, kernel_width


def _unit_stride(row: Row) -> bool:
    return tuple(row.values["stride"]) == (1, 1) and tuple(row.values["dilation"]) == (1, 1)


def _unpadded(row: Row) -> bool:
    return all(axis.pad_before == 0 and axis.pad_after == 0 for axis in row.details["axes"])


def _pointwise(row: Row) -> bool:
    """A dense 1×1 convolution, stride 1, no padding: a per-pixel linear map of the channels."""
    return _plain_conv(row) and _kernel(row) == (1, 1) and _unit_stride(row) and _unpadded(row)


def _fewer(smaller: Any, larger: Any) -> bool:
    return arith.sign_of(arith.normalize(larger - smaller)) == 1


def _divides(groups: Any, count: Any) -> bool:
    return arith.remainder(count, groups) == 0


def _bias(row: Row) -> bool:
    return bool(row.values.get("bias", True))


def _kernel_text(kernel: tuple[Any, ...]) -> str:
    return "×".join(text(size) for size in kernel)


def _kernel_symbols(kernel: tuple[Any, Any]) -> str:
    if tuple(kernel) == (1, 1):
        return "1·1"
    return "F·F" if kernel[0] == kernel[1] else "F_h·F_w"


def _pixels(row: Row, batch: int) -> tuple[Any, ...]:
    pixels = tuple(row.output_shape[1:])
    return (batch, *pixels) if batch != 1 else pixels


def _pixel_symbols(batch: int) -> str:
    return "N·H·W" if batch != 1 else "H·W"


def _channel_symbol(in_symbol: str, in_channels: Any, groups: Any) -> str:
    if groups == 1:
        return in_symbol
    return "1" if arith.equal(groups, in_channels) is True else f"{in_symbol}/g"


def conv_part(
    row: Row, batch: int, in_symbol: str = "C_in", out_symbol: str = "K", **changes: Any
) -> Part:
    """The convolution of ``row`` as a :class:`Part`; ``changes`` (in_channels, kernel,
    kernel_symbols, groups, out_channels, bias, output) describe a hypothetical variant."""
    kernel = changes.get("kernel", _kernel(row))
    groups = changes.get("groups", _groups(row))
    in_channels = changes.get("in_channels", row.input_shape[0])
    kernel_symbols = changes.get("kernel_symbols", _kernel_symbols(kernel))
    return Part(
        volume=(*kernel, arith.floor_div(in_channels, groups)),
        volume_symbols=f"{kernel_symbols}·{_channel_symbol(in_symbol, in_channels, groups)}",
        count=changes.get("out_channels", row.output_shape[0]),
        count_symbol=out_symbol,
        pixels=_pixels(changes.get("output", row), batch),
        pixel_symbols=_pixel_symbols(batch),
        bias=changes.get("bias", _bias(row)),
    )


# ------------------------------------------------------------------------ the rules


def reduction(first: Row, second: Row, batch: int) -> Saving | None:
    """(a) A 1×1 conv to fewer channels, then a larger conv: against the larger conv applied
    directly to the 1×1's input (same output)."""
    if not (_pointwise(first) and second.kind == "conv") or _kernel(second) == (1, 1):
        return None
    in_channels, reduced = first.input_shape[0], first.output_shape[0]
    if not _fewer(reduced, in_channels) or not _divides(_groups(second), in_channels):
        return None
    kernel = _kernel_text(_kernel(second))
    baseline = Alternative(
        f"{kernel} directly on {text(in_channels)} channels",
        (conv_part(second, batch, in_channels=in_channels),),
    )
    network = Alternative(
        f"1×1 to {text(reduced)} channels, then {kernel}",
        (conv_part(first, batch, out_symbol="R"), conv_part(second, batch, in_symbol="R")),
    )
    description = (
        f"{first.name} (1×1, {text(in_channels)} → {text(reduced)}) before {second.name} "
        f"({kernel}, → {text(second.output_shape[0])}): the {kernel} convolution sees "
        f"{text(reduced)} channels instead of {text(in_channels)}"
    )
    return Saving(REDUCTION, (first.path, second.path), description, baseline, network)


def _global_average(row: Row) -> bool:
    """Global average pooling: gap, adaptive average to 1×1, or an average pool whose one
    window is the whole map (GoogLeNet's 7×7 average pool on 7×7)."""
    if len(row.output_shape) != 3 or tuple(row.output_shape[1:]) != (1, 1):
        return False
    if row.kind == "avgpool":
        return tuple(row.values["kernel"]) == tuple(row.input_shape[1:]) and _unpadded(row)
    return row.kind in ("global_avgpool", "adaptive_avgpool")


def global_pooling(pool: Row, flatten: Row, linear: Row, batch: int) -> Saving | None:
    """(b) Global average pooling, flatten, linear: against flatten + linear on all of C×H×W."""
    if not (_global_average(pool) and flatten.kind == "flatten" and linear.kind == "linear"):
        return None
    channels, height, width = pool.input_shape
    features = linear.output_shape[0]
    batch_pixels = (batch,) if batch != 1 else ()
    batch_symbol = "N" if batch != 1 else ""
    common = {
        "count": features,
        "count_symbol": "F",
        "pixels": batch_pixels,
        "pixel_symbols": batch_symbol,
        "bias": _bias(linear),
    }
    baseline = Alternative(
        f"flatten {text(channels)}×{text(height)}×{text(width)} + linear",
        (Part((channels, height, width), "C·H·W", **common),),
    )
    network = Alternative(
        f"global average pool to {text(channels)} + linear", (Part((channels,), "C", **common),)
    )
    description = (
        f"{pool.name} averages {text(channels)}×{text(height)}×{text(width)} to "
        f"{text(channels)} values before {linear.name} ({text(features)}): flattening "
        f"would feed it {text(arith.normalize(channels * height * width))}"
    )
    return Saving(
        GLOBAL_POOLING,
        (pool.path, flatten.path, linear.path),
        description,
        baseline,
        network,
        "params",
    )


def _stackable(row: Row) -> bool:
    return _plain_conv(row) and _kernel(row) == (3, 3) and _unit_stride(row)


def stacked_runs(layers: Sequence[Row]) -> Iterator[tuple[Row, ...]]:
    """Consecutive dense 3×3 stride-1 convolutions, cut into twos and threes."""
    run: list[Row] = []
    for row in [*layers, None]:
        if row is not None and _stackable(row):
            run.append(row)
            continue
        start = 0
        for size in _chunk_sizes(len(run)):
            yield tuple(run[start : start + size])
            start += size
        run = []


def _chunk_sizes(count: int) -> list[int]:
    """7 → [3, 2, 2]: threes (one 7×7) where possible, twos (one 5×5) for the rest."""
    if count < 2:
        return []
    # in closed form (a recursion on count - 3 overflowed the stack at 3,000 convs)
    twos = {0: 0, 1: 2, 2: 1}[count % 3]
    return [3] * ((count - 2 * twos) // 3) + [2] * twos


def stacked(run: tuple[Row, ...], batch: int) -> Saving:
    """(c) Two (three) stacked 3×3 convolutions against one 5×5 (7×7): the same window."""
    size = 2 * len(run) + 1
    first, last = run[0], run[-1]
    baseline = Alternative(
        f"one {size}×{size}",
        (conv_part(last, batch, in_channels=first.input_shape[0], kernel=(size, size)),),
    )
    symbols = ["C_in", *(f"C_{index}" for index in range(1, len(run))), "K"]
    parts = tuple(
        conv_part(
            row,
            batch,
            in_symbol=symbols[index],
            out_symbol=symbols[index + 1],
            kernel_symbols="3·3",
        )
        for index, row in enumerate(run)
    )
    network = Alternative(f"{len(run)} stacked 3×3", parts)
    names = ", ".join(row.name for row in run)
    description = (
        f"{names}: {len(run)} stacked 3×3 convolutions see a {size}×{size} window, as one "
        f"{size}×{size} convolution would, with a nonlinearity between each"
    )
    remark = Equation(
        "weights (c channels throughout)",
        f"{len(run)}·(3·3·c)·c vs ({size}·{size}·c)·c",
        "",
        f"{9 * len(run)}·c² vs {size * size}·c²",
    )
    paths = tuple(row.path for row in run)
    return Saving(STACKED, paths, description, baseline, network, "params", (remark,))


def factorised(first: Row, second: Row, batch: int) -> Saving | None:
    """(d) 1×n then n×1 (or n×1 then 1×n), stride 1: against one n×n convolution."""
    if not all(_plain_conv(row) and _unit_stride(row) for row in (first, second)):
        return None
    kernel = _kernel(first)
    size = max(kernel)
    if 1 not in kernel or size == 1 or _kernel(second) != (kernel[1], kernel[0]):
        return None
    first_symbols = "1·n" if kernel[0] == 1 else "n·1"
    second_symbols = "n·1" if kernel[0] == 1 else "1·n"
    baseline = Alternative(
        f"one {text(size)}×{text(size)}",
        (
            conv_part(
                second,
                batch,
                in_channels=first.input_shape[0],
                kernel=(size, size),
                kernel_symbols="n·n",
            ),
        ),
    )
    network = Alternative(
        f"{_kernel_text(kernel)} then {_kernel_text(_kernel(second))}",
        (
            conv_part(first, batch, out_symbol="C_1", kernel_symbols=first_symbols),
            conv_part(second, batch, in_symbol="C_1", kernel_symbols=second_symbols),
        ),
    )
    description = (
        f"{first.name} ({_kernel_text(kernel)}) then {second.name} "
        f"({_kernel_text(_kernel(second))}) see a {text(size)}×{text(size)} window with "
        f"{text(size)} + {text(size)} weights per channel pair instead of {text(size * size)}"
    )
    remark = Equation(
        "weights (c channels throughout)",
        f"({first_symbols}·c)·c + ({second_symbols}·c)·c vs (n·n·c)·c",
        "",
        f"{2 * size}·c² vs {size * size}·c²",
    )
    paths = (first.path, second.path)
    return Saving(FACTORISED, paths, description, baseline, network, "params", (remark,))


def _depthwise(row: Row) -> bool:
    if row.kind == "depthwise":
        return True
    groups = _groups(row)
    return row.kind == "conv" and groups != 1 and arith.equal(groups, row.input_shape[0]) is True


def separable(first: Row, second: Row, batch: int) -> Saving | None:
    """(e) A depthwise conv then a 1×1: against one standard conv with the depthwise kernel
    from the depthwise input to the 1×1 output."""
    if not (_depthwise(first) and _pointwise(second)):
        return None
    in_channels, out_channels = first.input_shape[0], second.output_shape[0]
    kernel = _kernel_text(_kernel(first))
    baseline = Alternative(
        f"standard {kernel}, {text(in_channels)} → {text(out_channels)}",
        (
            conv_part(
                first, batch, groups=1, out_channels=out_channels, bias=_bias(second), output=second
            ),
        ),
    )
    network = Alternative(
        f"{kernel} depthwise + 1×1 pointwise",
        (conv_part(first, batch, out_symbol="M"), conv_part(second, batch, in_symbol="M")),
    )
    description = (
        f"{first.name} ({kernel} depthwise, {text(in_channels)} channels) then {second.name} "
        f"(1×1, → {text(out_channels)}) instead of one {kernel} convolution "
        f"{text(in_channels)} → {text(out_channels)}"
    )
    remarks = _separable_rule(first, second)
    paths = (first.path, second.path)
    return Saving(SEPARABLE, paths, description, baseline, network, "macs", remarks)


def _separable_rule(depthwise: Row, pointwise: Row) -> tuple[Equation, ...]:
    """MobileNet's rule: with / without = 1/K + 1/(F_h·F_w) (multiplier 1, biases aside)."""
    channels, out_channels = depthwise.output_shape[0], pointwise.output_shape[0]
    kernel = _kernel(depthwise)
    if channels != depthwise.input_shape[0] or not isinstance(out_channels, int):
        return ()
    value = Fraction(1, out_channels) + Fraction(1, kernel[0] * kernel[1])
    return (
        Equation(
            "MACs with / without",
            "1/K + 1/(F_h·F_w)",
            f"1/{out_channels} + 1/({product(*kernel)})",
            ratio_text(value),
            "multiplier 1, bias adds aside",
        ),
    )


def grouped(row: Row, batch: int) -> Saving | None:
    """(f) A grouped conv (1 < groups < C_in): against the same conv dense (groups = 1)."""
    if row.kind != "conv" or _groups(row) == 1 or _depthwise(row):
        return None
    groups, in_channels = _groups(row), row.input_shape[0]
    baseline = Alternative(
        f"dense (groups 1), {text(in_channels)} channels per filter",
        (conv_part(row, batch, groups=1),),
    )
    network = Alternative(
        f"{text(groups)} groups, {text(arith.floor_div(in_channels, groups))} channels per filter",
        (conv_part(row, batch),),
    )
    description = (
        f"{row.name} ({_kernel_text(_kernel(row))}, {text(in_channels)} → "
        f"{text(row.output_shape[0])}) in {text(groups)} groups: each filter sees "
        f"{text(arith.floor_div(in_channels, groups))} of the {text(in_channels)} channels"
    )
    return Saving(GROUPED, (row.path,), description, baseline, network, "params")
