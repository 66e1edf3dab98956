"""Inputs that look written in the other order: cnncalc reads C×H×W everywhere (specs,
``--input``, the one-layer calculators), while the notes and Keras write H×W×C. A last size
of 1 or 3 (grey or RGB) after two larger ones — ``[227, 227, 3]`` — is almost surely an image
written H×W×C; it is still read C×H×W (it is a valid input), with a warning that shows the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import Loc, SpecError


def looks_channels_last(dims: Sequence[Any]) -> bool:
    """[227, 227, 3] or [28, 28, 1]: H×W×C by the look of it, not C×H×W."""
    if len(dims) != 3 or not all(isinstance(dim, int) for dim in dims):
        return False
    height, width, channels = dims
    return channels in (1, 3) and min(height, width) > 3


def rewritten(dims: Sequence[Any]) -> list[Any]:
    """[227, 227, 3] → [3, 227, 227]: the same image in cnncalc's C×H×W."""
    height, width, channels = dims
    return [channels, height, width]


def reading(dims: Sequence[Any]) -> str:
    """How C×H×W reads ``dims``: '227 channels of 227×3 pixels'."""
    channels, height, width = dims
    return f"{channels} channels of {height}×{width} pixels"


def input_order_warning(dims: Sequence[Any], loc: Loc | None) -> str | None:
    """The warning for a spec's ``input:`` (with its file and line) or ``--input`` (loc None)."""
    if not looks_channels_last(dims):
        return None
    fixed = rewritten(dims)
    if loc is None:
        given = "x".join(str(dim) for dim in dims)
        return (
            f"--input {given} is read as C×H×W: {reading(dims)}; for an H×W×C image "
            f"write --input {'x'.join(str(dim) for dim in fixed)}"
        )
    return (
        f"{loc.file}:{loc.line}: input {list(dims)} is read as C×H×W: {reading(dims)}; "
        f"for an H×W×C (Keras-style) image write input: {fixed}"
    )


def with_order_hint(error: SpecError, dims: Sequence[Any], from_spec: bool) -> SpecError:
    """A spec that fails at an input that looks H×W×C: the hint says so, with the fix."""
    if looks_channels_last(dims):
        fix = (
            f"input: {rewritten(dims)}"
            if from_spec
            else "--input " + "x".join(str(dim) for dim in rewritten(dims))
        )
        note = f"the input is read as C×H×W ({reading(dims)}); for an H×W×C image write {fix}"
        error.hint = f"{error.hint}; {note}" if error.hint else note
    return error


READ_AS = "is read as C×H×W"
"""The words every input-order warning has (commands that do not print the analysis's
warnings, such as ``report``, find them by it and put them on stderr)."""
