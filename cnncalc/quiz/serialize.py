"""Papers as JSON (``cnncalc quiz --format json``), the answer key's file, and back.

The schema is documented in docs/json-format.md ("cnncalc quiz"). A paper without ``--key``
leaves out the values, the working and the specs: it can go to students as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .model import Answer, Measure, Paper, Question, QuizError

FORMAT = "cnncalc-quiz"
VERSION = 1


def _answer(answer: Answer, key: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": answer.key,
        "label": answer.label,
        "marks": answer.marks,
        "kind": "volume" if answer.is_volume else "number",
    }
    if answer.unit:
        data["unit"] = answer.unit
    if answer.decimals is not None:
        data["decimals"] = answer.decimals
        data["tolerance"] = answer.tolerance
    if key:
        data["value"] = list(answer.value) if answer.is_volume else answer.value
        data["measure"] = {name: value for name, value in vars(answer.measure).items()}
    return data


def _question(question: Question, key: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": question.number,
        "topic": question.topic,
        "title": question.title,
        "prompt": list(question.prompt),
        "table": [list(row) for row in question.table],
        "marks": question.marks,
        "answers": [_answer(answer, key) for answer in question.answers],
    }
    if key:
        data["working"] = list(question.working)
        data["specs"] = dict(question.specs)
        data["signature"] = question.signature
    return data


def paper_dict(paper: Paper, key: bool = False) -> dict[str, Any]:
    return {
        "title": paper.title,
        "student": paper.student,
        "seed": paper.seed,
        "difficulty": paper.difficulty,
        "topics": list(paper.topics),
        "source": paper.source,
        "marks": paper.marks,
        "conventions": list(paper.conventions),
        "rules": list(paper.rules),
        "questions": [_question(question, key) for question in paper.questions],
    }


def papers_json(papers: Sequence[Paper], key: bool = False) -> str:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "key": key,
        "papers": [paper_dict(paper, key) for paper in papers],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _answer_from(data: dict[str, Any]) -> Answer:
    value = data["value"]
    if data.get("kind") == "volume":
        value = tuple(int(part) for part in value)
    return Answer(
        str(data["key"]),
        str(data["label"]),
        value,
        Measure(**data.get("measure", {"quantity": ""})),
        int(data.get("marks", 1)),
        str(data.get("unit", "")),
        data.get("decimals"),
        float(data.get("tolerance", 0.0)),
    )


def _question_from(data: dict[str, Any]) -> Question:
    return Question(
        int(data["number"]),
        str(data["topic"]),
        str(data["title"]),
        tuple(data["prompt"]),
        tuple(_answer_from(answer) for answer in data["answers"]),
        tuple(data.get("working", ())),
        dict(data.get("specs", {})),
        tuple(tuple(row) for row in data.get("table", ())),
        str(data.get("signature", "")),
    )


def papers_from_json(text: str, where: str = "<key>") -> tuple[Paper, ...]:
    """The papers of an answer key written by ``cnncalc quiz --key --format json``."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise QuizError(
            f"{where}:{error.lineno}:{error.colno}: not a JSON answer key "
            f"({error.msg}); write one with 'cnncalc quiz --key --format json'"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise QuizError(
            f'{where}: not a cnncalc quiz file (no "format": "{FORMAT}"); write '
            "one with 'cnncalc quiz --key --format json'"
        )
    if not document.get("key"):
        raise QuizError(
            f"{where}: this is a paper without its answers; write the key with "
            "'cnncalc quiz --key --format json' (same options and seed)"
        )
    try:
        return tuple(
            Paper(
                title=paper["title"],
                seed=int(paper["seed"]),
                difficulty=paper["difficulty"],
                topics=tuple(paper["topics"]),
                student=paper.get("student", ""),
                source=paper.get("source", ""),
                questions=tuple(_question_from(question) for question in paper["questions"]),
                conventions=tuple(paper.get("conventions", ())),
                rules=tuple(paper.get("rules", ())),
            )
            for paper in document["papers"]
        )
    except (KeyError, TypeError, ValueError) as error:
        raise QuizError(
            f"{where}: a malformed answer key ({type(error).__name__}: {error}); "
            "write it again with 'cnncalc quiz --key --format json'"
        ) from None
