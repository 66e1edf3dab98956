"""Sliding-window arithmetic shared by convolutions and pools, exactly as PyTorch does it.

Output size (PyTorch ``Conv2d``/``MaxPool2d`` docs):
    out = ⌊(in + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1
with ``ceil_mode`` (pools): ⌈…⌉ + 1, minus one when the last window would start in the
right padding ((out − 1)·s ≥ in + p_before), as ``pooling_output_shape`` in ATen does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import arith
from .base import Where

AXIS_WORDS = {"H": ("row", "rows"), "W": ("column", "columns")}


@dataclass(frozen=True)
class Axis:
    """The worked numbers of one spatial axis of a sliding window."""

    axis: str  # "H" or "W"
    size_in: Any
    kernel: int | Any
    stride: int | Any
    dilation: int | Any
    pad_before: Any
    pad_after: Any
    size_out: Any
    uncovered: Any  # input pixels (of the padded input) no window reaches; None if unknown
    ceil_mode: bool = False

    @property
    def kernel_effective(self) -> Any:
        return arith.normalize(self.dilation * (self.kernel - 1) + 1)

    @property
    def reach(self) -> Any:
        """H_in + P_before + P_after − F_eff: the last position a window may start at, the
        numerator of the output-size division."""
        return arith.normalize(
            self.size_in + self.pad_before + self.pad_after - self.kernel_effective
        )

    def formula(self) -> str:
        """``(227 − 11 + 2·0)/4 + 1 = 55`` in the textbook's notation."""
        if self.pad_before == self.pad_after:
            padding = f"2·{arith.as_text(self.pad_before)}"
        else:
            padding = f"{arith.as_text(self.pad_before)} + {arith.as_text(self.pad_after)}"
        kernel = arith.as_text(self.kernel_effective)
        size, stride = arith.as_text(self.size_in), arith.as_text(self.stride)
        rounding = " (ceil_mode)" if self.ceil_mode else ""
        result = arith.as_text(self.size_out)
        return f"({size} − {kernel} + {padding})/{stride} + 1{rounding} = {result}"


def resolve_padding(
    mode: Any, size_in: Any, kernel: Any, stride: Any, dilation: Any, axis: int, where: Where
) -> tuple[Any, Any]:
    """(before, after) padding of one axis from an int pair or a padding word."""
    if not isinstance(mode, str):
        return mode[axis], mode[axis]
    span = arith.normalize(dilation * (kernel - 1))
    if mode == "valid":
        return 0, 0
    if mode == "full":
        return span, span
    if mode == "same":
        if stride != 1:
            raise where.error(
                f"padding 'same' (PyTorch's convention) needs stride 1, got stride {stride}",
                "padding",
                hint="use 'same_tf' for TensorFlow/Keras' convention: out = ceil(in / stride), "
                "the extra pixel on the bottom/right",
            )
        before = arith.floor_div(span, 2)
        return before, arith.normalize(span - before)
    # same_tf: TensorFlow's SAME — out = ceil(in / s); extra padding goes after.
    size_out = arith.ceil_div(size_in, stride)
    total = arith.normalize((size_out - 1) * stride + span + 1 - size_in)
    if not (isinstance(stride, int) and isinstance(span, int) and span + 1 >= stride):
        # (out − 1)·s ≥ in − s, so total ≥ k − s: clamping at 0 is only needed when the
        # window is shorter than the stride (a strided 1×1). Skipping it keeps formulas clean.
        total = arith.maximum(total, 0)
    before = arith.floor_div(total, 2)
    return before, arith.normalize(total - before)


def output_size(reach: Any, stride: Any, size_in: Any, pad_before: Any, ceil_mode: bool) -> Any:
    """PyTorch's output size of a sliding window along one axis, ``reach`` being
    size_in + padding − d·(k − 1) − 1 (the last position a window may start at):
    ⌊reach/s⌋ + 1, or with ceil_mode ⌈reach/s⌉ + 1 less a last window that would start
    entirely in the right padding."""
    if not ceil_mode:
        return arith.normalize(arith.floor_div(reach, stride) + 1)
    size_out = arith.normalize(arith.ceil_div(reach, stride) + 1)
    last_start = arith.normalize((size_out - 1) * stride - size_in - pad_before)
    if arith.sign_of(last_start) in (0, 1):
        size_out = arith.normalize(size_out - 1)
    return size_out


