"""Exam papers with worked answer keys, and marking: ``cnncalc quiz`` and ``cnncalc grade``.

>>> from cnncalc.quiz import generate, grade
>>> paper = generate(["output-volume"], count=2, difficulty="easy", seed=1)
>>> key = {answer.key: answer.value_text() for answer in paper.answers().values()}
>>> grade(paper, key).students[0].score == paper.marks
True

Every number of a key comes from the engine, every line of working from the explanations
``cnncalc report`` prints (:mod:`cnncalc.quiz.engine`); no torch is imported.
"""

from __future__ import annotations

from .grading import Grading, grade, load_answers, load_key
from .model import DIFFICULTIES, Answer, Measure, Paper, Question, QuizError
from .paper import generate, generate_papers, student_seed, topic_names, variant_names

__all__ = [
    "DIFFICULTIES",
    "Answer",
    "Grading",
    "Measure",
    "Paper",
    "Question",
    "QuizError",
    "generate",
    "generate_papers",
    "grade",
    "load_answers",
    "load_key",
    "student_seed",
    "topic_names",
    "variant_names",
]
