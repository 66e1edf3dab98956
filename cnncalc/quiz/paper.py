"""A paper from a seed: topics in a fixed order, questions drawn with ``random.Random(seed)``.

The topic of each question depends only on the topics and the count (round robin in the
order given), never on the seed, so the papers of a class (``variants``, ``students``) ask
the same kinds of question at the same difficulty with other numbers: distinct but
equivalent. Each paper carries its seed; ``generate(seed=that)`` gives it back byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections.abc import Sequence
from typing import Any

from .drafts import Draft
from .model import DIFFICULTIES, Answer, Paper, Question, QuizError

MAX_COUNT = 100
MAX_PAPERS = 500
RETRIES = 60
"""Draws of one question before a paper gives up finding one unlike the others."""


def topic_names() -> tuple[str, ...]:
    from . import tables  # noqa: F401  (registers the table topics)
    from .generators import TOPICS

    return tuple(TOPICS)


def check_request(
    topics: Sequence[str] | None, count: int, difficulty: str, available: Sequence[str]
) -> tuple[str, ...]:
    """The topics to use, or a QuizError naming what is wrong and the choices."""
    if difficulty not in DIFFICULTIES:
        raise QuizError(
            f"unknown difficulty '{difficulty}' (choose from {', '.join(DIFFICULTIES)})"
        )
    if not 1 <= count <= MAX_COUNT:
        raise QuizError(f"count {count} is out of range: ask for 1 to {MAX_COUNT} questions")
    chosen = tuple(topics) if topics else tuple(available)
    unknown = [topic for topic in chosen if topic not in available]
    if unknown:
        raise QuizError(
            f"unknown topic{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"choose from: {', '.join(available)}"
        )
    return tuple(dict.fromkeys(chosen))


def _generators(source: str | None) -> tuple[dict[str, Any], Any]:
    if source is None:
        from . import tables  # noqa: F401
        from .generators import TOPICS

        return {name: entry[1] for name, entry in TOPICS.items()}, None
    from ..engine import analyse
    from ..spec import load_spec
    from .engine import Built
    from .tables import network_topics

    spec = load_spec(source)
    analysis = analyse(spec)
    if analysis.symbolic:
        raise QuizError(
            f"{source}: the input has symbols ({', '.join(analysis.symbols)}); "
            "give the spec a numeric input to ask questions about it"
        )
    with open(source, encoding="utf-8") as handle:
        built = Built(handle.read(), analysis)
    return network_topics(built), built


def generate(
    topics: Sequence[str] | None = None,
    count: int = 10,
    difficulty: str = "medium",
    seed: int = 0,
    source: str | os.PathLike[str] | None = None,
    student: str = "",
    title: str | None = None,
) -> Paper:
    """One paper of ``count`` questions on ``topics`` (all when None), reproducible from
    ``seed``; ``source`` asks about a given spec file instead of generated layers."""
    path = os.fspath(source) if source is not None else None
    generators, built = _generators(path)
    chosen = check_request(topics, count, difficulty, tuple(generators))
    rng = random.Random(seed)
    seen: set[str] = set()
    questions: list[Question] = []
    for number in range(1, count + 1):
        topic = chosen[(number - 1) % len(chosen)]
        draft = _distinct(rng, generators[topic], topic, difficulty, seen)
        questions.append(_number(draft, topic, number))
    name = built.analysis.name if built is not None else "CNN arithmetic"
    return Paper(
        title=title or f"{name}: {count} question{'s' if count > 1 else ''} ({difficulty})",
        seed=seed,
        difficulty=difficulty,
        topics=chosen,
        questions=tuple(questions),
        student=student,
        source=path or "",
    )


def _distinct(rng: random.Random, generator: Any, topic: str, level: str, seen: set[str]) -> Draft:
    """A draft unlike every question already on the paper (not the same up to renaming)."""
    for _ in range(RETRIES):
        draft = generator(rng, level)
        signature = draft.signature(topic)
        if signature not in seen:
            seen.add(signature)
            return draft
    raise QuizError(
        f"no new '{topic}' question could be drawn after {RETRIES} tries (the paper already "
        "has every one this network or difficulty offers): ask for fewer questions or more topics"
    )


def _number(draft: Draft, topic: str, number: int) -> Question:
    letters = "abcdefghijklmnopqrstuvwxyz"
    if len(draft.boxes) > len(letters):
        raise QuizError(f"question {number} has more than {len(letters)} boxes")  # pragma: no cover
    answers = tuple(
        Answer(
            f"{number}{letters[index]}",
            box.label,
            box.value,
            box.measure,
            box.marks,
            box.unit,
            box.decimals,
            box.tolerance,
        )
        for index, box in enumerate(draft.boxes)
    )

    def key_of(match: re.Match[str]) -> str:
        return f"({answers[int(match[1])].key})"

    table = tuple(
        tuple(re.sub(r"\[\[(\d+)\]\]", key_of, cell) for cell in row) for row in draft.table
    )
    return Question(
        number,
        topic,
        draft.title,
        tuple(draft.prompt),
        answers,
        tuple(draft.working),
        dict(sorted(draft.specs.items())),
        table,
        draft.signature(topic),
    )


def student_seed(seed: int, name: str) -> int:
    """The seed of one student's paper: stable across runs and machines (not ``hash()``)."""
    digest = hashlib.sha256(f"cnncalc-quiz/{seed}/{name}".encode()).hexdigest()
    return int(digest[:12], 16)


def generate_papers(
    students: Sequence[str],
    topics: Sequence[str] | None = None,
    count: int = 10,
    difficulty: str = "medium",
    seed: int = 0,
    source: str | os.PathLike[str] | None = None,
) -> tuple[Paper, ...]:
    """One paper per student (or variant name), each from its own seed, no two alike."""
    if not students:
        raise QuizError("no students: give at least one name (or --variants 1 or more)")
    if len(students) > MAX_PAPERS:
        raise QuizError(f"{len(students)} papers is too many: at most {MAX_PAPERS} at a time")
    duplicates = sorted({name for name in students if students.count(name) > 1})
    if duplicates:
        raise QuizError(
            f"duplicate student names: {', '.join(duplicates)} (each paper needs "
            "its own name: add an initial or a number)"
        )
    papers: list[Paper] = []
    seen: set[tuple[str, ...]] = set()
    for name in students:
        student = student_seed(seed, name)
        for _ in range(RETRIES):
            paper = generate(topics, count, difficulty, student, source, student=name)
            content = tuple(question.signature for question in paper.questions)
            if content not in seen:
                break
            student += 1  # an identical paper (tiny topics): the next seed
        seen.add(content)
        papers.append(paper)
    return tuple(papers)


def variant_names(count: int) -> list[str]:
    if not 1 <= count <= MAX_PAPERS:
        raise QuizError(f"--variants {count} is out of range: ask for 1 to {MAX_PAPERS}")
    width = len(str(count))
    return [f"variant {index:0{width}d}" for index in range(1, count + 1)]
