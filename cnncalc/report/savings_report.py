"""``cnncalc savings``: every saving of a network as a table, JSON or Markdown.

The JSON document is ``cnncalc/savings@1``; integers are exact, ratios are given as an exact
fraction and a decimal, symbolic values are strings.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from .. import arith
from ..engine.result import Analysis
from ..engine.savings import Alternative, Saving, ratio_equation, ratio_text
from ..layers.explain import Equation
from .text_report import equation_line
from .views import number

SCHEMA = "cnncalc/savings@1"
FORMATS = ("table", "json", "md")


def render_savings(analysis: Analysis, savings: list[Saving], fmt: str = "table") -> str:
    if fmt == "json":
        return savings_json(analysis, savings)
    if fmt == "md":
        return savings_markdown(analysis, savings)
    return savings_table(analysis, savings)


def conventions(analysis: Analysis) -> tuple[str, ...]:
    return (
        "params = weights + biases (with the biases the layers have)",
        f"MACs = multiply-accumulates without bias adds, batch {analysis.batch}",
        "layers in between (batchnorm, activations) are in neither alternative",
    )


def where(paths: tuple[str, ...]) -> str:
    """``inception3a.b5x5: conv1 → conv2``: the shared scope once, then the layer names."""
    parts = [path.split(".") for path in paths]
    shared = 0
    while all(len(part) > shared + 1 for part in parts) and len(
        {part[shared] for part in parts}
    ) == 1 < len(parts):
        shared += 1
    names = " → ".join(".".join(part[shared:]) for part in parts)
    return f"{'.'.join(parts[0][:shared])}: {names}" if shared else names


def headline(saving: Saving) -> str:
    """``9.68× fewer MACs`` (or ``0.13×: more params``)."""
    measure = "params" if saving.measure == "params" else "MACs"
    ratio = saving.ratio
    if isinstance(ratio, Fraction) and 0 < ratio < 1:
        return f"costs {ratio_text(1 / ratio)}× more {measure}"
    return f"{ratio_text(ratio)}× fewer {measure}"


def count_text(savings: list[Saving]) -> str:
    """``2 savings, 1 design that costs more``: a design that costs more is no saving."""
    dearer = sum(1 for saving in savings if _costs_more(saving))
    saved = len(savings) - dearer
    text = f"{saved} saving{'' if saved == 1 else 's'}"
    if dearer:
        text += f", {dearer} design{' that costs' if dearer == 1 else 's that cost'} more"
    return text


def _costs_more(saving: Saving) -> bool:
    return isinstance(saving.ratio, Fraction) and saving.ratio < 1


# ------------------------------------------------------------------------- table


def _summary_rows(savings: list[Saving]) -> list[list[str]]:
    return [
        [
            str(index),
            saving.kind,
            where(saving.paths),
            number(saving.baseline.params),
            number(saving.network.params),
            number(saving.baseline.macs),
            number(saving.network.macs),
            headline(saving),
        ]
        for index, saving in enumerate(savings, 1)
    ]


SUMMARY_HEADER = [
    "#",
    "kind",
    "layers",
    "params without",
    "params with",
    "MACs without",
    "MACs with",
    "ratio",
]
NUMERIC = (False, False, False, True, True, True, True, False)


def _grid(header: list[str], body: list[list[str]], numeric: tuple[bool, ...]) -> list[str]:
    widths = [max(len(line[index]) for line in [header, *body]) for index in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
    return [rule, line(header), rule, *(line(cells) for cells in body), rule]


def _comparison(saving: Saving) -> tuple[Equation, ...]:
    """The ratio and the general rule, after the two alternatives."""
    return (ratio_equation(saving), *saving.remarks)


def _alternative_lines(title: str, alternative: Alternative) -> list[str]:
    lines = [f"   {title}: {alternative.label}"]
    lines += [f"     {equation_line(equation)}" for equation in alternative.equations]
    return lines


def _detail_lines(index: int, saving: Saving) -> list[str]:
    lines = [f"{index}. {saving.kind}: {where(saving.paths)}", f"   {saving.description}"]
    lines += _alternative_lines("without", saving.baseline)
    lines += _alternative_lines("with", saving.network)
    lines += [f"   {equation_line(equation)}" for equation in _comparison(saving)]
    return lines


def savings_table(analysis: Analysis, savings: list[Saving]) -> str:
    lines = [f"{analysis.name} — {analysis.file}"]
    if not savings:
        lines.append(
            "no savings found: no 1×1 reduction before a larger conv, global average pooling "
            "head, stacked 3×3, 1×n + n×1, depthwise separable or grouped convolution"
        )
        return "\n".join(lines)
    lines.append(count_text(savings))
    lines += [f"  {convention}" for convention in conventions(analysis)]
    lines += _grid(SUMMARY_HEADER, _summary_rows(savings), NUMERIC)
    for index, saving in enumerate(savings, 1):
        lines += ["", *_detail_lines(index, saving)]
    return "\n".join(lines)


# ------------------------------------------------------------------------- JSON


def ratio_json(ratio: Any) -> Any:
    """``{"fraction": "50177/1025", "decimal": 48.9532}``; a string when symbolic."""
    if ratio is None:
        return None
    if isinstance(ratio, Fraction | int):
        ratio = Fraction(ratio)
        return {"fraction": f"{ratio.numerator}/{ratio.denominator}", "decimal": _decimal(ratio)}
    return arith.as_text(ratio)


def _decimal(ratio: Fraction) -> float | None:
    if abs(ratio) >= 10**300:  # past a float: the exact "fraction" alone (found by the fuzzer)
        return None
    return round(float(ratio), 4)


def equation_json(equation: Equation) -> dict[str, str]:
    return {
        "name": equation.name,
        "formula": equation.formula,
        "working": equation.working,
        "result": equation.result,
        "note": equation.note,
    }


def _alternative_json(alternative: Alternative) -> dict[str, Any]:
    return {
        "label": alternative.label,
        "params": arith.as_json(alternative.params),
        "weights": arith.as_json(alternative.weights),
        "biases": arith.as_json(alternative.biases),
        "macs": arith.as_json(alternative.macs),
        "equations": [equation_json(equation) for equation in alternative.equations],
    }


def saving_json(saving: Saving) -> dict[str, Any]:
    return {
        "kind": saving.kind,
        "paths": list(saving.paths),
        "description": saving.description,
        "measure": saving.measure,
        "without": _alternative_json(saving.baseline),
        "with": _alternative_json(saving.network),
        "ratio": ratio_json(saving.ratio),
        "params_ratio": ratio_json(saving.params_ratio),
        "macs_ratio": ratio_json(saving.macs_ratio),
        "remarks": [equation_json(equation) for equation in saving.remarks],
    }


def savings_document(analysis: Analysis, savings: list[Saving]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "name": analysis.name,
        "file": analysis.file,
        "input": arith.as_json(analysis.input_shape),
        "batch": analysis.batch,
        "conventions": list(conventions(analysis)),
        "savings": [saving_json(saving) for saving in savings],
    }


def savings_json(analysis: Analysis, savings: list[Saving]) -> str:
    return json.dumps(savings_document(analysis, savings), indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_alternative(title: str, alternative: Alternative) -> list[str]:
    lines = [f"**{title}** — {_cell(alternative.label)}", ""]
    lines += [f"- {_cell(equation_line(equation))}" for equation in alternative.equations]
    return [*lines, ""]


def _markdown_detail(index: int, saving: Saving) -> list[str]:
    lines = [f"### {index}. {saving.kind}: {_cell(where(saving.paths))}", ""]
    lines += [_cell(saving.description), ""]
    lines += _markdown_alternative("without", saving.baseline)
    lines += _markdown_alternative("with", saving.network)
    lines += [f"- {_cell(equation_line(equation))}" for equation in _comparison(saving)]
    return [*lines, ""]


def savings_markdown(analysis: Analysis, savings: list[Saving]) -> str:
    lines = [f"## Savings: {analysis.name}", "", f"File: {analysis.file}", ""]
    if not savings:
        return "\n".join([*lines, "No savings found."])
    lines += [f"{count_text(savings)}; {'; '.join(conventions(analysis))}.", ""]
    lines.append("| " + " | ".join(SUMMARY_HEADER) + " |")
    lines.append("|" + "|".join("---:" if right else "---" for right in NUMERIC) + "|")
    lines += [
        "| " + " | ".join(_cell(cell) for cell in row) + " |" for row in _summary_rows(savings)
    ]
    lines.append("")
    for index, saving in enumerate(savings, 1):
        lines += _markdown_detail(index, saving)
    return "\n".join(lines).rstrip("\n")
