"""The analysis commands as plain functions: what ``cnncalc shape/params/flops/summary`` do.

Both front ends call :func:`run_analysis`: the typer app (``cnncalc.cli``) and the fast
path (``cnncalc.entry``) that serves these four commands without importing typer, so a
whole ``cnncalc summary`` process stays a small fraction of ``python -c "import torch"``.
"""

from __future__ import annotations

import sys
from typing import Any

from .errors import CnncalcError, SpecError

ANALYSIS_COMMANDS = ("shape", "params", "flops", "summary")
FORMATS = ("table", "json", "csv", "md")
CONVENTIONS = ("cnncalc", "fvcore", "flopcounter", "torchinfo", "keras")


class UsageError(CnncalcError):
    """A bad command-line value (exit status 2)."""


def parse_input(text: str) -> list[Any]:
    """``3x224x224`` / ``3xHxW`` / ``1x28x28`` / ``784`` → dimensions (ints or symbol names)."""
    parts = [part.strip() for part in text.replace("×", "x").replace("X", "x").split("x")]
    if len(parts) not in (1, 3) or not all(parts):
        raise UsageError(
            f"--input '{text}' must be CxHxW (e.g. 3x224x224 or 3xHxW), or N for a flat input"
        )
    dims: list[Any] = []
    for part in parts:
        if part.isdigit() and int(part) > 0:
            dims.append(int(part))
        elif part.isidentifier():
            dims.append(part)
        else:
            raise UsageError(
                f"--input dimension '{part}' must be a positive integer or a symbol such as H"
            )
    return dims


def run_analysis(
    command: str,
    spec: str,
    input_text: str | None = None,
    batch: int = 1,
    fmt: str = "table",
    convention: str = "cnncalc",
) -> int:
    """Analyse ``spec`` and print ``command``'s view; returns the exit status (0 or 2)."""
    from .engine import analyse
    from .engine.conventions import get_convention
    from .report.formats import render
    from .spec import load_spec

    try:
        dims = parse_input(input_text) if input_text else None
        analysis = analyse(load_spec(spec), dims, batch)
    except SpecError as error:
        sys.stderr.write(error.render() + "\n")
        return 2
    except CnncalcError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write(render(analysis, command, fmt, get_convention(convention)) + "\n")
    return 0
