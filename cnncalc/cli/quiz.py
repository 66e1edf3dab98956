"""``cnncalc quiz`` and ``cnncalc grade``: exam papers with worked keys, and marking.

Thin: :mod:`cnncalc.quiz` generates and grades, :mod:`cnncalc.quiz.render` draws; here are
the options, the files and the terminal session of ``--interactive``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from .common import choice_type, exit_with, value_of

if TYPE_CHECKING:
    QuizFormat: TypeAlias = str
    Difficulty: TypeAlias = str
else:
    QuizFormat = choice_type("QuizFormat", ("md", "latex", "html", "json"))
    Difficulty = choice_type("Difficulty", ("easy", "medium", "hard"))

SUFFIXES = {".md": "md", ".tex": "latex", ".html": "html", ".htm": "html", ".json": "json"}
EXTENSIONS = {"md": "md", "latex": "tex", "html": "html", "json": "json"}


def quiz(
    topics: Annotated[
        str | None,
        typer.Option(
            "--topics", "-t", help="Comma-separated topics (default: all; a wrong one lists them)."
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", help="Questions per paper.")] = 10,
    difficulty: Annotated[
        Difficulty, typer.Option("--difficulty", "-d", help="easy, medium or hard.")
    ] = Difficulty("medium"),
    seed: Annotated[int, typer.Option("--seed", "-s", help="The same seed, the same paper.")] = 0,
    variants: Annotated[
        int | None, typer.Option("--variants", help="One distinct, equivalent paper per variant.")
    ] = None,
    students: Annotated[
        Path | None,
        typer.Option(
            "--students",
            help="A roster (CSV with a 'student' or 'name' column, or "
            "one name per line): one paper per student.",
        ),
    ] = None,
    source: Annotated[
        Path | None, typer.Option("--from", help="Ask about this network (a spec file).")
    ] = None,
    format: Annotated[
        QuizFormat | None,
        typer.Option("--format", "-f", help="md, latex, html or json (default: from -o, else md)."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="A file, or a directory for paper and key files."),
    ] = None,
    key: Annotated[bool, typer.Option("--key", help="The answer key, with the working.")] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", help="Answer in the terminal, one at a time.")
    ] = False,
) -> None:
    """Exam questions with worked answer keys, from the engine's layer rules.

    Example: cnncalc quiz --topics output-volume,parameters --count 4 --seed 7 --key
    """
    from .run import guarded

    def body() -> int:
        from ..quiz import generate, generate_papers, variant_names

        chosen = [topic.strip() for topic in topics.split(",") if topic.strip()] if topics else None
        level = value_of(difficulty)
        if interactive:
            paper = generate(chosen, count, level, seed, source)
            return run_interactive(paper)
        if students is not None or variants is not None:
            names = read_roster(students) if students is not None else variant_names(variants or 0)
            papers = generate_papers(names, chosen, count, level, seed, source)
        else:
            papers = (generate(chosen, count, level, seed, source),)
        return write_papers(papers, value_of(format) if format else None, output, key)

    exit_with(guarded(body))


def read_roster(path: Path) -> list[str]:
    """Names from a roster: a CSV with a 'student' or 'name' column, or one name per line."""
    from ..quiz import QuizError
    from ..quiz.grading import csv_rows

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise QuizError(f"cannot read the roster {path}: {error}") from None
    rows = [row for row in csv_rows(text) if any(cell.strip() for cell in row)]
    if not rows:
        raise QuizError(f"{path}: the roster is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in ("student", "name") if name in header), None)
    body = rows[1:] if column is not None else rows
    names = [row[column or 0].strip() for row in body if len(row) > (column or 0)]
    names = [name for name in names if name]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise QuizError(
            f"{path}: duplicate names in the roster: {', '.join(duplicates)} (each "
            "student needs a distinct name: add an initial or a number)"
        )
    if not names:
        raise QuizError(f"{path}: no names in the roster")
    return names


def _format_of(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output:
        from ..quiz import QuizError

        suffix = Path(output).suffix.lower()
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
        if suffix:
            raise QuizError(
                f"-o {output}: cannot tell the format from '{suffix}'; use .md, "
                ".tex, .html or .json, or give --format"
            )
    return "md"


def write_papers(papers: Any, fmt: str | None, output: str | None, key: bool) -> int:
    from ..quiz.render import render
    from .run import write

    if output and (Path(output).is_dir() or output.endswith(("/", "\\"))):
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        chosen = fmt or "md"
        for name, with_key in (("paper", False), ("key", True)):
            write(render(papers, chosen, with_key), str(folder / f"{name}.{EXTENSIONS[chosen]}"))
        if chosen != "json":  # the key as JSON too: what 'cnncalc grade' reads
            write(render(papers, "json", True), str(folder / "key.json"))
        if len(papers) > 1:  # and each student's paper alone, to hand out
            for paper in papers:
                name = re.sub(r"[^\w.-]+", "_", paper.student).strip("._") or str(paper.seed)
                write(
                    render([paper], chosen, False),
                    str(folder / f"paper-{name}.{EXTENSIONS[chosen]}"),
                )
        return 0
    write(render(papers, _format_of(fmt, output), key), output)
    return 0


# ------------------------------------------------------------------ --interactive


def _ask(prompt: str) -> str | None:
    typer.echo(prompt, nl=False)
    line = sys.stdin.readline()
    if not line:
        typer.echo("")
        return None
    return line.strip()


def run_interactive(paper: Any) -> int:
    """One question at a time; each box checked at once; the working after a wrong answer."""
    from ..quiz.grading import mark
    from ..quiz.render import _md_table

    score = asked = 0
    typer.echo(f"{paper.title} (seed {paper.seed}); answer each box, an empty line skips it.")
    for question in paper.questions:
        typer.echo(f"\n{question.number}. {question.title} ({question.marks} marks)")
        for paragraph in question.prompt:
            typer.echo(paragraph)
        for line in _md_table(question.table):
            typer.echo(line)
        wrong = False
        for answer in question.answers:
            unit = f" ({answer.unit}, to {answer.decimals} decimals)" if answer.unit else ""
            if answer.is_volume and len(answer.value) == 3:
                unit = " (H×W×D)"
            given = _ask(f"({answer.key}) {answer.label}{unit} = ")
            if given is None:
                return _score(score, asked, stopped=True)
            right, message = mark(answer, given)
            asked += answer.marks
            if right:
                score += answer.marks
                typer.echo("  ✓ right")
            else:
                wrong = True
                why = f" ({message})" if message else ""
                typer.echo(f"  ✗ wrong{why}: the answer is {answer.value_text()}")
        if wrong:
            typer.echo("Worked solution:")
            for line in question.working:
                typer.echo(f"  {line}")
    return _score(score, asked)


def _score(score: int, asked: int, stopped: bool = False) -> int:
    prefix = "stopped: " if stopped else ""
    percent = f" ({100 * score / asked:.0f}%)" if asked else ""
    typer.echo(f"\n{prefix}score {score}/{asked}{percent}")
    return 0


# ------------------------------------------------------------------ grade


def grade(
    key: Annotated[
        Path, typer.Argument(help="The answer key: 'cnncalc quiz --key --format json'.")
    ],
    answers: Annotated[
        Path,
        typer.Argument(help="Answers: YAML (1a: 55 ...) or CSV (a row per student)."),
    ],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Mark answers against a key, with the working for every wrong answer.

    A report per student, then the class's success per topic and per box.

    Example: cnncalc grade key.json answers.csv
    """
    from .run import guarded

    def body() -> int:
        from ..quiz import grade as grade_answers
        from ..quiz import load_answers, load_key
        from ..quiz.render import grading_text
        from .run import write

        grading = grade_answers(load_key(key), load_answers(answers))
        if not grading.students:
            from ..quiz import QuizError

            raise QuizError(f"{answers}: nothing to grade: " + "; ".join(grading.notes))
        for note in grading.notes:
            sys.stderr.write(f"warning: not graded: {note}\n")
        write(grading_text(grading), output)
        return 0

    exit_with(guarded(body))


def register(app: typer.Typer) -> None:
    app.command(name="quiz")(quiz)
    app.command(name="grade")(grade)
