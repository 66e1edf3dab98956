"""``cnncalc compare A B``: two networks per stage and in total, as a table, JSON or Markdown.

Every ratio is B/A, exact in JSON (a fraction and a decimal), two decimals in text.
The JSON document is ``cnncalc/compare@1``.
"""

from __future__ import annotations

import json
from typing import Any

from .. import arith
from ..engine.compare import MEASURES, Comparison, Measures, Stage, StagePair
from ..engine.result import Analysis
from ..engine.savings import ratio_text
from .savings_report import ratio_json
from .views import number, shape_text

SCHEMA = "cnncalc/compare@1"
FORMATS = ("table", "json", "md")
HEADER = ["stage", "params", "MACs", "memory", "depth", "RF"]
NUMERIC = (False, True, True, True, True, False)
NOTE = (
    "params = weights + biases; MACs without bias adds; memory = output activations × 4 bytes "
    "(float32); depth = weight layers on the longest path to the stage's output; RF = "
    "receptive field there; ratios are B/A"
)
HEADS_NOTE = (
    "; params include training-only heads (in the stage they branch from), MACs and memory "
    "leave them out, as the totals do"
)


def note(comparison: Comparison) -> str:
    """What the figures count (with the training-only heads' rule when a network has any)."""
    heads = comparison.first.training_outputs or comparison.second.training_outputs
    return NOTE + (HEADS_NOTE if heads else "")


def render_comparison(comparison: Comparison, fmt: str = "table") -> str:
    if fmt == "json":
        return comparison_json(comparison)
    if fmt == "md":
        return comparison_markdown(comparison)
    return comparison_table(comparison)


def mebibytes(count: Any) -> str:
    if not isinstance(count, int):
        return f"{arith.as_text(count)} bytes"
    return f"{arith.quotient_text(count, 2**20)} MiB"


def field_text(sizes: tuple[Any, ...]) -> str:
    return "×".join(arith.as_text(size) for size in sizes) if sizes else "—"


def measure_cells(measures: Measures) -> list[str]:
    return [
        number(measures.params),
        number(measures.macs),
        mebibytes(measures.activation_bytes),
        str(measures.depth),
        field_text(measures.receptive_field),
    ]


def ratio_cells(ratios: dict[str, Any]) -> list[str]:
    return [ratio_text(ratios[measure]) for measure in MEASURES]


def _side_row(letter: str, stage: Stage | None) -> list[str]:
    if stage is None:
        return [f"{letter}  —", "", "", "", "", ""]
    return [f"{letter}  {stage.label}", *measure_cells(stage.measures)]


def _pair_rows(pair: StagePair) -> list[list[str]]:
    rows = [_side_row("A", pair.first), _side_row("B", pair.second)]
    if pair.first is not None and pair.second is not None:
        rows.append(["   B/A", *ratio_cells(pair.ratios)])
    return rows


def _total_rows(comparison: Comparison) -> list[list[str]]:
    return [
        ["A  total", *measure_cells(comparison.first_totals)],
        ["B  total", *measure_cells(comparison.second_totals)],
        ["   B/A", *ratio_cells(comparison.ratios)],
    ]


def _title(letter: str, analysis: Analysis) -> str:
    return f"{letter}: {analysis.name} — {analysis.file} (input {shape_text(analysis.input_shape)})"


def comparison_table(comparison: Comparison) -> str:
    stage_rows = [row for pair in comparison.stages for row in _pair_rows(pair)]
    total_rows = _total_rows(comparison)
    everything = [HEADER, *stage_rows, *total_rows]
    widths = [max(len(row[index]) for row in everything) for index in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, NUMERIC, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
    lines = [_title("A", comparison.first), _title("B", comparison.second), rule, line(HEADER)]
    lines.append(rule)
    lines += [line(cells) for cells in stage_rows]
    lines += [rule, *(line(cells) for cells in total_rows), rule, note(comparison)]
    return "\n".join(lines)


# ------------------------------------------------------------------------- JSON


def measures_json(measures: Measures) -> dict[str, Any]:
    return {
        "params": arith.as_json(measures.params),
        "macs": arith.as_json(measures.macs),
        "activation_bytes": arith.as_json(measures.activation_bytes),
        "depth": measures.depth,
        "receptive_field": arith.as_json(measures.receptive_field),
    }


def stage_json(stage: Stage | None) -> dict[str, Any] | None:
    if stage is None:
        return None
    return {
        "resolution": stage.resolution,
        "steps": list(stage.names),
        **({"training_only_steps": list(stage.heads)} if stage.heads else {}),
        "output_shape": arith.as_json(stage.output_shape),
        **measures_json(stage.measures),
    }


def ratios_json(ratios: dict[str, Any]) -> dict[str, Any]:
    return {measure: ratio_json(ratios[measure]) for measure in MEASURES}


def network_json(analysis: Analysis) -> dict[str, Any]:
    return {
        "name": analysis.name,
        "file": analysis.file,
        "input": arith.as_json(analysis.input_shape),
        "batch": analysis.batch,
    }


def comparison_document(comparison: Comparison) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "a": network_json(comparison.first),
        "b": network_json(comparison.second),
        "ratios": "b/a",
        "stages": [
            {
                "a": stage_json(pair.first),
                "b": stage_json(pair.second),
                "ratios": ratios_json(pair.ratios),
            }
            for pair in comparison.stages
        ],
        "totals": {
            "a": measures_json(comparison.first_totals),
            "b": measures_json(comparison.second_totals),
            "ratios": ratios_json(comparison.ratios),
        },
        "conventions": note(comparison),
    }


def comparison_json(comparison: Comparison) -> str:
    return json.dumps(comparison_document(comparison), indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def comparison_markdown(comparison: Comparison) -> str:
    first, second = comparison.first, comparison.second
    lines = [f"## {first.name} (A) vs {second.name} (B)", ""]
    lines += [f"- A: {_cell(_title('A', first)[3:])}", f"- B: {_cell(_title('B', second)[3:])}"]
    lines += ["", "| " + " | ".join(HEADER) + " |"]
    lines.append("|" + "|".join("---:" if right else "---" for right in NUMERIC) + "|")
    rows = [row for pair in comparison.stages for row in _pair_rows(pair)]
    totals = [[f"**{cell.strip()}**" for cell in row] for row in _total_rows(comparison)]
    for row in [*rows, *totals]:
        lines.append("| " + " | ".join(_cell(cell.strip()) for cell in row) + " |")
    lines += ["", note(comparison) + "."]
    return "\n".join(lines)
