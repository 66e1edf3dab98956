"""Renderers over one analysis: table (terminal), JSON, CSV and Markdown.

The JSON document is a stable contract: ``schema`` = ``cnncalc/analysis@1``; integers are
exact; symbolic values are strings.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .. import arith
from ..engine import peers
from ..engine.conventions import CONVENTIONS, Convention
from ..engine.result import OP_CATEGORIES, Analysis, Row, Totals
from .views import columns_for, totals_lines

SCHEMA = "cnncalc/analysis@1"
FORMATS = ("table", "json", "csv", "md")


def render(
    analysis: Analysis,
    command: str,
    fmt: str,
    convention: Convention,
    color: bool = False,
    width: int | None = None,
) -> str:
    """``analysis`` in ``fmt``; a table fits ``width`` columns when given (a terminal's)."""
    if fmt == "json":
        return to_json(analysis, convention)
    if fmt == "csv":
        return to_csv(analysis, command, convention)
    if fmt == "md":
        return to_markdown(analysis, command, convention)
    return to_table(analysis, command, convention, width)


# ------------------------------------------------------------------------- JSON


def _row_json(row: Row, convention: Convention) -> dict[str, Any]:
    return {
        "path": row.path,
        "kind": row.kind,
        **({"training_only": True} if row.training_only else {}),
        "input_shape": arith.as_json(row.input_shape),
        "output_shape": arith.as_json(row.output_shape),
        "params": arith.as_json(row.params),
        "trainable_params": arith.as_json(row.params),
        "weights": arith.as_json(row.weights),
        "biases": arith.as_json(row.biases),
        "buffers": arith.as_json(row.buffers),
        "macs": arith.as_json(row.macs),
        "flops": arith.as_json(convention.row_flops(row)),
        "other_ops": {name: arith.as_json(row.ops.get(name, 0)) for name in OP_CATEGORIES},
        "activation_elements": arith.as_json(row.activation_elements),
        "depth": row.depth,
        "padding": _padding_json(row),
        "receptive_field": [
            {
                "size": arith.as_json(size),
                "jump": arith.as_json(jump),
                "start": arith.as_json(start),
            }
            for size, jump, start in row.spatial_field
        ],
        "module": row.is_module,
        "warnings": list(row.warnings),
    }


def _padding_json(row: Row) -> dict[str, Any] | None:
    """The resolved padding of a sliding window, ``None`` for other layers."""
    if not row.padding:
        return None
    (top, bottom), (left, right) = row.padding
    sides = {"top": top, "bottom": bottom, "left": left, "right": right}
    return {side: arith.as_json(amount) for side, amount in sides.items()}


def _graph_outputs(analysis: Analysis) -> dict[str, Any]:
    """Several outputs and training-only heads, when the spec has them."""
    document: dict[str, Any] = {}
    if analysis.outputs:
        document["outputs"] = {
            row.path: arith.as_json(row.output_shape) for row in analysis.outputs
        }
    if analysis.training_outputs:
        document["training_outputs"] = {
            row.path: arith.as_json(row.output_shape) for row in analysis.training_outputs
        }
        document["training_only_params"] = arith.as_json(analysis.totals.training_only_params)
    return document


def _exact_json(analysis: Analysis) -> dict[str, Any]:
    """``exact_for``: the sizes at which no layer drops a pixel (symbolic inputs only)."""
    if analysis.exact is None:
        return {}
    rules = {
        rule.symbol: {
            "modulus": rule.modulus,
            "residues": list(rule.residues),
            "sizes": list(rule.sizes),
            "layers": list(rule.layers),
        }
        for rule in analysis.exact.rules
    }
    outputs = [arith.as_json(shape) for shape in analysis.exact.outputs]
    macs = analysis.exact.macs
    return {
        "exact_for": rules,
        **({"exact_outputs": outputs} if outputs else {}),
        **({"exact_macs": arith.as_json(macs)} if macs is not None else {}),
    }


def analysis_document(analysis: Analysis, convention: Convention) -> dict[str, Any]:
    totals = analysis.totals
    total, trainable, frozen = convention.params(totals)
    return {
        "schema": SCHEMA,
        "name": analysis.name,
        "file": analysis.file,
        "source": analysis.source,
        "input": arith.as_json(analysis.input_shape),
        "batch": analysis.batch,
        "output": arith.as_json(analysis.output_shape),
        **_graph_outputs(analysis),
        "symbols": list(analysis.symbols),
        "valid_from": dict(analysis.valid_from),
        **_exact_json(analysis),
        "layers": [_row_json(row, convention) for row in analysis.layers],
        "blocks": [
            {
                "path": row.path,
                "kind": row.kind,
                "input_shape": arith.as_json(row.input_shape),
                "output_shape": arith.as_json(row.output_shape),
                "params": arith.as_json(row.params),
                "macs": arith.as_json(row.macs),
                "flops": arith.as_json(convention.row_flops(row)),
                "depth": row.depth,
            }
            for row in analysis.groups
        ],
        "totals": {
            "params": arith.as_json(total),
            "trainable_params": arith.as_json(trainable),
            "non_trainable_params": arith.as_json(frozen),
            "buffers": arith.as_json(totals.buffers),
            "macs": arith.as_json(totals.macs),
            "flops": arith.as_json(convention.total_flops(totals)),
            "activation_elements": arith.as_json(totals.activation_elements),
            "depth": totals.depth,
            "other_ops": {name: arith.as_json(totals.ops[name]) for name in OP_CATEGORIES},
            "weight_layers": totals.weight_layers,
            "layers": totals.layers,
        },
        "conventions": {
            "name": convention.name,
            "statement": convention.statement,
            "reconciliation": convention.reconcile(analysis),
            "compatibility": compatibility(totals),
        },
        "published": {key: arith.as_json(value) for key, value in analysis.published.items()},
        "warnings": [{"path": item.path, "message": item.message} for item in analysis.warnings],
    }


def compatibility(totals: Totals) -> dict[str, Any]:
    """Every peer tool's total under its :attr:`~.peers.Peer.compatibility_key`; a tool that
    adds parameters also gives its whole parameter count (``keras_params``)."""
    document: dict[str, Any] = {}
    for peer in peers.PEERS:
        if not peer.per_sample:
            document[f"{peer.name}_params"] = arith.as_json(
                CONVENTIONS[peer.name].params(totals)[0]
            )
        document[peer.compatibility_key] = arith.as_json(totals.peers[peer.name])
    return document


def to_json(analysis: Analysis, convention: Convention) -> str:
    return json.dumps(analysis_document(analysis, convention), indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------- CSV


def to_csv(analysis: Analysis, command: str, convention: Convention) -> str:
    columns = columns_for(command, convention)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(column.header for column in columns)
    for row in analysis.layers:
        writer.writerow(column.text(row, thousands=False) for column in columns)
    return buffer.getvalue().rstrip("\n")


# ------------------------------------------------------------------------- Markdown


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(analysis: Analysis, command: str, convention: Convention) -> str:
    from .markdown_report import md_text  # the spec's own text, escaped as report escapes it

    columns = columns_for(command, convention)
    lines = [f"## {md_text(analysis.name)}", ""]
    if analysis.source:
        lines += [f"Source: {md_text(analysis.source)}", ""]
    lines.append("| " + " | ".join(column.header for column in columns) + " |")
    lines.append("|" + "|".join("---:" if column.numeric else "---" for column in columns) + "|")
    for row in analysis.rows:
        cells = [_md_cell(column.text(row)) for column in columns]
        if row.is_group:
            cells = [f"**{cell}**" if cell else cell for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [
        f"- **{label}**: {_md_cell(value)}"
        for label, value in totals_lines(analysis, convention, command)
    ]
    lines += [f"- ⚠ {_md_cell(str(item))}" for item in analysis.warnings]
    return "\n".join(lines)


# ------------------------------------------------------------------------- table


NARROWEST = 8
"""The fewest characters a column is cut to when a table must fit a terminal."""


def fitted_widths(widths: list[int], limit: int) -> list[int]:
    """Column widths that fit ``limit`` characters (two spaces between columns): the widest
    column is narrowed first, never below NARROWEST; the first (the layer) is kept."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        widest = max(range(1, len(widths)), key=lambda index: widths[index], default=None)
        if widest is None or widths[widest] <= NARROWEST:
            break
        excess = sum(widths) + 2 * (len(widths) - 1) - limit
        widths[widest] = max(NARROWEST, widths[widest] - excess)
    return widths


def _cut(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 1] + "…"


def to_table(
    analysis: Analysis, command: str, convention: Convention, width: int | None = None
) -> str:
    """A plain-text table (what the terminal shows; rich adds colour when it is a TTY). With
    ``width`` (a terminal's), long cells — formulas of a symbolic analysis — are cut with …
    so that a row fits; piped, the table keeps every character."""
    columns = columns_for(command, convention)
    header = [column.header for column in columns]
    body: list[list[str]] = []
    for row in analysis.rows:
        cells = [column.text(row) for column in columns]
        indent = "  " * row.level
        label = row.name if row.level else row.path
        cells[0] = indent + (f"{label}/" if row.is_group else label)
        body.append(cells)
    widths = [max(len(line[index]) for line in [header, *body]) for index in range(len(columns))]
    if width is not None:
        widths = fitted_widths(widths, width)
        body = [
            [_cut(cell, size) for cell, size in zip(cells, widths, strict=True)] for cells in body
        ]
        header = [_cut(cell, size) for cell, size in zip(header, widths, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if column.numeric else cell.ljust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
    title = f"{analysis.name} — {analysis.file}"
    out = [title, rule, line(header), rule, *(line(cells) for cells in body), rule]
    label_width = max(len(label) for label, _ in totals_lines(analysis, convention, command))
    out += [
        f"{label.ljust(label_width)}  {value}"
        for label, value in totals_lines(analysis, convention, command)
    ]
    out += [f"warning: {item}" for item in analysis.warnings]
    return "\n".join(out)
