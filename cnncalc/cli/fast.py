"""The console script's fast path for the analysis commands; typer for everything else.

``cnncalc summary SPEC`` must cost a small fraction of ``import torch``; typer (with
pydantic) alone costs more than our whole analysis, so plain invocations of
shape/params/flops/summary are parsed here with the same options and defaults as the typer
app (tests run both paths on the same arguments). Anything unusual — help, an unknown or
malformed option — goes to typer, which prints its usual messages.
"""

from __future__ import annotations

import sys
from collections.abc import Collection

from ..engine.conventions import CONVENTIONS
from ..report.formats import FORMATS
from .run import ANALYSIS_COMMANDS

_OPTIONS = {
    "--input": "input",
    "-i": "input",
    "--batch": "batch",
    "-b": "batch",
    "--format": "format",
    "-f": "format",
    "--convention": "convention",
    "-c": "convention",
}
_CHOICES: dict[str, Collection[str]] = {"format": FORMATS, "convention": CONVENTIONS}


def parse_fast(argv: list[str]) -> dict[str, str] | None:
    """The options of a plain analysis command, or None when typer should handle argv.
    ``--set name=value`` may be repeated: the values are joined in ``sets``, one a line."""
    if not argv or argv[0] not in ANALYSIS_COMMANDS:
        return None
    parsed: dict[str, str] = {"command": argv[0]}
    sets: list[str] = []
    rest = argv[1:]
    index = 0
    while index < len(rest):
        token = rest[index]
        name, has_value, value = token.partition("=")
        if name == "--set":
            if not has_value:
                if index + 1 >= len(rest):
                    return None
                index += 1
                value = rest[index]
            if "\n" in value:
                return None
            sets.append(value)
        elif name in _OPTIONS:
            key = _OPTIONS[name]
            if not has_value:
                if index + 1 >= len(rest):
                    return None
                index += 1
                value = rest[index]
            if key in parsed or (key in _CHOICES and value not in _CHOICES[key]):
                return None
            if key == "batch" and not (value.isdigit() and int(value) >= 1):
                return None
            parsed[key] = value
        elif token.startswith("-") or "spec" in parsed:
            return None
        else:
            parsed["spec"] = token
        index += 1
    if sets:
        parsed["sets"] = "\n".join(sets)
    return parsed if "spec" in parsed else None


def main() -> None:
    options = parse_fast(sys.argv[1:])
    if options is None:
        from .application import app

        app()
        return
    from .run import run_analysis

    sys.exit(
        run_analysis(
            options["command"],
            options["spec"],
            options.get("input"),
            int(options.get("batch", 1)),
            options.get("format", "table"),
            options.get("convention", "cnncalc"),
            options["sets"].split("\n") if "sets" in options else (),
        )
    )
