"""One-layer calculators, no spec needed: ``cnncalc conv 227x227x3 --filters 96 ...``.

Each builds a one-layer spec and shows its worked explanation, so a calculator and a full
report can never disagree. The input volume is written C×H×W, as in specs and ``--input``
(``3x227x227``); the worked text then writes it as the notes do, H×W×D. An input that looks
like the other order (``227x227x3``) is still read C×H×W, with a warning that shows the
command rewritten (:func:`order_warning`).
"""

from __future__ import annotations

from typing import Any

import yaml

from . import arith
from .engine import Analysis, analyse
from .engine.input_order import looks_channels_last, reading, rewritten
from .errors import CnncalcError, SpecError
from .layers.base import Where
from .layers.geometry import resolve_padding
from .report.text_report import layer_lines
from .report.worked import LayerWork, layer_explanation, report_warnings
from .spec import parse_spec


class CalculatorError(CnncalcError):
    """A bad argument to a one-layer calculator."""


def parse_volume(text: str) -> list[int]:
    """``3x227x227`` (C×H×W, as ``--input``) → [3, 227, 227]; ``9216`` → [9216]."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) not in (1, 3) or not all(part.strip().isdigit() for part in parts):
        raise CalculatorError(f"'{text}' must be C×H×W such as 3x227x227, or N for a vector")
    numbers = [int(part) for part in parts]
    if min(numbers) < 1:
        raise CalculatorError(f"'{text}': sizes must be positive")
    return numbers


def order_warning(volume: str, command: list[str]) -> str | None:
    """A warning (with the command rewritten C×H×W) when ``volume`` looks like H×W×C."""
    dims = parse_volume(volume)
    if not looks_channels_last(dims):
        return None
    height, width, channels = dims
    fixed = " ".join(
        "x".join(map(str, rewritten(dims))) if word == volume else word for word in command
    )
    return (
        f"warning: {volume} is read as C×H×W: {reading(dims)}. "
        f"For a {height}×{width} image with {channels} channel{'s' if channels > 1 else ''} "
        f"(H×W×C), write:\n  {fixed}"
    )


def one_layer(volume: list[int], layer: dict[str, Any], no_bias: bool = False) -> str:
    """The worked explanation of one layer applied to ``volume``."""
    text = yaml.safe_dump({"name": "calculator", "input": volume, "layers": [layer]})
    try:
        analysis: Analysis = analyse(parse_spec(text, "<calculator>"))
    except SpecError as error:
        # the YAML is ours, not the user's: name the option instead of a line of it
        option = f"--{error.key.replace('_', '-')}: " if error.key else ""
        hint = f" ({error.hint})" if error.hint else ""
        raise CalculatorError(f"{option}{error.message}{hint}") from None
    row = analysis.layers[0]
    work = LayerWork(row, f"{row.kind}", layer_explanation(row, no_bias), 0, report_warnings(row))
    return "\n".join([read_as(volume), *layer_lines(work, answers_only=False)])


def read_as(volume: list[int]) -> str:
    """The reading of the input, stated: the one line that makes the order visible."""
    if len(volume) == 1:
        return f"input: N_in = {volume[0]:,} features"
    channels, height, width = volume
    return f"input C×H×W = {channels}×{height}×{width}: C = {channels}, H = {height}, W = {width}"


def padding(kernel: int, dilation: int = 1, stride: int = 1) -> str:
    """The padding that keeps the size (stride 1), or gives ⌈in/s⌉ (TensorFlow's SAME)."""
    if kernel < 1 or dilation < 1 or stride < 1:
        raise CalculatorError("kernel, dilation and stride must be positive")
    # the layers' own rule for PyTorch's padding='same' (stride 1), not a copy of it
    before, after = resolve_padding("same", 1, kernel, 1, dilation, 0, Where("padding", None))
    span = before + after
    lines = [
        f"kernel F = {kernel}, dilation d = {dilation}, stride S = {stride}",
        f"effective kernel F_eff = d·(F − 1) + 1 = {dilation}·({kernel} − 1) + 1 = {span + 1}",
    ]
    if stride == 1:
        lines.append(f"total padding = F_eff − 1 = {span}")
        if before == after:
            lines.append(
                f"P = (F_eff − 1)/2 = {span}/2 = {before} on each side: "
                f"W_out = (W − {span + 1} + 2·{before})/1 + 1 = W"
            )
        else:
            lines.append(
                f"P = {span}/2 is not whole: pad {before} before and {after} "
                "after (PyTorch's padding='same' and TensorFlow's SAME both put the "
                "extra pixel after)"
            )
    else:
        lines.append(
            "with stride > 1 no padding keeps the size; TensorFlow's SAME gives "
            "W_out = ⌈W/S⌉ with total padding max((W_out − 1)·S + F_eff − W, 0), "
            "the extra pixel after (use padding: same_tf)"
        )
    return "\n".join(lines)


def as_text(value: Any) -> str:
    return arith.as_text(value, thousands=True)
