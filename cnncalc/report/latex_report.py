"""The worked solution as a complete LaTeX document (``pdflatex`` compiles it).

The output is pure ASCII: every symbol of the text report is mapped to its LaTeX form
(:mod:`cnncalc.report.notation`), so no ``inputenc`` or font setup is needed. Only packages
of a minimal TeX installation are used (Debian's ``texlive-latex-base``): amsmath, amssymb,
geometry and longtable. Nesting is drawn with ``\\leftskip``, not list environments, so
deeply nested blocks (Inception in a branch in a block) cannot hit LaTeX's nesting limit.
"""

from __future__ import annotations

from ..layers.explain import Equation, volume
from .markdown_report import equation_chain, input_label, math_span, note_text, split_title
from .notation import tex_text
from .worked import LayerWork, WorkedReport

PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{longtable}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0pt}
\sloppy
\newcommand{\worktitle}[2]{\par\addvspace{5pt}{\leftskip=#1\relax\noindent #2\par}}
\newcommand{\workline}[2]{{\leftskip=#1\relax\hangindent=2em\noindent #2\par}}
"""

INDENT_EM = 1.5


def equation_tex(equation: Equation, answers_only: bool, symbols: tuple[str, ...] = ()) -> str:
    line = math_span(equation_chain(equation, answers_only), symbols)
    if equation.note and not answers_only:
        line += r"\quad " + tex_text(note_text(equation.note))
    if equation.verdict:
        line += r"\quad \textbf{" + tex_text(equation.verdict) + "}"
    return line


def _indent(level: int, extra: float = 0.0) -> str:
    return f"{level * INDENT_EM + extra:g}em"


def layer_tex(work: LayerWork, answers_only: bool, symbols: tuple[str, ...] = ()) -> list[str]:
    explanation = work.explanation
    name, rest = split_title(work)
    title = rf"\textbf{{{tex_text(name)}}}{tex_text(rest)}"
    given = [
        f"input {math_span(value, symbols)}"
        if key == "input"
        else math_span(f"{key} = {value}", symbols)
        for key, value in explanation.given
    ]
    if given:
        title += " --- " + "; ".join(given)
    lines = [rf"\worktitle{{{_indent(work.level)}}}{{{title}}}"]
    body = _indent(work.level, INDENT_EM)
    lines += [
        rf"\workline{{{body}}}{{{equation_tex(equation, answers_only, symbols)}}}"
        for equation in explanation.equations
    ]
    if explanation.remark:
        lines.append(rf"\workline{{{body}}}{{{tex_text(explanation.remark)}}}")
    lines += [
        rf"\workline{{{body}}}{{\textbf{{Warning:}} {tex_text(warning)}}}"
        for warning in work.warnings
    ]
    return lines


def report_latex(report: WorkedReport) -> str:
    """The whole worked solution as a standalone LaTeX document (ASCII only)."""
    analysis = report.analysis
    symbols = tuple(analysis.symbols)
    shape = tuple(analysis.input_shape)
    lines = [PREAMBLE, r"\begin{document}", "", rf"\section*{{{tex_text(analysis.name)}}}"]
    if analysis.source:
        lines.append(rf"Source: {tex_text(analysis.source)}\par")
    lines.append(
        rf"Input ({tex_text(input_label(shape))}): {math_span(volume(shape), symbols)}\par"
    )
    if report.answers_only:
        lines.append(r"\emph{Answers only.}\par")
    lines += ["", r"\subsection*{Worked solution}", ""]
    for work in report.work:
        lines += layer_tex(work, report.answers_only, symbols)
    lines += [
        "",
        r"\subsection*{Totals}",
        "",
        r"\begin{longtable}{@{}p{0.17\textwidth}p{0.33\textwidth}p{0.44\textwidth}@{}}",
        r"\hline",
        r"\textbf{quantity} & \textbf{value} & \textbf{note} \\",
        r"\hline",
        r"\endhead",
    ]
    lines += [
        rf"{tex_text(fact.label)} & {tex_text(fact.value)} & {tex_text(fact.note)}"
        + (rf" \textbf{{{tex_text(fact.verdict)}}}" if fact.verdict else "")
        + r" \\"
        for fact in report.totals
    ]
    lines += [r"\hline", r"\end{longtable}", "", r"\subsection*{Conventions}", ""]
    lines.append(r"\begin{itemize}")
    lines += [rf"\item {tex_text(item)}" for item in report.conventions]
    lines += [r"\end{itemize}", "", r"\end{document}"]
    return "\n".join(lines) + "\n"
