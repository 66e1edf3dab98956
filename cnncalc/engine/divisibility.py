"""For which input sizes does no layer drop a pixel? The rule behind U-Net's 572.

"valid for H ≥ 188" says where every window fits; it does not say where the network is
*exact*. A 2×2 max pool over an odd size floors away its last row, so the original U-Net
asks for an input whose every pooled map is even (Ronneberger et al. 2015: "it is important
to select the input tile size such that all 2×2 max-pooling operations are applied to a
layer with an even x- and y-size"). This module finds that rule for any network, from its
layers, not by name: a sliding window (conv, pool) loses pixels when its division
``(H_in + 2P − K)/S`` leaves real input rows that no window reaches — the engine's
:func:`~cnncalc.layers.geometry.lost_pixels`, the same test behind its "never covered"
warning.

Only windows that can drop a pixel are looked at: a stride above 1, a window at least as long
as the stride, no ceil_mode, and less padding after than stride − 1 (ResNet's padded strided
convs never drop one, so ResNet gets no rule). Whether such a window divides exactly depends
on H only through the period of ⌊reach/S⌋ — its formula in H is quasi-linear
(:mod:`cnncalc.quasilinear`), 16 for U-Net's fourth pool — so the window's formulas are
evaluated at every size over two periods from the smallest valid size (exact fractions, no
analysis run; the second period checks the pattern repeats). The residues that no window
objects to give the rule, stated with the smallest modulus that describes it (H ≡ 1 (mod 2),
not H mod 4 ∈ {1, 3}); when it is a single residue the output formula and the MACs are
rewritten under it: U-Net's 16·⌊(H − 12)/16⌋ − 172 is H − 184 for every H ≡ 12 (mod 16).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import arith, quasilinear
from ..layers.geometry import Axis, lost_pixels

LARGEST_PERIOD = 1024
"""The longest period tried (2 × 1024 sizes of a few formulas each): ten stride-2 stages."""

SHOWN_SIZES = 3
"""Exact sizes listed with a rule (188, 204, 220, …)."""

AXES = ("H", "W")


@dataclass(frozen=True)
class ExactSizes:
    """The sizes of one input symbol at which no layer drops a pixel: ``symbol ≡ residue
    (mod modulus)`` for each residue."""

    symbol: str
    modulus: int
    residues: tuple[int, ...]
    """Empty: no size is exact (a layer drops pixels whatever the input)."""
    sizes: tuple[int, ...]
    """The smallest exact sizes from where the network is valid (188, 204, 220 for U-Net)."""
    layers: tuple[str, ...]
    """The layers that drop pixels at the other sizes (U-Net: pool1 … pool4)."""


@dataclass(frozen=True)
class Exactness:
    """Where a symbolic analysis is exact, and its outputs there."""

    rules: tuple[ExactSizes, ...]
    outputs: tuple[tuple[Any, ...], ...] = ()
    """Each output's shape with the rules substituted (H − 184 for 16·⌊(H − 12)/16⌋ − 172),
    when every rule is one residue and the roundings all cancel; else ()."""
    macs: Any = None
    """The MACs there, as a polynomial (733,888·H·W − … for U-Net), when they simplify."""


def exact_sizes(symbolic: Any) -> Exactness | None:
    """The rule of each spatial symbol of the ``symbolic`` analysis (with its ``valid_from``)
    at which no layer drops a pixel; None when the spatial sizes are numbers, no layer can
    ever drop one (stride 1, or padding that absorbs the remainder), a size formula is not
    quasi-linear, or the period is longer than LARGEST_PERIOD."""
    input_shape = symbolic.input_shape
    if len(input_shape) != 3:
        return None
    axis_symbols = {
        axis: dim for axis, dim in zip(AXES, input_shape[1:], strict=True) if _bare(dim)
    }
    windows = [
        (row.path, axis)
        for row in symbolic.rows
        for axis in _axes(row)
        if axis.axis in axis_symbols and _may_drop(axis)
    ]
    period = _period(windows, set(axis_symbols.values()))
    if not windows or period is None:
        return None
    start = max([1, *symbolic.valid_from.values()])
    try:
        verdicts = {
            size: _verdict(windows, axis_symbols, size) for size in range(start, start + 2 * period)
        }
    except ValueError:
        return None
    if any(verdicts[size] != verdicts[size + period] for size in range(start, start + period)):
        return None  # not periodic after all: say nothing rather than something wrong
    symbols = sorted({str(symbol) for symbol in axis_symbols.values()})
    rules = tuple(
        rule for name in symbols if (rule := _rule(name, verdicts, period, start)) is not None
    )
    if not rules:
        return None
    outputs = [row.output_shape for row in symbolic.outputs] or [symbolic.output_shape]
    macs = under_rules(symbolic.totals.macs, rules)
    return Exactness(
        rules, _exact_outputs(outputs, rules), macs if macs != symbolic.totals.macs else None
    )


def _bare(dim: Any) -> bool:
    return not isinstance(dim, int) and getattr(dim, "is_Symbol", False)


def _axes(row: Any) -> tuple[Axis, ...]:
    axes = row.details.get("axes", ()) if not row.is_group else ()
    return tuple(axis for axis in axes if isinstance(axis, Axis))


def _may_drop(axis: Axis) -> bool:
    """Whether a window can leave real pixels uncovered at some size: a stride above 1, a
    window at least as long (a 1×1 stride-2 projection skips pixels by design), no ceil_mode,
    and less padding after than stride − 1 (ResNet's 3×3/2 with padding 1 never drops one)."""
    stride, kernel = axis.stride, axis.kernel_effective
    if axis.ceil_mode or not (isinstance(stride, int) and isinstance(kernel, int)):
        return False
    if stride == 1 or kernel < stride:
        return False
    return not (isinstance(axis.pad_after, int) and axis.pad_after >= stride - 1)


def _period(windows: list[tuple[str, Axis]], symbols: set[Any]) -> int | None:
    """After how many sizes the pattern of divisions repeats: the lcm over the windows of the
    period of ⌊reach/S⌋ (a stride-s layer after strides totalling j: j·s)."""
    period = 1
    for _, axis in windows:
        found = quasilinear.periods(arith.floor_div(axis.reach, axis.stride))
        if found is None:
            return None
        for symbol, steps in found.items():
            if symbol not in symbols:
                return None  # a window along H whose size depends on W: not this rule
            period = math.lcm(period, steps)
    return period if period <= LARGEST_PERIOD else None


def _verdict(
    windows: list[tuple[str, Axis]], axis_symbols: dict[str, Any], size: int
) -> dict[str, tuple[str, ...]]:
    """For each symbol, the layers that drop pixels along its axes when every spatial symbol
    is ``size``: each window's sizes evaluated from its formulas (no analysis is run)."""
    point = dict.fromkeys(axis_symbols.values(), size)
    dropping: dict[str, list[str]] = {str(symbol): [] for symbol in axis_symbols.values()}
    for path, axis in windows:
        numeric = replace(
            axis,
            size_in=_whole(axis.size_in, point),
            pad_after=_whole(axis.pad_after, point),
            uncovered=_whole(axis.reach, point) % axis.stride,
        )
        symbol = str(axis_symbols[axis.axis])
        if lost_pixels(numeric) and path not in dropping[symbol]:
            dropping[symbol].append(path)
    return {symbol: tuple(paths) for symbol, paths in dropping.items()}


def _whole(value: Any, point: dict[Any, int]) -> int:
    if isinstance(value, int):
        return value
    result = quasilinear.evaluate(value, point)
    if result.denominator != 1:
        raise ValueError(f"{value} is not whole at {point}")
    return int(result)


def _rule(
    symbol: str, verdicts: dict[int, dict[str, tuple[str, ...]]], period: int, start: int
) -> ExactSizes | None:
    exact = sorted(size % period for size, verdict in verdicts.items() if not verdict[symbol])
    layers = tuple(dict.fromkeys(path for verdict in verdicts.values() for path in verdict[symbol]))
    if not layers:
        return None  # every size is exact: nothing to say
    modulus = _smallest_modulus(set(exact), period)
    residues = tuple(sorted({residue % modulus for residue in exact}))
    sizes = _first_sizes(residues, modulus, start)
    return ExactSizes(symbol, modulus, residues, sizes, layers)


def _smallest_modulus(residues: set[int], period: int) -> int:
    """The least divisor d of the period such that the residues are whole classes mod d."""
    for modulus in range(1, period + 1):
        if period % modulus:
            continue
        classes = {residue % modulus for residue in residues}
        if {r for r in range(period) if r % modulus in classes} == residues:
            return modulus
    return period


def _first_sizes(residues: tuple[int, ...], modulus: int, start: int) -> tuple[int, ...]:
    candidates = range(start, start + SHOWN_SIZES * modulus)
    return tuple([size for size in candidates if size % modulus in residues][:SHOWN_SIZES])


def _exact_outputs(
    output_shapes: Sequence[tuple[Any, ...]], rules: tuple[ExactSizes, ...]
) -> tuple[tuple[Any, ...], ...]:
    """Each output shape under the rules; () when one does not simplify or nothing changes
    (a classifier's 1000)."""
    shapes = []
    for shape in output_shapes:
        dims = [under_rules(dim, rules) for dim in shape]
        if any(dim is None for dim in dims):
            return ()
        shapes.append(tuple(dims))
    pairs = zip(shapes, output_shapes, strict=True)
    if all(arith.equal(a, b) for new, old in pairs for a, b in zip(new, old, strict=True)):
        return ()
    return tuple(shapes)


def under_rules(value: Any, rules: tuple[ExactSizes, ...]) -> Any:
    """``value`` at the sizes the rules allow: symbol = modulus·q + residue substituted, the
    roundings folded (q is whole, so ⌊(16·q + 12 − 12)/16⌋ is q) and q put back; None when a
    rule has several residues or a rounding stays (the value is not a polynomial there)."""
    if isinstance(value, int):
        return value
    if any(len(rule.residues) != 1 for rule in rules):
        return None
    sp = arith._sympy()
    value = sp.Integer(1) * value
    back = {}
    for rule in rules:
        name, steps = arith.symbol(rule.symbol), arith.symbol(f"{rule.symbol}_steps")
        value = value.subs(name, rule.modulus * steps + rule.residues[0])
        back[steps] = (name - rule.residues[0]) / rule.modulus
    if value.has(sp.floor, sp.ceiling):
        return None
    return arith.normalize(sp.expand(value.subs(back)))


def rule_text(exactness: Exactness) -> str:
    """``H, W ≡ 12 (mod 16): 188, 204, 220, … (no pixel dropped by pool1, …)``."""
    return f"{sizes_text(exactness)} ({dropping_text(exactness)})"


def sizes_text(exactness: Exactness) -> str:
    """``H, W ≡ 12 (mod 16): 188, 204, 220, …``; symbols with the same rule share it."""
    groups: dict[tuple[int, tuple[int, ...]], list[ExactSizes]] = {}
    for rule in exactness.rules:
        groups.setdefault((rule.modulus, rule.residues), []).append(rule)
    parts = []
    for (modulus, residues), rules in groups.items():
        names = ", ".join(rule.symbol for rule in rules)
        sizes = ", ".join(f"{size:,}" for size in rules[0].sizes)
        if not residues:
            parts.append(f"no {names} (a layer drops pixels at every size)")
        elif len(residues) == 1:
            parts.append(f"{names} ≡ {residues[0]} (mod {modulus}): {sizes}, …")
        else:
            listed = ", ".join(str(residue) for residue in residues)
            parts.append(f"{names} mod {modulus} ∈ {{{listed}}}: {sizes}, …")
    return "; ".join(parts)


def dropping_text(exactness: Exactness) -> str:
    """``no pixel dropped by pool1, pool2, pool3, pool4``: the layers the rule is about."""
    layers = list(dict.fromkeys(path for rule in exactness.rules for path in rule.layers))
    return f"no pixel dropped by {_listed(layers)}"


def _listed(paths: list[str], most: int = 4) -> str:
    if len(paths) <= most:
        return ", ".join(paths)
    return f"{', '.join(paths[:most])} and {len(paths) - most} more"
