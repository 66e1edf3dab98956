"""Errors for people: every bad spec names its file, line, column, layer and key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A position in a spec file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class CnncalcError(Exception):
    """Base class of the errors cnncalc reports to users."""


class SpecError(CnncalcError):
    """A spec that cannot be analysed: the message says where and why, and hints at a fix."""

    def __init__(
        self,
        message: str,
        loc: Loc | None = None,
        *,
        layer: str | None = None,
        key: str | None = None,
        hint: str | None = None,
        source_line: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.layer = layer
        self.key = key
        self.hint = hint
        self.source_line = source_line

    def with_layer(self, layer: str) -> SpecError:
        if self.layer is None:
            self.layer = layer
        return self

    def render(self) -> str:
        """The message as the CLI prints it: position, context, the source line and a caret."""
        where = f"{self.loc}: " if self.loc else ""
        context = []
        if self.layer:
            context.append(f"layer '{self.layer}'")
        if self.key:
            context.append(f"key '{self.key}'")
        head = f"{where}error: {self.message}"
        if context:
            head += f"  [{', '.join(context)}]"
        lines = [clip_quoted(head)]
        if self.loc and self.source_line is not None:
            shown, caret = clip_source_line(self.source_line.rstrip("\n"), self.loc.column)
            gutter = f"{self.loc.line:>5} | "
            lines.append(gutter + shown)
            lines.append(" " * (len(gutter) - 2) + "| " + " " * (caret - 1) + "^")
        if self.hint:
            lines.append(clip_quoted(f"  hint: {self.hint}"))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


QUOTE_WIDTH = 60
"""The most characters of a quoted value (a kind, key or name) an error's headline shows."""


def clip_quoted(text: str) -> str:
    """Each quoted value over :data:`QUOTE_WIDTH` characters cut to its start, '…' and its
    length: a 3,000-character kind name would bury the message."""
    import re  # only when there is an error to show

    def clip(match: re.Match[str]) -> str:
        value = match[1]
        return f"'{value[: QUOTE_WIDTH - 1]}…' ({len(value):,} characters)"

    # a quoted value is one token: 'x…x' with no space inside, not the span between the
    # closing quote of one value and the opening quote of the next
    pattern = r"(?<![\w'])'([^'\s]{" + str(QUOTE_WIDTH + 1) + r",})'(?!\w)"
    return re.sub(pattern, clip, text)


SOURCE_WIDTH = 100
"""The most characters of a source line an error shows; a longer one is cut around the caret."""


def clip_source_line(line: str, column: int) -> tuple[str, int]:
    """``line`` cut to :data:`SOURCE_WIDTH` characters around ``column`` (1-based), with '…'
    where it was cut, and the caret's column in the cut line."""
    if len(line) <= SOURCE_WIDTH:
        return line, column
    start = max(0, min(column - 1 - SOURCE_WIDTH // 2, len(line) - SOURCE_WIDTH))
    shown = line[start : start + SOURCE_WIDTH]
    caret = column - start
    if start > 0:
        shown, caret = "…" + shown, caret + 1
    if start + SOURCE_WIDTH < len(line):
        shown += "…"
    return shown, caret


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """'did you mean ...?' for a misspelt key or kind, or None when nothing is close."""
    import difflib  # only when there is an error to explain

    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


class paused_garbage_collection:
    """Pause the cyclic garbage collector while building many small objects.

    Loading and analysing allocate tens of thousands of short-lived objects and no cycles
    worth collecting mid-way; CPython's collector would otherwise run hundreds of times on a
    10,000-layer spec (a third to half of its time). It is restored on exit.
    """

    def __enter__(self) -> None:
        import gc

        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        import gc

        if self.was_enabled:
            gc.enable()