def window_axis(
    axis: str,
    size_in: Any,
    kernel: Any,
    stride: Any,
    dilation: Any,
    padding: tuple[Any, Any],
    where: Where,
    ceil_mode: bool = False,
) -> Axis:
    """The output size of one axis, with the checks PyTorch makes, as an :class:`Axis`."""
    pad_before, pad_after = padding
    span = arith.normalize(dilation * (kernel - 1))
    reach = arith.normalize(size_in + pad_before + pad_after - span - 1)
    # with ceil_mode PyTorch runs a window longer than the input (it pads the rest) as long
    # as ⌈reach/S⌉ + 1 ≥ 1, that is reach > −S: a 3×3/2 pool over 2×2 gives 1×1
    hangs_over = ceil_mode and arith.sign_of(arith.normalize(reach + stride)) == 1
    if arith.sign_of(reach) == -1 and not hangs_over:
        padded = arith.normalize(size_in + pad_before + pad_after)
        raise where.error(
            f"kernel {arith.as_text(span + 1)} is larger than the padded input "
            f"({axis}: {arith.as_text(size_in)} + {arith.as_text(pad_before)} + "
            f"{arith.as_text(pad_after)} = {arith.as_text(padded)})",
            "kernel",
            hint="use a smaller kernel or stride earlier, more padding, or a larger input",
        )
    size_out = output_size(reach, stride, size_in, pad_before, ceil_mode)
    uncovered: Any = 0 if ceil_mode else arith.remainder(reach, stride)
    return Axis(
        axis,
        size_in,
        kernel,
        stride,
        dilation,
        pad_before,
        pad_after,
        size_out,
        uncovered,
        ceil_mode,
    )


def lost_pixels(axis: Axis) -> Any:
    """Input pixels (not padding) at the end that no window reaches; 0 when unknown.

    Only for windows that tile or overlap (kernel ≥ stride): a 1×1 stride-2 projection
    skips every other pixel by design, and its last row is no different.
    """
    if not isinstance(axis.uncovered, int) or not isinstance(axis.pad_after, int):
        return 0
    if not (isinstance(axis.kernel_effective, int) and isinstance(axis.stride, int)):
        return 0
    if axis.kernel_effective < axis.stride:
        return 0
    return max(axis.uncovered - axis.pad_after, 0)


def coverage_warning(axes: tuple[Axis, ...]) -> str | None:
    """A warning when a division is not exact and real input pixels are never used:
    ``(224 − 11 + 2·0)/4 + 1 = 54.25 → 54: the last 1 column of its input is never covered``.
    """
    lost = [axis for axis in axes if lost_pixels(axis)]
    if not lost:
        return None
    first = lost[0]
    both = len(lost) == 2 and _division(lost[0]) == _division(lost[1])
    count = lost_pixels(first)
    if both:
        label, noun = "H and W", ("row and column" if count == 1 else "rows and columns")
    else:
        label, noun = first.axis, AXIS_WORDS[first.axis][0 if count == 1 else 1]
    verb = "is" if count == 1 and not both else "are"
    text = (
        f"{label}: {_division(first)} → {arith.as_text(first.size_out)}: the last {count} "
        f"{noun} of its input {verb} never covered"
    )
    fix = exact_fit(first)
    if fix:
        text += f"; {fix}"
    if len(lost) == 2 and not both:
        text += "; " + (coverage_warning((lost[1],)) or "")
    return text


def coverage_advice(axes: tuple[Axis, ...]) -> str | None:
    """The coverage warning as a worked report says it, after the equations that already
    show the division: what is lost and the fix, ``the last 1 row and column of the input
    are never covered; exact if its input were 227 or 223, or with 3 more padding: …``."""
    lost = [axis for axis in axes if lost_pixels(axis)]
    if not lost:
        return None
    first = lost[0]
    count = lost_pixels(first)
    if len(lost) == 2 and count == lost_pixels(lost[1]) and exact_fit(first) == exact_fit(lost[1]):
        noun = "row and column" if count == 1 else "rows and columns"
        text = f"the last {count} {noun} of its input are never covered"
        fix = exact_fit(first)
        return f"{text}; {fix}" if fix else text
    parts = []
    for axis in lost:
        pixels = lost_pixels(axis)
        noun = AXIS_WORDS[axis.axis][0 if pixels == 1 else 1]
        verb = "is" if pixels == 1 else "are"
        fix = exact_fit(axis)
        parts.append(
            f"{axis.axis}: the last {pixels} {noun} of its input {verb} never covered"
            + (f"; {fix}" if fix else "")
        )
    return "; ".join(parts)


