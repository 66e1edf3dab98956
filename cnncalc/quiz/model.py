"""A quiz paper as plain frozen data: questions, answer boxes with exact values, working.

Every value of the answer key comes from the engine (an :class:`~cnncalc.engine.Analysis`
of the question's own small spec, kept with the question as YAML), and every line of the
working from the same explanations ``cnncalc report`` prints. A :class:`Measure` says what
each answer is in terms another tool can re-derive (the output shape of a layer, the
parameters of a spec...): the tests rebuild each question's specs in PyTorch and check
every answer that way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnncalcError

DIFFICULTIES = ("easy", "medium", "hard")

CONVENTIONS = (
    "Volumes are written H×W×D (height × width × depth/channels), as the lecture notes do.",
    "Parameters are weights + biases unless a question says 'weights only'; batchnorm's "
    "running statistics are buffers, not parameters.",
    "MACs are multiply-accumulates for one image, bias additions not counted; "
    "FLOPs = 2 × MACs (as torch.utils.flop_counter counts convolutions and matrix products).",
    "Output sizes follow PyTorch: ⌊(W_in − F_eff + P_before + P_after)/S⌋ + 1 "
    "(ceil only where ceil_mode=True is stated).",
    "Memory: float32 (4 bytes per value), 1 MiB = 2^20 bytes.",
)

RULES = (
    "Each answer box carries its own marks; a box is right when it equals the key exactly.",
    "Only answers the question asks rounded (MiB, ratios) have a tolerance, stated beside them.",
    "Partial credit: boxes are marked independently, so an output size right and its "
    "parameters wrong keeps the output size's marks; a volume box (H×W×D) earns its marks "
    "only when all three numbers are right.",
    "No marks are taken for a wrong box beyond its own.",
)


class QuizError(CnncalcError):
    """A bad request to the quiz generator or the grader (unknown topic, count out of range,
    an answers file that cannot be read...)."""


@dataclass(frozen=True)
class Measure:
    """What an answer is, so that PyTorch can re-derive it.

    quantity: ``dim`` (output_shape[axis] of ``layer``, C=0, H=1, W=2), ``input_dim`` (the
    same of the layer's input), ``volume`` (the whole H×W×D output), ``params``, ``weights``,
    ``buffers``, ``macs``, ``flops``, ``field`` / ``jump`` (receptive field size and jump of
    ``layer`` along ``axis`` 0=H, 1=W), ``padding`` (per side, keeping the size),
    ``uncovered`` (input pixels along ``axis`` no window reaches), ``elements`` (output
    values of ``layer``), ``mib`` (the outputs of every layer for a batch of ``batch``, in
    float32 MiB), ``ratio`` (params or macs of spec ``baseline`` / spec ``network``, in
    ``of``), ``row`` (the table row holding the wrong entry), ``fails_at`` (the layer that
    cannot work). ``spec`` names one of the question's specs; ``layer`` is a layer path
    ('' for the whole spec).
    """

    quantity: str
    spec: str = "network"
    layer: str = ""
    axis: int = 0
    of: str = ""
    batch: int = 1


@dataclass(frozen=True)
class Answer:
    key: str
    """The box's id on the paper: ``3b`` (question 3, second box)."""
    label: str
    """What to write: ``H_out``, ``parameters (weights + biases)``."""
    value: Any
    """The exact answer: an int, a tuple (H, W, D) for a volume, or a float for a value the
    question asks rounded (then ``decimals`` and ``tolerance`` are set)."""
    measure: Measure
    marks: int = 1
    unit: str = ""
    decimals: int | None = None
    tolerance: float = 0.0

    @property
    def is_volume(self) -> bool:
        return isinstance(self.value, tuple)

    def value_text(self) -> str:
        if self.is_volume:
            if len(self.value) == 1:  # a flat output: one number, as the tables write it
                return f"{self.value[0]:,}"
            return "×".join(str(part) for part in self.value)
        if self.decimals is not None:
            return f"{self.value:.{self.decimals}f}"
        return f"{self.value:,}" if isinstance(self.value, int) else str(self.value)


@dataclass(frozen=True)
class Question:
    number: int
    topic: str
    title: str
    prompt: tuple[str, ...]
    """Paragraphs of the question."""
    answers: tuple[Answer, ...]
    working: tuple[str, ...]
    """The worked solution, one line each (the text report's lines)."""
    specs: Mapping[str, str] = field(default_factory=dict)
    """The spec(s) the answers come from, as YAML: ``network`` and, for savings, ``baseline``."""
    table: tuple[tuple[str, ...], ...] = ()
    """A layer table shown with the question (first row: headers; blanks are ``(3a)``)."""
    signature: str = ""
    """The question without names or wording: two questions with the same signature are the
    same question renamed."""

    @property
    def marks(self) -> int:
        return sum(answer.marks for answer in self.answers)


@dataclass(frozen=True)
class Paper:
    title: str
    seed: int
    difficulty: str
    topics: tuple[str, ...]
    questions: tuple[Question, ...]
    student: str = ""
    source: str = ""
    """The spec the questions are about (``--from``), else ''."""
    conventions: tuple[str, ...] = CONVENTIONS
    rules: tuple[str, ...] = RULES

    @property
    def marks(self) -> int:
        return sum(question.marks for question in self.questions)

    def answers(self) -> dict[str, Answer]:
        return {answer.key: answer for question in self.questions for answer in question.answers}

    def question_of(self, key: str) -> Question:
        for question in self.questions:
            if any(answer.key == key for answer in question.answers):
                return question
        raise KeyError(key)
