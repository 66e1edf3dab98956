"""Papers and answer keys drawn as Markdown, LaTeX (an exam document, pure ASCII, that
``pdflatex`` compiles with a minimal TeX installation), self-contained HTML, and JSON
(:mod:`cnncalc.quiz.serialize`); the grading reports as text and Markdown.

A paper shows the questions with a blank per answer box and its marks; the key adds the
answers and the worked solution of each question (the engine's explanations, as
``cnncalc report`` words them) and the marking rules. Several papers (a class) follow each
other, one per page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..report.notation import tex_text
from .grading import Grading, StudentGrade
from .model import Answer, Paper, Question

FORMATS = ("md", "latex", "html", "json")


def render(papers: Sequence[Paper], fmt: str, key: bool = False) -> str:
    if fmt == "json":
        from .serialize import papers_json

        return papers_json(papers, key)
    if fmt == "latex":
        return papers_latex(papers, key)
    if fmt == "html":
        return papers_html(papers, key)
    return papers_markdown(papers, key)


def _marks(count: int) -> str:
    return f"{count} mark{'s' if count != 1 else ''}"


def _header(paper: Paper, key: bool) -> list[str]:
    """(label, value) lines under a paper's title."""
    who = paper.student or "________________"
    kind = "Answer key" if key else "Name"
    return [
        f"{kind}: {who}"
        if not key
        else f"{kind}" + (f" for {paper.student}" if paper.student else ""),
        f"Seed {paper.seed} · {paper.difficulty} · {len(paper.questions)} "
        f"question{'s' if len(paper.questions) != 1 else ''} · "
        f"{_marks(paper.marks)}" + (f" · about {paper.source}" if paper.source else ""),
    ]


def _box_text(answer: Answer, key: bool) -> str:
    unit = f" {answer.unit}" if answer.unit else ""
    rounding = (
        f" (to {answer.decimals} decimals, ±{answer.tolerance:g})"
        if answer.decimals is not None
        else ""
    )
    value = answer.value_text() if key else "…………………"
    return f"({answer.key}) {answer.label}: {value}{unit}{rounding} [{_marks(answer.marks)}]"


