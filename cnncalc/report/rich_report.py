"""The worked solution in colour, for a terminal (``cnncalc report`` on a TTY).

The same content and order as :mod:`cnncalc.report.text_report` (which stays the output
when stdout is not a terminal): layer titles in bold, results highlighted, notes dimmed,
warnings in yellow, the totals as a table. rich is imported here, not at module level, so
commands that never colour anything do not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..layers.explain import Equation, volume
from .markdown_report import input_label, note_text, split_title
from .worked import LayerWork, WorkedReport

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

INDENT = 2
HANG = 4
"""Continuation lines of a wrapped step are indented this much more than its first line."""
MIN_WIDTH = 24
"""Below this many columns for the text, wrapping no longer helps: let the terminal do it."""


def _equation(equation: Equation, answers_only: bool) -> Text:
    from rich.text import Text

    line = Text()
    line.append(equation.name, style="bold cyan")
    if not answers_only:
        if equation.formula:
            line.append(" = ")
            line.append(equation.formula, style="italic")
        if equation.working and equation.working != equation.result:
            line.append(" = ")
            line.append(equation.working)
    line.append(" = ")
    line.append(equation.result, style="bold green")
    if equation.note and not answers_only:
        line.append("  " + note_text(equation.note), style="dim")
    if equation.verdict:
        line.append("  ")
        line.append_text(_verdict(equation.verdict))
    return line


def _verdict(verdict: str) -> Text:
    """Judged claims: green for right, red for wrong."""
    from rich.text import Text

    line = Text()
    for index, part in enumerate(verdict.split("; ")):
        if index:
            line.append("; ")
        line.append(part, style="bold green" if part.startswith("✓") else "bold red")
    return line


def _layer(work: LayerWork, answers_only: bool) -> list[tuple[int, Text]]:
    """The layer's lines, each with its indent (kept apart so that wrapping can hang)."""
    from rich.text import Text

    indent = INDENT * work.level
    body = indent + 4
    explanation = work.explanation
    name, rest = split_title(work)
    head = Text()
    head.append(name, style="bold magenta" if work.row.is_group else "bold")
    head.append(rest, style="blue")
    given = [
        f"{key} = {value}" if key != "input" else f"input {value}"
        for key, value in explanation.given
    ]
    if given:
        head.append(" — " + "; ".join(given), style="dim")
    lines = [(indent, head)]
    lines += [(body, _equation(equation, answers_only)) for equation in explanation.equations]
    if explanation.remark:
        lines.append((body, Text(explanation.remark, style="dim")))
    lines += [(body, Text(f"⚠ {warning}", style="bold yellow")) for warning in work.warnings]
    return lines


def print_hanging(console: Console, line: Text, indent: int, hang: int = HANG) -> None:
    """Print ``line`` at ``indent``, wrapped to the console with its continuation lines
    indented further (a hanging indent), so a long equation never runs back to column 0."""

    first_width = max(console.width - indent, MIN_WIDTH)
    first = line.wrap(console, first_width)[0]
    _print_line(console, first, indent)
    offset = len(first.plain)
    remaining = line.plain[offset:]
    rest = line[offset + len(remaining) - len(remaining.lstrip()) :]  # slicing keeps styles
    if not rest.plain:
        return
    for part in rest.wrap(console, max(console.width - indent - hang, MIN_WIDTH)):
        _print_line(console, part, indent + hang)


def _print_line(console: Console, part: Text, indent: int) -> None:
    from rich.text import Text

    part.rstrip()  # the space the line was broken at
    padded = Text(" " * indent)
    padded.append_text(part)
    console.print(padded, soft_wrap=True, highlight=False)


def print_report_rich(report: WorkedReport, console: Console | None = None) -> None:
    """Print ``report`` to ``console`` (a new stdout console when None) with colour."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    analysis = report.analysis
    shape: tuple[Any, ...] = tuple(analysis.input_shape)
    console.rule(Text(analysis.name, style="bold"))
    if analysis.source:
        print_hanging(console, Text(f"Source: {analysis.source}", style="dim"), 0)
    console.print(Text(f"Input {input_label(shape)}: {volume(shape)}"))
    if report.answers_only:
        console.print(Text("Answers only.", style="italic"))
    console.print()
    for work in report.work:
        for indent, line in _layer(work, report.answers_only):
            print_hanging(console, line, indent)
    console.print()
    table = Table(title="Totals", title_justify="left", title_style="bold", show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", style="green", overflow="fold")
    table.add_column("note", style="dim", overflow="fold")
    for fact in report.totals:
        note = Text(fact.note, style="dim")
        if fact.verdict:
            note.append("  " if fact.note else "")
            note.append_text(_verdict(fact.verdict))
        table.add_row(fact.label, fact.value, note)
    console.print(table)
    console.print()
    console.print(Text("Conventions", style="bold"))
    for item in report.conventions:
        print_hanging(console, Text(f"• {item}"), 0, hang=2)
