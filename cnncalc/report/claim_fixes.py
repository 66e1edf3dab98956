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
from collections.abc import Iterator
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
        return f"{working} = {float(value):.4f}".rstrip("0") + f" → {self.size_out()}"

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
    """``27 holds only with stride 2: …`` or ``55 holds with F = 8 to 11 …``."""
    limit = window.size_in + window.padding
    strides = [s for s in range(1, limit + 2) if _with(window, stride=s).size_out() == target]
    paddings = [
        p
        for p in range(0, window.kernel_effective)
        if p * 2 != window.padding and _with(window, padding=2 * p).size_out() == target
    ]
    kernels = [
        k
        for k in range(1, limit + 1)
        if window.dilation == 1 and _with(window, kernel=k).size_out() == target
    ]
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
    only = "only " if len(strides) + len(paddings) + len(kernels) == 1 else ""
    first_text, first_window = options[0]
    alternatives = "".join(f", or {text}" for text, _ in options[1:])
    yield (
        f"→ {label}{target} holds {only}with {first_text}: {first_window.working()}{alternatives}"
    )


def _example(window: Window, name: str, values: list[int]) -> Window:
    """The candidate to work out: an exact division if one gives the size (the layer the
    notes probably meant), else the first."""
    candidates = [_with(window, **{name: value}) for value in values]
    return next((candidate for candidate in candidates if candidate.exact), candidates[0])


def _with(window: Window, **change: int) -> Window:
    symmetric = window.symmetric or "padding" in change
    return Window(**{**window.__dict__, **change, "symmetric": symmetric})


def _listed(name: str, values: list[int]) -> str:
    """``stride 2``, ``stride 2 or 3``, ``F = 8 to 11``."""
    if len(values) == 1:
        return f"{name} {values[0]}"
    if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{name} {values[0]} to {values[-1]}"
    return f"{name} " + ", ".join(str(v) for v in values[:-1]) + f" or {values[-1]}"