# ------------------------------------------------------------------ Markdown


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(table: Sequence[Sequence[str]]) -> list[str]:
    if not table:
        return []
    head, *rows = table
    lines = ["| " + " | ".join(_md_cell(cell) for cell in head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
    return ["", *lines]


def question_markdown(question: Question, key: bool) -> list[str]:
    lines = ["", f"## {question.number}. {question.title} ({_marks(question.marks)})", ""]
    lines += [paragraph for item in question.prompt for paragraph in (item, "")][:-1]
    lines += _md_table(question.table)
    lines.append("")
    lines += [f"- {_box_text(answer, key)}" for answer in question.answers]
    if key:
        # tildes, so that a key pasted into Markdown inside a ``` block stays one block
        lines += ["", "Working:", "", "~~~text", *question.working, "~~~"]
    return lines


def paper_markdown(paper: Paper, key: bool) -> list[str]:
    lines = [f"# {paper.title}", "", *(f"{line}  " for line in _header(paper, key))]
    lines += ["", "Conventions:", "", *(f"- {item}" for item in paper.conventions)]
    if key:
        lines += ["", "Marking:", "", *(f"- {item}" for item in paper.rules)]
    for question in paper.questions:
        lines += question_markdown(question, key)
    return lines


def papers_markdown(papers: Sequence[Paper], key: bool = False) -> str:
    parts = ["\n".join(paper_markdown(paper, key)) for paper in papers]
    return "\n\n---\n\n".join(parts) + "\n"


# ------------------------------------------------------------------ LaTeX

LATEX_PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\sloppy
\newcommand{\answerline}{\rule{5cm}{0.4pt}}
"""


def _tex_table(table: Sequence[Sequence[str]]) -> list[str]:
    if not table:
        return []
    head, *rows = table
    spec = "r l p{0.38\\textwidth} l r"
    lines = [r"\begin{center}\small", rf"\begin{{tabular}}{{{spec}}}", r"\hline"]
    lines.append(" & ".join(rf"\textbf{{{tex_text(cell)}}}" for cell in head) + r" \\ \hline")
    lines += [" & ".join(tex_text(cell) for cell in row) + r" \\" for row in rows]
    lines += [r"\hline", r"\end{tabular}", r"\end{center}"]
    return lines


def _tex_box(answer: Answer, key: bool) -> str:
    unit = f" {tex_text(answer.unit)}" if answer.unit else ""
    rounding = (
        f" (to {answer.decimals} decimals, $\\pm${answer.tolerance:g})"
        if answer.decimals is not None
        else ""
    )
    value = rf"\textbf{{{tex_text(answer.value_text())}}}" if key else r"\answerline"
    return (
        rf"\item[({answer.key})] {tex_text(answer.label)}: {value}{unit}{rounding}"
        rf"\hfill [{_marks(answer.marks)}]"
    )


def _tex_working(lines: Sequence[str]) -> list[str]:
    out = [r"\begin{flushleft}\small"]
    for line in lines:
        indent = (len(line) - len(line.lstrip(" "))) // 4
        out.append(rf"\hspace*{{{1.5 * indent:g}em}}{tex_text(line.strip())}\\")
    out.append(r"\end{flushleft}")
    return out


def question_latex(question: Question, key: bool) -> list[str]:
    lines = [
        "",
        rf"\subsection*{{{question.number}. {tex_text(question.title)} "
        rf"\normalfont\small[{_marks(question.marks)}]}}",
    ]
    lines += [tex_text(paragraph) + r"\par" for paragraph in question.prompt]
    lines += _tex_table(question.table)
    lines += [r"\begin{itemize}", *(_tex_box(answer, key) for answer in question.answers)]
    lines.append(r"\end{itemize}")
    if key:
        lines += [r"\textbf{Working}", *_tex_working(question.working)]
    return lines


def paper_latex(paper: Paper, key: bool) -> list[str]:
    lines = [rf"\section*{{{tex_text(paper.title)}}}"]
    lines += [tex_text(line) + r"\par" for line in _header(paper, key)]
    lines += [r"\textbf{Conventions}", r"\begin{itemize}\small"]
    lines += [rf"\item {tex_text(item)}" for item in paper.conventions]
    lines.append(r"\end{itemize}")
    if key:
        lines += [r"\textbf{Marking}", r"\begin{itemize}\small"]
        lines += [rf"\item {tex_text(item)}" for item in paper.rules]
        lines.append(r"\end{itemize}")
    for question in paper.questions:
        lines += question_latex(question, key)
    return lines


def papers_latex(papers: Sequence[Paper], key: bool = False) -> str:
    lines = [LATEX_PREAMBLE, r"\begin{document}"]
    for index, paper in enumerate(papers):
        if index:
            lines.append(r"\newpage")
        lines += paper_latex(paper, key)
    lines += ["", r"\end{document}"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ HTML

CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 52em; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.5em; border-bottom: 2px solid #444; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
.meta { color: #555; }
.paper { page-break-after: always; margin-bottom: 3em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #999; padding: 0.2em 0.5em; text-align: left; }
ul.boxes { list-style: none; padding-left: 0.5em; }
.box-key { font-weight: bold; }
.blank { display: inline-block; min-width: 10em; border-bottom: 1px solid #333; }
.value { font-weight: bold; color: #064; }
.marks { color: #555; float: right; }
pre.working { background: #f5f5f0; padding: 0.6em; white-space: pre-wrap;
              font-size: 0.88em; }
small.rules li, small.conventions li { margin: 0.1em 0; }
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(table: Sequence[Sequence[str]]) -> str:
    if not table:
        return ""
    head, *rows = table
    parts = ["<table>", "<tr>" + "".join(f"<th>{_h(cell)}</th>" for cell in head) + "</tr>"]
    parts += ["<tr>" + "".join(f"<td>{_h(cell)}</td>" for cell in row) + "</tr>" for row in rows]
    return "\n".join([*parts, "</table>"])


def _html_box(answer: Answer, key: bool, prefix: str) -> str:
    value = (
        f'<span class="value">{_h(answer.value_text())}</span>'
        if key
        else '<span class="blank">&nbsp;</span>'
    )
    unit = f" {_h(answer.unit)}" if answer.unit else ""
    rounding = (
        f" (to {answer.decimals} decimals, ±{answer.tolerance:g})"
        if answer.decimals is not None
        else ""
    )
    return (
        f'<li id="{prefix}box-{_h(answer.key)}"><span class="box-key">({_h(answer.key)})</span> '
        f"{_h(answer.label)}: {value}{unit}{_h(rounding)}"
        f'<span class="marks">[{_marks(answer.marks)}]</span></li>'
    )


def question_html(question: Question, key: bool, prefix: str) -> str:
    parts = [
        f'<section class="question" id="{prefix}q{question.number}">',
        f"<h2>{question.number}. {_h(question.title)} "
        f'<span class="meta">({_marks(question.marks)})</span></h2>',
        *(f"<p>{_h(paragraph)}</p>" for paragraph in question.prompt),
        _html_table(question.table),
        '<ul class="boxes">',
        *(_html_box(answer, key, prefix) for answer in question.answers),
        "</ul>",
    ]
    if key:
        parts.append(f'<pre class="working">{_h(chr(10).join(question.working))}</pre>')
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def paper_html(paper: Paper, key: bool, index: int) -> str:
    prefix = f"p{index}-"
    lists = [
        '<small class="conventions"><ul>',
        *(f"<li>{_h(item)}</li>" for item in paper.conventions),
        "</ul></small>",
    ]
    if key:
        lists += [
            '<p><b>Marking</b></p><small class="rules"><ul>',
            *(f"<li>{_h(item)}</li>" for item in paper.rules),
            "</ul></small>",
        ]
    body = "\n".join(question_html(question, key, prefix) for question in paper.questions)
    header = "".join(f'<p class="meta">{_h(line)}</p>' for line in _header(paper, key))
    return "\n".join(
        [
            f'<article class="paper" id="{prefix}paper">',
            f"<h1>{_h(paper.title)}</h1>",
            header,
            *lists,
            body,
            "</article>",
        ]
    )


def papers_html(papers: Sequence[Paper], key: bool = False) -> str:
    title = papers[0].title + (" — answer key" if key else "") if papers else "quiz"
    body = "\n".join(paper_html(paper, key, index) for index, paper in enumerate(papers))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_h(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


# ------------------------------------------------------------------ grading reports


def _percent(right: int, asked: int) -> str:
    return f"{100 * right / asked:.0f}%" if asked else "—"


def student_report(result: StudentGrade) -> list[str]:
    """One student's marks, then the worked correction of every wrong box."""
    lines = [f"{result.student or 'answers'}: {result.score}/{result.total}"]
    lines += [f"  note: {note}" for note in result.notes]
    shown: set[int] = set()
    for mark in result.wrong:
        given = f"you wrote {mark.given}" if mark.given else "no answer"
        why = f" ({mark.message})" if mark.message and mark.given else ""
        lines.append(
            f"  ✗ ({mark.answer.key}) {mark.answer.label}: {given}{why}; the answer is "
            f"{mark.answer.value_text()}{' ' + mark.answer.unit if mark.answer.unit else ''}"
            f" [−{mark.answer.marks}]"
        )
        if mark.question not in shown:
            shown.add(mark.question)
            question = result.paper.questions[mark.question - 1]
            lines += [f"      {line}" for line in question.working]
    if not result.wrong:
        lines.append("  every answer right")
    return lines


def grading_text(grading: Grading) -> str:
    lines: list[str] = []
    for result in grading.students:
        lines += [*student_report(result), ""]
    lines += [f"not graded: {note}" for note in grading.notes]
    if len(grading.students) > 1:
        lines += ["", *class_summary(grading)]
    return "\n".join(lines).rstrip("\n") + "\n"


def class_summary(grading: Grading) -> list[str]:
    scores = [result.score for result in grading.students]
    total = sum(result.total for result in grading.students)
    lines = [
        f"Class: {len(scores)} students, {sum(scores)}/{total} marks "
        f"({_percent(sum(scores), total)})",
        "",
        "By topic (weakest first):",
    ]
    lines += [
        f"  {rate.name:<18} {rate.right}/{rate.asked} boxes right "
        f"({_percent(rate.right, rate.asked)})"
        for rate in grading.per_topic()
    ]
    lines += ["", "By answer box:"]
    lines += [
        f"  ({rate.name}) {rate.right}/{rate.asked} ({_percent(rate.right, rate.asked)})"
        for rate in grading.per_question()
    ]
    return lines
