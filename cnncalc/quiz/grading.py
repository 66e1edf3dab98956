"""Marking: a key (one paper, or one per student) against answer sheets, box by box.

Exact marking: a box is right when the number equals the key's (thousands separators and
spaces allowed), or, for the boxes a question asks rounded (MiB, ratios), when it is within
the tolerance stated beside the box. A volume box wants all three numbers. A box that is not
a number is wrong, with a message; a box the key does not have is reported and ignored.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .model import Answer, Paper, QuizError

STUDENT_COLUMNS = ("student", "name")
SEED_COLUMNS = ("seed", "paper")


@dataclass(frozen=True)
class Sheet:
    """One student's answers: box key → what they wrote (text or number)."""

    student: str
    answers: Mapping[str, Any]
    seed: int | None = None


@dataclass(frozen=True)
class Mark:
    answer: Answer
    question: int
    topic: str
    given: str
    right: bool
    earned: int
    message: str = ""
    """Why a box is wrong when it is not simply another number: 'not a number', 'no answer'."""


@dataclass(frozen=True)
class StudentGrade:
    student: str
    paper: Paper
    marks: tuple[Mark, ...]
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> int:
        return sum(mark.earned for mark in self.marks)

    @property
    def total(self) -> int:
        return self.paper.marks

    @property
    def wrong(self) -> tuple[Mark, ...]:
        return tuple(mark for mark in self.marks if not mark.right)


@dataclass(frozen=True)
class Rate:
    name: str
    right: int
    asked: int

    @property
    def fraction(self) -> float:
        return self.right / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class Grading:
    students: tuple[StudentGrade, ...]
    notes: tuple[str, ...] = ()
    """Sheets that could not be graded (no paper for that student), with why."""

    def per_question(self) -> tuple[Rate, ...]:
        """Success per box key (across papers, box 3b is the same question renumbered)."""
        return _rates(
            (mark.answer.key, mark.right) for grade in self.students for mark in grade.marks
        )

    def per_topic(self) -> tuple[Rate, ...]:
        """Success per topic, weakest first: what the class has not understood."""
        rates = _rates((mark.topic, mark.right) for grade in self.students for mark in grade.marks)
        return tuple(sorted(rates, key=lambda rate: (rate.fraction, rate.name)))


def _rates(items: Iterable[tuple[str, bool]]) -> tuple[Rate, ...]:
    counts: dict[str, list[int]] = {}
    for name, right in items:
        entry = counts.setdefault(name, [0, 0])
        entry[0] += int(right)
        entry[1] += 1
    return tuple(Rate(name, right, asked) for name, (right, asked) in counts.items())


