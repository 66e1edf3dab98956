"""What would make a wrong output claim right: the working a teacher writes next to a ✗.

For a sliding window (conv or pool) whose claimed size is wrong, cnncalc looks for the reason
the way one checks a published solution by hand:

1. the claim follows from an earlier wrong claim: taking the previous layer's *claimed* output
   as the input gives the claimed size ("follows from pool1's claimed 27×27×96");
2. otherwise, which single change of the layer gives it: the stride, the padding or the kernel
   ("27 holds only with stride 2: (55 − 3 + 2·0)/2 + 1 = 27").

Only exact integer geometry is searched; symbolic sizes get the working alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..engine.claims import Claim
from ..engine.result import Analysis, Row
from ..layers.explain import volume
from ..layers.geometry import Axis, output_size


@dataclass(frozen=True)
class Window:
    """One axis of a window with every number an int: what the search varies."""

    size_in: int
    kernel: int
    dilation: int
    stride: int
    padding: int
    """Both sides together (2P when symmetric)."""
    symmetric: bool
    ceil_mode: bool

    @property
    def kernel_effective(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    def size_out(self) -> int | None:
        """The output size (the layers' own rule, :func:`~cnncalc.layers.geometry.output_size`),
        or None when the window does not fit."""
        span = self.size_in + self.padding - self.kernel_effective
        if span < 0 or self.stride < 1:
            return None
        pad_before = self.padding // 2  # PyTorch pads evenly; TensorFlow puts the odd pixel after
        size: int = output_size(span, self.stride, self.size_in, pad_before, self.ceil_mode)
        return size

    def working(self) -> str:
        """``(55 − 3 + 2·0)/2 + 1 = 27``."""
        padding = f"2·{self.padding // 2}" if self.symmetric else str(self.padding)
        working = f"({self.size_in} − {self.kernel_effective} + {padding})/{self.stride} + 1"
        if self.exact:
            return f"{working} = {self.size_out()}"
        value = Fraction(self.size_in + self.padding - self.kernel_effective, self.stride) + 1
        # four decimals, exact at any size; cut rather than rounded up to a whole number
        # (5.9999985 is "5.9999 → 5", never "6. → 5")
        scaled = round(value * 10**4)
        if scaled % 10**4 == 0:
            scaled = value.numerator * 10**4 // value.denominator
        whole, decimals = divmod(scaled, 10**4)
        return f"{working} = {whole}.{f'{decimals:04d}'.rstrip('0')} → {self.size_out()}"

    @property
    def exact(self) -> bool:
        return (self.size_in + self.padding - self.kernel_effective) % self.stride == 0


def _window(axis: Axis) -> Window | None:
    values = (axis.size_in, axis.kernel, axis.dilation, axis.stride, axis.pad_before)
    if not all(isinstance(value, int) for value in (*values, axis.pad_after)):
        return None
    return Window(
        axis.size_in,
        axis.kernel,
        axis.dilation,
        axis.stride,
        axis.pad_before + axis.pad_after,
        axis.pad_before == axis.pad_after,
        axis.ceil_mode,
    )


def claimed_volume(claimed: str) -> tuple[int, ...] | None:
    """A claim's shape in C×H×W order: ``27x27x96`` (the notes' H×W×D) or ``[96, 27, 27]``."""
    text = claimed.strip()
    if text.startswith("["):
        parts = [part.strip() for part in text.strip("[]").split(",")]
        return tuple(int(part) for part in parts) if all(p.isdigit() for p in parts) else None
    parts = re.split(r"\s*[x×]\s*", text)
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    height, width, depth = (int(part) for part in parts)
    return (depth, height, width)


def output_fixes(analysis: Analysis, claim: Claim) -> list[str]:
    """The lines after a wrong output claim's working that say what would make it right."""
    row = analysis.row(claim.path)
    axes = row.details.get("axes")
    claimed = claimed_volume(claim.claimed)
    if claimed is None or len(claimed) != 3 or len(row.output_shape) != 3:
        return []
    lines: list[str] = []
    if axes is not None and tuple(claimed[1:]) != tuple(row.output_shape[1:]):
        lines += _size_fixes(analysis, row, axes, claimed)
    if claimed[0] != row.output_shape[0] and "filters" in row.details:
        lines.append(f"→ a depth of {claimed[0]} needs K = {claimed[0]} filters (D_out = K)")
    return lines


def _size_fixes(
    analysis: Analysis, row: Row, axes: tuple[Axis, Axis], claimed: tuple[int, ...]
) -> Iterator[str]:
    height, width = axes
    same = _window(height) == _window(width) and claimed[1] == claimed[2]
    for index, axis in ((2, width), (1, height)):
        window = _window(axis)
        if window is None:
            return
        label = "" if same else f"{axis.axis}: "
        yield from _axis_fixes(analysis, row, window, claimed, index, label)
        if same:
            return


