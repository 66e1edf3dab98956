"""The worked solution as plain text (what the terminal shows, and the golden files hold)."""

from __future__ import annotations

from ..layers.explain import Equation
from .worked import LayerWork, WorkedReport


def equation_line(equation: Equation, answers_only: bool = False) -> str:
    """``W_out = (W_in − F + 2P)/S + 1 = (227 − 11 + 2·0)/4 + 1 = 55``."""
    if answers_only:
        parts = [equation.name, equation.result]
    else:
        parts = [equation.name]
        if equation.formula:
            parts.append(equation.formula)
        if equation.working and equation.working != equation.result:
            parts.append(equation.working)
        parts.append(equation.result)
    line = " = ".join(parts)
    if equation.note and not answers_only:
        line += f"  {equation.note}" if equation.note.startswith("(") else f"  ({equation.note})"
    if equation.verdict:
        line += f"  {equation.verdict}"
    return line


def layer_lines(work: LayerWork, answers_only: bool) -> list[str]:
    indent = "  " * work.level
    explanation = work.explanation
    head = f"{indent}{work.title}"
    given = [
        f"{name} = {value}" if name != "input" else f"input {value}"
        for name, value in explanation.given
    ]
    if given:
        head += " — " + "; ".join(given)
    lines = [head]
    lines += [
        f"{indent}    {equation_line(equation, answers_only)}" for equation in explanation.equations
    ]
    if explanation.remark:
        lines.append(f"{indent}    {explanation.remark}")
    lines += [f"{indent}    ⚠ {warning}" for warning in work.warnings]
    return lines


def report_text(report: WorkedReport) -> str:
    analysis = report.analysis
    lines = [analysis.name, "=" * len(analysis.name)]
    if analysis.source:
        lines.append(f"Source: {analysis.source}")
    lines.append(
        f"Input {(analysis.input_shape[1:] and 'H×W×D') or 'N'}: "
        + (
            f"{analysis.input_shape[1]}×{analysis.input_shape[2]}×{analysis.input_shape[0]}"
            if len(analysis.input_shape) == 3
            else str(analysis.input_shape[0])
        )
    )
    if report.answers_only:
        lines.append("Answers only.")  # as the other formats say it
    lines.append("")
    for work in report.work:
        lines += layer_lines(work, report.answers_only)
    lines += ["", "Totals", "------"]
    width = max(len(fact.label) for fact in report.totals)
    for fact in report.totals:
        line = f"{fact.label.ljust(width)}  {fact.value}"
        line = f"{line}  ({fact.note})" if fact.note else line
        lines.append(f"{line}  {fact.verdict}" if fact.verdict else line)
    lines += ["", "Conventions", "-----------", *(f"- {item}" for item in report.conventions)]
    return "\n".join(lines)