# ------------------------------------------------------------------ one box

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _number(text: str) -> Decimal | None:
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("_", "").replace("\u202f", "")
    cleaned = cleaned.removesuffix("MiB").removesuffix("mib")
    if not _NUMBER.match(cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover (the pattern is a decimal)
        return None


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "×".join(str(part) for part in value)
    return "" if value is None else str(value).strip()


def _volume(given: Any, length: int) -> tuple[Decimal | None, ...]:
    """The numbers of a volume: ``28x28x16``, ``28 × 28 × 16``, ``(28, 28, 16)`` or a list;
    for a flat output (``length`` 1) a comma is a thousands separator."""
    if isinstance(given, list | tuple):
        parts = [str(part) for part in given]
    else:
        parts = re.split(r"\s*[x×X*]\s*", _text(given).strip("()[] "))
        if len(parts) == 1 and length > 1:
            parts = parts[0].split(",")
    return tuple(_number(part) for part in parts)


def mark(answer: Answer, given: Any) -> tuple[bool, str]:
    """(right, message): the message says why a box is wrong when it is not a plain number."""
    text = _text(given)
    if not text:
        return False, "no answer"
    if answer.is_volume:
        numbers = _volume(given, len(answer.value))
        if any(number is None for number in numbers):
            shape = "H×W×D" if len(answer.value) == 3 else "a number"
            return False, f"'{text}' is not a volume: write {shape}, e.g. {answer.value_text()}"
        return numbers == tuple(Decimal(part) for part in answer.value), ""
    number = _number(text)
    if number is None:
        return False, f"'{text}' is not a number"
    if answer.decimals is not None:
        return abs(number - Decimal(str(answer.value))) <= Decimal(str(answer.tolerance)), ""
    return number == Decimal(answer.value), ""


def grade_sheet(paper: Paper, sheet: Sheet) -> StudentGrade:
    answers = {str(key).strip().lower(): value for key, value in sheet.answers.items()}
    notes = [
        f"answer '{key}' is not a box of this paper (boxes: {_box_range(paper)}): ignored"
        for key in answers
        if key not in paper.answers()
    ]
    marks = []
    for question in paper.questions:
        for answer in question.answers:
            given = answers.get(answer.key)
            right, message = mark(answer, given)
            marks.append(
                Mark(
                    answer,
                    question.number,
                    question.topic,
                    _text(given),
                    right,
                    answer.marks if right else 0,
                    message,
                )
            )
    return StudentGrade(sheet.student or paper.student, paper, tuple(marks), tuple(notes))


def _box_range(paper: Paper) -> str:
    keys = list(paper.answers())
    return f"{keys[0]}–{keys[-1]}" if len(keys) > 1 else keys[0]


def grade(key: Paper | Sequence[Paper], answers: Any) -> Grading:
    """Mark ``answers`` against ``key``.

    ``key``: a paper, or the papers of a class (one per student, matched by name or seed).
    ``answers``: a mapping box → answer (one sheet), a :class:`Sheet`, or a list of sheets.
    """
    papers = (key,) if isinstance(key, Paper) else tuple(key)
    if not papers:
        raise QuizError("the answer key has no paper")
    sheets = _sheets(answers)
    grades, notes = [], []
    for sheet in sheets:
        paper = _paper_for(papers, sheet)
        if paper is None:
            notes.append(_unmatched(papers, sheet))
            continue
        grades.append(grade_sheet(paper, sheet))
    return Grading(tuple(grades), tuple(notes))


def _unmatched(papers: tuple[Paper, ...], sheet: Sheet) -> str:
    """Why a sheet has no paper, and how to name it."""
    if sheet.seed is not None:
        return f"no paper in the key has seed {sheet.seed} (student '{sheet.student}')"
    if not sheet.student:
        return (
            f"answers without a student's name, and the key has {len(papers)} papers: "
            "add 'student: NAME' (or a student column), or the paper's seed"
        )
    names = ", ".join(repr(paper.student) for paper in papers if paper.student)
    return f"no paper in the key for student '{sheet.student}'" + (
        f" (the key has {names})" if names else ""
    )


def _sheets(answers: Any) -> list[Sheet]:
    if isinstance(answers, Sheet):
        return [answers]
    if isinstance(answers, Mapping):
        return [Sheet("", answers)]
    return list(answers)


def _paper_for(papers: tuple[Paper, ...], sheet: Sheet) -> Paper | None:
    if sheet.seed is not None:
        return next((paper for paper in papers if paper.seed == sheet.seed), None)
    if len(papers) == 1:
        return papers[0]
    return next((paper for paper in papers if paper.student == sheet.student), None)


# ------------------------------------------------------------------ files


def load_key(path: str | os.PathLike[str]) -> tuple[Paper, ...]:
    from .serialize import papers_from_json

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise QuizError(
            f"cannot read the answer key {os.fspath(path)}: {error.strerror or error}"
        ) from None
    return papers_from_json(text, os.fspath(path))


def load_answers(path: str | os.PathLike[str]) -> list[Sheet]:
    """Answer sheets from YAML (.yaml, .yml, .json) or CSV (.csv, one row per student)."""
    where = os.fspath(path)
    suffix = Path(where).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json", ".csv"):
        raise QuizError(
            f"{where}: answers must be YAML (.yaml, .yml) or CSV (.csv), not "
            f"'{suffix or 'no extension'}'"
        )
    try:
        # utf-8-sig: spreadsheets export CSV with a byte-order mark before the header
        text = Path(where).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise QuizError(f"cannot read {where}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise QuizError(f"{where}: not a text file (answers must be YAML or CSV)") from None
    sheets = _csv_sheets(text, where) if suffix == ".csv" else _yaml_sheets(text, where)
    names = [sheet.student for sheet in sheets if sheet.student]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise QuizError(f"{where}: student(s) answered twice: {', '.join(duplicates)}")
    return sheets


def csv_rows(text: str) -> list[list[str]]:
    """The rows of a CSV, comma- or semicolon-separated (spreadsheets in locales with a
    decimal comma write semicolons)."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _csv_sheets(text: str, where: str) -> list[Sheet]:
    rows = csv_rows(text)
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise QuizError(
            f"{where}: empty CSV (want a header such as student,1a,1b,... and a row per student)"
        )
    header = [cell.strip().lower() for cell in rows[0]]
    student = next((header.index(name) for name in STUDENT_COLUMNS if name in header), None)
    seed = next((header.index(name) for name in SEED_COLUMNS if name in header), None)
    if student is None and len(rows) > 2:
        raise QuizError(f"{where}: several rows but no 'student' column: name each row's student")
    sheets = []
    for line, row in enumerate(rows[1:], 2):
        if len(row) > len(header):
            raise QuizError(f"{where}:{line}: {len(row)} cells but the header has {len(header)}")
        cells = dict(zip(header, row, strict=False))
        name = row[student].strip() if student is not None and student < len(row) else ""
        answers = {
            key: value
            for index, (key, value) in enumerate(cells.items())
            if index not in (student, seed)
        }
        sheets.append(
            Sheet(name, answers, _seed(row[seed] if seed is not None else None, where, line))
        )
    return sheets


def _seed(value: Any, where: str, line: int | str) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise QuizError(f"{where}:{line}: seed '{value}' is not a whole number") from None


def _yaml_sheets(text: str, where: str) -> list[Sheet]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark_ = getattr(error, "problem_mark", None)
        at = f":{mark_.line + 1}:{mark_.column + 1}" if mark_ is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise QuizError(f"{where}{at}: not valid YAML ({problem})") from None
    if isinstance(data, Mapping) and "students" in data:
        data = data["students"]
    if isinstance(data, Mapping) and "answers" in data:
        data = [data]
    if isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values()):
        data = [{"student": name, "answers": answers} for name, answers in data.items()]
    if isinstance(data, Mapping):
        return [Sheet("", {str(key): value for key, value in data.items()})]
    if not isinstance(data, list):
        raise QuizError(
            f"{where}: expected answers such as '1a: 55' (or a list of "
            "{student: ..., answers: {...}}), got "
            f"{type(data).__name__ if data is not None else 'an empty file'}"
        )
    sheets = []
    for index, entry in enumerate(data, 1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("answers"), Mapping):
            raise QuizError(f"{where}: entry {index} needs 'student' and an 'answers' mapping")
        sheets.append(
            Sheet(
                str(entry.get("student", "")),
                {str(key): value for key, value in entry["answers"].items()},
                _seed(entry.get("seed"), where, f"entry {index}"),
            )
        )
    return sheets