def _axis_fixes(
    analysis: Analysis,
    row: Row,
    window: Window,
    claimed: tuple[int, ...],
    index: int,
    label: str,
) -> Iterator[str]:
    target = claimed[index]
    if window.size_out() == target:
        return
    earlier = _claimed_input(analysis, row)
    if earlier is not None and earlier[1][index] != window.size_in:
        source, shape = earlier
        from_claim = Window(**{**window.__dict__, "size_in": shape[index]})
        where = f"{source.path}'s claimed {volume(shape)}"
        if from_claim.size_out() == target:
            yield f"→ {label}{target} follows from {where}: {from_claim.working()}"
            return
        yield f"→ {label}even from {where}: {from_claim.working()}"
        window = from_claim
    yield from _single_changes(window, target, label)


def _claimed_input(analysis: Analysis, row: Row) -> tuple[Claim, tuple[int, ...]] | None:
    """The wrong output claim of the layer that feeds ``row`` (through shape-keeping layers
    such as ReLU), with the shape it claims."""
    layers = list(analysis.layers)
    wrong = {c.path: c for c in analysis.claims if c.key == "output" and not c.ok and c.path}
    for earlier in reversed(layers[: layers.index(row)]):
        if tuple(earlier.output_shape) != tuple(row.input_shape):
            return None
        claim = wrong.get(earlier.path)
        shape = claimed_volume(claim.claimed) if claim else None
        if claim is not None and shape is not None and len(shape) == 3:
            return claim, shape
    return None


def _single_changes(window: Window, target: int, label: str) -> Iterator[str]:
    """``27 holds only with stride 2: …`` or ``55 holds with F = 8 to 11 …``. Each change's
    values are a range found in closed form (searching every stride and kernel up to a
    10⁷-pixel input took minutes)."""
    strides = _strides(window, target)
    paddings = [p for p in _paddings(window, target) if p * 2 != window.padding]
    kernels = _kernels(window, target) if window.dilation == 1 else range(0)
    options = []
    if strides:
        options.append((_listed("stride", strides), _example(window, "stride", strides)))
    if paddings:
        doubled = [2 * p for p in paddings]
        options.append((_listed("padding", paddings), _example(window, "padding", doubled)))
    if kernels:
        options.append((_listed("F =", kernels), _example(window, "kernel", kernels)))
    if not options:
        yield f"→ {label}no single change of stride, padding or kernel gives {target}"
        return
    only = "only " if _length(strides) + _length(paddings) + _length(kernels) == 1 else ""
    first_text, first_window = options[0]
    alternatives = "".join(f", or {text}" for text, _ in options[1:])
    yield (
        f"→ {label}{target} holds {only}with {first_text}: {first_window.working()}{alternatives}"
    )


def _last_start_limit(window: Window, pad_before: int) -> int:
    """W + P_left: a last window starting here or later lies wholly in the right padding, and
    PyTorch's ceil_mode drops it (:func:`~cnncalc.layers.geometry.output_size`)."""
    return window.size_in + pad_before


def _below(values: range, limit: int) -> range:
    """The values less than ``limit``."""
    return range(values.start, max(values.start, min(values.stop, limit)))


def _at_least(values: range, limit: int) -> range:
    """The values from ``limit`` on."""
    return range(min(values.stop, max(values.start, limit)), values.stop)


def _join(first: range, second: range) -> range:
    """Two ranges of one answer as one: where both hold values they touch (the size is
    monotone in the value varied, so no value between them gives another size)."""
    if not first:
        return second
    if not second:
        return first
    assert first.stop == second.start or second.stop == first.start, (first, second)
    return range(min(first.start, second.start), max(first.stop, second.stop))


def _between(low: int, high: int, first: int, last: int) -> range:
    """The integers in [low, high] ∩ [first, last]."""
    return range(max(low, first), min(high, last) + 1)


