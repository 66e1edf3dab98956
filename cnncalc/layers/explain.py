"""Worked explanations: the equations an exam answer writes for one layer.

Each layer kind's ``explain`` returns an :class:`Explanation` made of :class:`Equation`s:
the textbook formula, the same formula with the numbers put in, and the result. Renderers
(terminal, Markdown, LaTeX, HTML) only format these; the text uses ``·`` for products and
``−`` for minus, which each renderer maps to its own notation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import arith


@dataclass(frozen=True)
class Equation:
    name: str
    """What is computed: ``W_out``, ``parameters``, ``MACs``."""
    formula: str
    """The textbook form: ``(W_in − F + 2P)/S + 1`` (may be empty)."""
    working: str
    """The formula with the numbers: ``(227 − 11 + 2·0)/4 + 1``."""
    result: str
    """The answer as text: ``55`` or ``34,944``."""
    note: str = ""
    """What it means: ``(34,848 weights + 96 biases)`` or a rounding remark."""
    verdict: str = ""
    """A claim (``expect:``) this step answers, judged: ``✓ claimed 55x55x96``."""


@dataclass(frozen=True)
class Explanation:
    given: tuple[tuple[str, str], ...] = ()
    """The data of the question: (("F", "11"), ("K", "96"), ("S", "4"), ("P", "0"))."""
    equations: tuple[Equation, ...] = ()
    remark: str = ""
    """One sentence for layers without arithmetic: 'shape unchanged, no parameters'."""


def text(value: Any) -> str:
    """A number with thousands separators, or a factor of a product (parenthesised sum)."""
    return arith.as_text(value, thousands=True)


def factor(value: Any) -> str:
    return arith.as_factor(value)


def product(*values: Any) -> str:
    return "·".join(factor(value) for value in values)


def volume(shape: Sequence[Any]) -> str:
    """The notes write volumes as H×W×D: 227×227×3 (cnncalc's shapes are C×H×W)."""
    if len(shape) == 3:
        channels, height, width = shape
        return f"{factor(height)}×{factor(width)}×{factor(channels)}"
    return text(shape[0])


def pair_given(symbol: str, pair: Sequence[Any]) -> tuple[str, str]:
    first, second = pair
    return (symbol, text(first) if first == second else f"{text(first)}×{text(second)}")


def params_equation(
    weights_formula: str,
    weights_working: str,
    weights: Any,
    biases: Any,
    bias_formula: str,
    no_bias: bool,
) -> Equation:
    """``parameters = (F·F·D)·K + K = 34,944 (34,848 weights + 96 biases)``."""
    if no_bias or not biases:
        note = "(biases ignored)" if no_bias and biases else "(no biases)"
        return Equation("parameters", weights_formula, weights_working, text(weights), note)
    total = arith.normalize(weights + biases)
    return Equation(
        "parameters",
        f"{weights_formula} + {bias_formula}",
        f"{weights_working} + {factor(biases)}",
        text(total),
        f"({text(weights)} weights + {text(biases)} biases)",
    )


def no_parameters(reason: str) -> Equation:
    """``parameters = 0  (pooling has no weights)``: the answer first, then why."""
    return Equation("parameters", "", "", "0", reason)


def unchanged(row: Any, what: str) -> Explanation:
    """Layers that keep the shape and have no parameters: said only where it is true (a kind
    that changes either gets an error here, not a false working)."""
    if tuple(row.input_shape) != tuple(row.output_shape) or row.params != 0:
        raise ValueError(
            f"{row.kind} '{row.path}' changes the shape or has parameters: "
            "it must state its own working"
        )
    return Explanation(
        given=(("input", volume(row.input_shape)),),
        remark=f"{what}: shape unchanged ({volume(row.output_shape)}), no parameters",
    )