def exact_fit(axis: Axis) -> str:
    """What makes the division exact: ``exact if its input were 227 or 223, or with 3 more
    padding: 1 before, 2 after`` for AlexNet's conv1 on 224. Empty for symbolic sizes."""
    values = (axis.size_in, axis.pad_before, axis.pad_after, axis.kernel_effective, axis.stride)
    if not all(isinstance(value, int) for value in values):
        return ""
    rest = axis.reach % axis.stride
    if not rest:
        return ""
    extra = axis.stride - rest
    larger, smaller = axis.size_in + extra, axis.size_in - rest
    # "its input": this layer's, which is the network's only for the first layer
    sizes = f"{larger} or {smaller}" if smaller >= axis.kernel_effective else f"{larger}"
    split = f": {extra // 2} before, {extra - extra // 2} after" if extra > 1 else " after"
    return f"exact if its input were {sizes}, or with {extra} more padding{split}"


def _division(axis: Axis) -> str:
    """``(224 − 11 + 0)/4 + 1 = 213/4 + 1 = 54.25``."""
    padding = arith.normalize(axis.pad_before + axis.pad_after)
    working = (
        f"({arith.as_text(axis.size_in)} − {arith.as_text(axis.kernel_effective)} + "
        f"{arith.as_text(padding)})/{arith.as_text(axis.stride)} + 1"
    )
    return f"{working} = {_fraction(axis)}"


def _fraction(axis: Axis) -> str:
    """The division before PyTorch rounds it: ``213/4 + 1 = 54.25``."""
    exact = axis.reach
    if isinstance(exact, int) and isinstance(axis.stride, int):
        # exact at any size (a float overflows past 1.8e308)
        value = (
            arith.quotient_text(exact + axis.stride, axis.stride, 4, False).rstrip("0").rstrip(".")
        )
    elif isinstance(exact, int | float) and isinstance(axis.stride, int | float):
        value = _decimal(exact / axis.stride + 1)
    else:  # a formula in H (2·H + 1 − 2 of an upsampled, padded map): no decimal to show
        value = arith.as_text(arith.normalize(exact / axis.stride + 1))
    return f"{arith.as_factor(exact)}/{arith.as_text(axis.stride)} + 1 = {value}"