def _ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _strides(window: Window, target: int) -> range:
    """The strides that give ``target``, PyTorch's ceil_mode drop included: along each range
    of :func:`_rounded_strides` m = ⌈D/s⌉ is constant, so the last window starts in the right
    padding (m·s ≥ W + P_left, and the size is one less) from s = ⌈(W + P_left)/m⌉ on."""
    rounded = _rounded_strides(window, target)
    if not window.ceil_mode or target < 1:
        return rounded
    start = _last_start_limit(window, window.padding // 2)
    kept = _below(rounded, _ceil(start, target - 1)) if target > 1 else rounded
    dropped = _at_least(_rounded_strides(window, target + 1), _ceil(start, target))
    return _join(dropped, kept)


def _rounded_strides(window: Window, target: int) -> range:
    """The strides 1 … L + 1 (L the padded input) that give ``target``: ⌊D/s⌋ = m (or ⌈D/s⌉
    with ceil_mode) with D = L − F_eff and m = target − 1, solved for s."""
    limit = window.size_in + window.padding + 1
    span, steps = window.size_in + window.padding - window.kernel_effective, target - 1
    if span < 0 or steps < 0:
        return range(0)
    if steps == 0:  # no step fits: s > D (ceil_mode: only D = 0)
        low = 1 if window.ceil_mode and span == 0 else span + 1
        return range(0) if window.ceil_mode and span > 0 else _between(low, limit, 1, limit)
    if window.ceil_mode:  # m − 1 < D/s ≤ m
        high = limit if steps == 1 else _ceil(span, steps - 1) - 1
        return _between(_ceil(span, steps), high, 1, limit) if span > 0 else range(0)
    return _between(span // (steps + 1) + 1, span // steps, 1, limit)  # m ≤ D/s < m + 1


def _kernels(window: Window, target: int) -> range:
    """The kernels that give ``target``, ceil_mode's drop included: along each range of
    :func:`_rounded_kernels` m = ⌈(L − k)/S⌉ is constant, so the drop (m·S ≥ W + P_left)
    holds for the whole range or none of it."""
    rounded = _rounded_kernels(window, target)
    if not window.ceil_mode or target < 1:
        return rounded
    start = _last_start_limit(window, window.padding // 2)
    kept = rounded if (target - 1) * window.stride < start else range(0)
    dropped = _rounded_kernels(window, target + 1) if target * window.stride >= start else range(0)
    return _join(dropped, kept)


def _rounded_kernels(window: Window, target: int) -> range:
    """The kernels 1 … L that give ``target`` at the layer's stride S: ⌊(L − k)/S⌋ = m (or
    ⌈…⌉), solved for k."""
    padded, stride, steps = window.size_in + window.padding, window.stride, target - 1
    if steps < 0:
        return range(0)
    if window.ceil_mode:  # (m − 1)·S < L − k ≤ m·S
        return _between(padded - steps * stride, padded - (steps - 1) * stride - 1, 1, padded)
    return _between(padded - steps * stride - stride + 1, padded - steps * stride, 1, padded)


def _paddings(window: Window, target: int) -> range:
    """The paddings that give ``target``, ceil_mode's drop included: along each range of
    :func:`_rounded_paddings` m is constant and the drop (m·S ≥ W + P) holds for P ≤ m·S − W."""
    rounded = _rounded_paddings(window, target)
    if not window.ceil_mode or target < 1:
        return rounded
    stride, size_in = window.stride, window.size_in
    kept = _at_least(rounded, (target - 1) * stride - size_in + 1)
    dropped = _below(_rounded_paddings(window, target + 1), target * stride - size_in + 1)
    return _join(dropped, kept)


def _rounded_paddings(window: Window, target: int) -> range:
    """The paddings P = 0 … F_eff − 1 on each side that give ``target``: the same inequality
    for D = W + 2P − F_eff, solved for P."""
    base = window.size_in - window.kernel_effective
    stride, steps = window.stride, target - 1
    if steps < 0:
        return range(0)
    if window.ceil_mode:  # (m − 1)·S < base + 2P ≤ m·S
        low, high = (steps - 1) * stride + 1 - base, steps * stride - base
    else:  # m·S ≤ base + 2P ≤ m·S + S − 1
        low, high = steps * stride - base, steps * stride + stride - 1 - base
    # and the window must fit: base + 2P ≥ 0
    return _between(_ceil(max(low, -base, 0), 2), high // 2, 0, window.kernel_effective - 1)


def _example(window: Window, name: str, values: Sequence[int]) -> Window:
    """The candidate to work out: an exact division if one gives the size (the layer the
    notes probably meant), else the first (among the first thousand: the ranges can be
    millions long)."""
    candidates = (_with(window, **{name: value}) for value in values[:1000])
    first = _with(window, **{name: values[0]})
    return next((candidate for candidate in candidates if candidate.exact), first)


def _length(values: Sequence[int]) -> int:
    """How many values: a range of strides past 2⁶³ (a 10³⁰-pixel input) has no ``len``."""
    if isinstance(values, range):
        return max(0, -(-(values.stop - values.start) // values.step))
    return len(values)


def _with(window: Window, **change: int) -> Window:
    symmetric = window.symmetric or "padding" in change
    return Window(**{**window.__dict__, **change, "symmetric": symmetric})


def _listed(name: str, values: Sequence[int]) -> str:
    """``stride 2``, ``stride 2 or 3``, ``F = 8 to 11``."""
    count = _length(values)
    if count == 1:
        return f"{name} {values[0]}"
    if count > 2 and values[-1] - values[0] == count - 1:
        return f"{name} {values[0]} to {values[-1]}"
    return f"{name} " + ", ".join(str(v) for v in values[:-1]) + f" or {values[-1]}"
