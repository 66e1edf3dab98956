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

Whether a layer divides exactly depends on the input size H only through H mod (the product
of the strides up to and including it): that is the layer's output jump, so the network's
pattern repeats with the least common multiple P of its sliding layers' jumps (16 for
U-Net's four pools). One numeric analysis per size over one period, from the smallest valid
size, gives the residues mod P that are exact for every layer (milliseconds each; H and W
are tried together, each axis judged on its own windows). The rule is stated with the
smallest modulus that describes it (H ≡ 1 (mod 2), not H mod 4 ∈ {1, 3}), and when it is a
single residue the output formula is rewritten under it: U-Net's
16·⌊(H − 12)/16⌋ − 172 is H − 184 for every H ≡ 12 (mod 16).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import arith
from ..errors import SpecError
from ..layers.geometry import Axis, lost_pixels

LARGEST_PERIOD = 64
"""The longest period tried (one analysis per size): 64 covers six stride-2 stages."""

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


def exact_sizes(analyse: Callable[[Sequence[Any]], Any], symbolic: Any) -> Exactness | None:
    """The rule of each spatial symbol of the ``symbolic`` analysis (with its ``valid_from``)
    for which ``analyse`` (a numeric analysis of an input shape) drops no pixel; None when
    the spatial sizes are numbers, a layer's jump is not a number, the period is longer than
    LARGEST_PERIOD, or no layer ever drops a pixel."""
    input_shape, valid_from = symbolic.input_shape, symbolic.valid_from
    if len(input_shape) != 3:
        return None
    axis_symbols = {
        axis: str(dim) for axis, dim in zip(AXES, input_shape[1:], strict=True) if _bare(dim)
    }
    if not axis_symbols:
        return None
    start = max([1, *valid_from.values()])
    first = _try(analyse, input_shape, start)
    if first is None:
        return None
    period = _period(first.rows, axis_symbols)
    if period is None:
        return None
    verdicts = {start: _verdict(first.rows, axis_symbols)}
    for size in range(start + 1, start + period):
        analysis = _try(analyse, input_shape, size)
        if analysis is None:
            return None
        verdicts[size] = _verdict(analysis.rows, axis_symbols)
    rules = tuple(
        rule
        for symbol in sorted(set(axis_symbols.values()))
        if (rule := _rule(symbol, verdicts, period, start)) is not None
    )
    if not rules or not _confirmed(analyse, input_shape, axis_symbols, rules):
        return None
    outputs = [row.output_shape for row in symbolic.outputs] or [symbolic.output_shape]
    macs = under_rules(symbolic.totals.macs, rules)
    return Exactness(
        rules, _exact_outputs(outputs, rules), macs if macs != symbolic.totals.macs else None
    )


def _bare(dim: Any) -> bool:
    return not isinstance(dim, int) and getattr(dim, "is_Symbol", False)


def _try(analyse: Callable[[Sequence[Any]], Any], input_shape: Sequence[Any], size: int) -> Any:
    """The numeric analysis with every spatial symbol at ``size``; None if it is invalid."""
    shape = [dim if isinstance(dim, int) else size for dim in input_shape]
    try:
        return analyse(shape)
    except SpecError:
        return None


def _axes(row: Any) -> tuple[Axis, ...]:
    axes = row.details.get("axes", ()) if not row.is_group else ()
    return tuple(axis for axis in axes if isinstance(axis, Axis))


def _period(rows: Sequence[Any], axis_symbols: dict[str, str]) -> int | None:
    """The lcm of the output jumps of the sliding layers along the symbolic axes (a stride-s
    layer after strides totalling j divides exactly or not according to H mod j·s)."""
    period = 1
    for row in rows:
        if not _axes(row) or len(row.receptive_field) != 2:
            continue
        for index, axis in enumerate(AXES):
            jump = row.receptive_field[index][1]
            if axis not in axis_symbols:
                continue
            if not isinstance(jump, int | Fraction):
                return None
            period = math.lcm(period, Fraction(jump).numerator)
    return period if period <= LARGEST_PERIOD else None


def _verdict(rows: Sequence[Any], axis_symbols: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """For each symbol, the layers that drop pixels along its axes at this size."""
    dropping: dict[str, list[str]] = {symbol: [] for symbol in axis_symbols.values()}
    for row in rows:
        for axis in _axes(row):
            symbol = axis_symbols.get(axis.axis)
            if symbol is not None and lost_pixels(axis) and row.path not in dropping[symbol]:
                dropping[symbol].append(row.path)
    return {symbol: tuple(paths) for symbol, paths in dropping.items()}


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


def _confirmed(
    analyse: Callable[[Sequence[Any]], Any],
    input_shape: Sequence[Any],
    axis_symbols: dict[str, str],
    rules: tuple[ExactSizes, ...],
) -> bool:
    """A size one period further is exact too (the pattern does repeat)."""
    for rule in rules:
        if not rule.sizes:
            continue
        analysis = _try(analyse, input_shape, rule.sizes[0] + 3 * rule.modulus)
        if analysis is None or _verdict(analysis.rows, axis_symbols)[rule.symbol]:
            return False
    return True


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