def _decimal(value: float) -> str:
    """54.25, not 54.250000 nor 5.425e+01."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def windows(
    height: Any,
    width: Any,
    kernel: tuple[Any, Any],
    stride: tuple[Any, Any],
    dilation: tuple[Any, Any],
    padding_mode: Any,
    where: Where,
    ceil_mode: bool = False,
) -> tuple[Axis, Axis]:
    """Both spatial axes of a sliding window (conv or pool)."""
    axes = []
    for index, (name, size) in enumerate((("H", height), ("W", width))):
        padding = resolve_padding(
            padding_mode, size, kernel[index], stride[index], dilation[index], index, where
        )
        axes.append(
            window_axis(
                name, size, kernel[index], stride[index], dilation[index], padding, where, ceil_mode
            )
        )
    return axes[0], axes[1]


def window_geometry(axes: tuple[Axis, Axis]) -> tuple[tuple[Any, Any, Any], ...]:
    """((effective kernel, stride, padding before) per axis) for the receptive field."""
    return tuple((axis.kernel_effective, axis.stride, axis.pad_before) for axis in axes)


def axis_warnings(axes: tuple[Axis, Axis]) -> tuple[str, ...]:
    text = coverage_warning(axes)
    return (text,) if text else ()


def torch_padding(axes: tuple[Axis, Axis]) -> tuple[tuple[Any, Any] | None, tuple[Any, ...]]:
    """(symmetric (ph, pw) for the torch module, or None) and F.pad's (left, right, top, bottom).

    PyTorch's modules pad symmetrically; TensorFlow's 'same' and even kernels need the extra
    pixel after, which is done with an explicit ``F.pad`` before a module with padding 0.
    """
    height, width = axes
    if height.pad_before == height.pad_after and width.pad_before == width.pad_after:
        return (height.pad_before, width.pad_before), ()
    return None, (width.pad_before, width.pad_after, height.pad_before, height.pad_after)


def axis_equation(axis: Axis, name: str) -> Any:
    """``W_out = (W_in − F + 2P)/S + 1 = (227 − 11 + 2·0)/4 + 1 = 55`` with its rounding
    note."""
    from .explain import Equation, factor, text

    symbol = "W" if axis.axis == "W" else "H"
    if axis.pad_before == axis.pad_after:
        formula_padding, working_padding = "2P", f"2·{factor(axis.pad_before)}"
    else:
        formula_padding = "P_before + P_after"
        working_padding = f"{factor(axis.pad_before)} + {factor(axis.pad_after)}"
    # W_in, not W: in a symbolic report W is the network's input width, another number
    # a dilated window spans F_eff = d·(F − 1) + 1 pixels: that is what is subtracted
    kernel = "F_eff" if axis.dilation != 1 else "F"
    formula = f"({symbol}_in − {kernel} + {formula_padding})/S + 1"
    working = (
        f"({factor(axis.size_in)} − {factor(axis.kernel_effective)} + {working_padding})"
        f"/{factor(axis.stride)} + 1"
    )
    note = ""
    rest = arith.remainder(axis.reach, axis.stride)
    if rest:
        # what the rounding costs (pixels never covered) and its fix are the layer's
        # warning, said once after the working: see coverage_advice
        rounding = "PyTorch floors"
        if axis.ceil_mode:
            rounding = "rounded up (ceil_mode)"
            floor = arith.floor_div(axis.reach, axis.stride)
            if axis.size_out == arith.normalize(floor + 1):  # ATen's last-window rule
                rounding = (
                    "ceil_mode would round up, but PyTorch drops a last window that would "
                    "start in the padding"
                )
        note = f"{_fraction(axis)} → {text(axis.size_out)}: {rounding}"
    elif rest is None:
        note = "⌊…⌋: PyTorch rounds down" + (" (ceil_mode: up)" if axis.ceil_mode else "")
    return Equation(name, formula, working, text(axis.size_out), note)


def window_given(axes: tuple[Axis, Axis]) -> list[tuple[str, str]]:
    """F, S, P (and d) as the notes state them; pairs when H and W differ."""
    from .explain import text

    height, width = axes

    def pair(first: Any, second: Any) -> str:
        return text(first) if first == second else f"{text(first)}×{text(second)}"

    given = [("F", pair(height.kernel, width.kernel)), ("S", pair(height.stride, width.stride))]
    if {height.pad_before, height.pad_after, width.pad_before, width.pad_after} == {
        height.pad_before
    }:
        given.append(("P", text(height.pad_before)))
    else:
        given.append(
            (
                "P",
                f"top {text(height.pad_before)}, bottom {text(height.pad_after)}, "
                f"left {text(width.pad_before)}, right {text(width.pad_after)}",
            )
        )
    if (height.dilation, width.dilation) != (1, 1):
        given.append(("d", pair(height.dilation, width.dilation)))
        given.append(
            ("F_eff = d·(F − 1) + 1", pair(height.kernel_effective, width.kernel_effective))
        )
    return given


def window_equations(axes: tuple[Axis, Axis]) -> list[Any]:
    height, width = axes
    equations = [axis_equation(width, "W_out")]
    same = (
        height.size_in,
        height.kernel_effective,
        height.stride,
        height.pad_before,
        height.pad_after,
    ) == (width.size_in, width.kernel_effective, width.stride, width.pad_before, width.pad_after)
    if same:
        from .explain import Equation, text

        equations.append(Equation("H_out", "", "likewise", text(height.size_out)))
    else:
        equations.append(axis_equation(height, "H_out"))
    return equations
