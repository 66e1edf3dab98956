"""The worked solution as Markdown: headings per layer, equations in ``$…$`` math.

GitHub renders ``$…$`` with MathJax, so the equations are LaTeX (``\\cdot``, ``\\lfloor``,
``W_{\\text{out}}``); everything else is plain Markdown with its specials escaped. Content
and order follow :mod:`cnncalc.report.text_report`.
"""

from __future__ import annotations

import re
from typing import Any

from ..layers.explain import Equation, volume
from .notation import tex_math
from .worked import LayerWork, WorkedReport

_SPECIALS = re.compile(r"([\\`*_\[\]<>|~$])")


def md_text(text: str) -> str:
    """Plain text with Markdown's specials backslash-escaped (one line)."""
    return _SPECIALS.sub(r"\\\1", " ".join(text.split()))


def math_span(text: str, symbols: tuple[str, ...]) -> str:
    """``$…$``: inline math, in Markdown and in LaTeX alike."""
    return f"${tex_math(text, symbols)}$"


def equation_chain(equation: Equation, answers_only: bool) -> str:
    """``name = formula = working = result``, or ``name = result`` with the answers only."""
    parts = [equation.name]
    if not answers_only:
        if equation.formula:
            parts.append(equation.formula)
        if equation.working and equation.working != equation.result:
            parts.append(equation.working)
    parts.append(equation.result)
    return " = ".join(parts)


def note_text(note: str) -> str:
    """Notes read as a parenthesis after the equation, as in the text report."""
    return note if note.startswith("(") else f"({note})"


def equation_md(equation: Equation, answers_only: bool, symbols: tuple[str, ...] = ()) -> str:
    """``$W_{\\text{out}} = (W - F + 2P)/S + 1 = … = 55$`` (and the note after it)."""
    line = math_span(equation_chain(equation, answers_only), symbols)
    if equation.note and not answers_only:
        line += " " + md_text(note_text(equation.note))
    if equation.verdict:
        line += f" **{md_text(equation.verdict)}**"
    return line


def given_md(given: tuple[tuple[str, str], ...], symbols: tuple[str, ...] = ()) -> str:
    return ", ".join(
        f"input {math_span(value, symbols)}"
        if name == "input"
        else math_span(f"{name} = {value}", symbols)
        for name, value in given
    )


def split_title(work: LayerWork) -> tuple[str, str]:
    """(``conv1``, `` (conv)``): the layer's path, to set in bold, and the rest."""
    path = work.row.path
    if path and work.title.startswith(path):
        return path, work.title[len(path) :]
    return work.title, ""


def _heading(level: int) -> str:
    return "#" * min(3 + level, 6)


def layer_md(work: LayerWork, answers_only: bool, symbols: tuple[str, ...] = ()) -> list[str]:
    explanation = work.explanation
    lines = [f"{_heading(work.level)} {md_text(work.title)}", ""]
    if explanation.given:
        lines += [f"Given: {given_md(explanation.given, symbols)}", ""]
    if explanation.equations:
        lines += [
            f"- {equation_md(equation, answers_only, symbols)}"
            for equation in explanation.equations
        ]
        lines.append("")
    if explanation.remark:
        lines += [md_text(explanation.remark), ""]
    for warning in work.warnings:
        lines += [f"> ⚠ **Warning:** {md_text(warning)}", ""]
    return lines


def input_label(shape: tuple[Any, ...]) -> str:
    """``H×W×D`` or ``N``: how the input is written (the notes' order)."""
    return "H×W×D" if len(shape) == 3 else "N"


def _input_line(shape: tuple[Any, ...], symbols: tuple[str, ...]) -> str:
    return f"Input ({input_label(shape)}): {math_span(volume(shape), symbols)}"


def report_markdown(report: WorkedReport) -> str:
    """The whole worked solution as one Markdown document."""
    analysis = report.analysis
    symbols = tuple(analysis.symbols)
    lines = [f"# {md_text(analysis.name)}", ""]
    if analysis.source:
        lines += [f"Source: {md_text(analysis.source)}", ""]
    lines += [_input_line(tuple(analysis.input_shape), symbols), ""]
    if report.answers_only:
        lines += ["*Answers only.*", ""]
    lines += ["## Worked solution", ""]
    for work in report.work:
        lines += layer_md(work, report.answers_only, symbols)
    lines += ["## Totals", "", "| quantity | value | note |", "|---|---|---|"]
    lines += [
        f"| {md_text(fact.label)} | {md_text(fact.value)} | {md_text(fact.note)}"
        + (f" **{md_text(fact.verdict)}**" if fact.verdict else "")
        + " |"
        for fact in report.totals
    ]
    lines += ["", "## Conventions", ""]
    lines += [f"- {md_text(item)}" for item in report.conventions]
    return "\n".join(lines) + "\n"
