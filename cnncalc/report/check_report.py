"""``cnncalc check``: every claimed answer, right or wrong, with the correct working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..engine.claims import Claim
from ..engine.result import Analysis, field_sizes
from ..layers.explain import Equation
from .claim_fixes import output_fixes
from .text_report import equation_line
from .worked import layer_explanation, receptive_field_equations, report_warnings

# which equations of a layer's working justify each kind of claim
_EQUATIONS = {
    "output": ("W_out", "H_out", "D_out", "N", "output"),
    "params": ("parameters",),
    "weights": ("parameters",),
    "macs": ("MACs",),
    "flops": ("MACs",),
    "receptive_field": ("r_out", "j_out", "r_out (W)", "j_out (W)", "r_out (H)", "j_out (H)"),
}


def claim_working(analysis: Analysis, claim: Claim) -> list[str]:
    """The lines that show the correct answer to a claim."""
    if not claim.path:
        return list(_totals_working(analysis, claim))
    row = analysis.row(claim.path)
    if row.is_group:
        return list(_group_working(analysis, row, claim))
    wanted = _EQUATIONS[claim.key]
    equations = [
        equation
        for equation in layer_explanation(row, claim.key == "weights").equations
        if equation.name in wanted
    ]
    if claim.key == "flops":
        equations.append(Equation("FLOPs", "2·MACs", f"2·{row.macs:,}", claim.actual))
    lines = [equation_line(equation) for equation in equations]
    if claim.key == "output" and not claim.ok:
        lines += [f"⚠ {warning}" for warning in report_warnings(row)]
        lines += output_fixes(analysis, claim)
    return lines


_AMOUNTS = {
    "params": lambda row: row.params,
    "weights": lambda row: row.weights,
    "macs": lambda row: row.macs,
    "flops": lambda row: row.flops,
}


def _sum_lines(parts: list[tuple[str, Any]], key: str, result: str) -> Iterator[str]:
    """``weights = conv1 34,848 + conv2 307,200 + … = 28,813,344`` (parts with a value)."""
    parts = [(name, value) for name, value in parts if value]
    if len(parts) > 16:
        shown = " + ".join(f"{name} {value:,}" for name, value in parts[:12])
        yield f"{key} = {shown} + … ({len(parts) - 12} more) = {result}"
    elif parts:
        yield (
            f"{key} = " + " + ".join(f"{name} {value:,}" for name, value in parts) + f" = {result}"
        )


def _group_working(analysis: Analysis, group: Any, claim: Claim) -> Iterator[str]:
    if claim.key == "output":
        yield f"output of {group.path} ({group.kind}): {claim.actual}"
        return
    inside = [
        row
        for row in analysis.rows
        if row.path.startswith(group.path + ".") and row.level == group.level + 1
    ]
    amount = _AMOUNTS.get(claim.key)
    if amount:
        yield from _sum_lines([(row.name, amount(row)) for row in inside], claim.key, claim.actual)


def _totals_working(analysis: Analysis, claim: Claim) -> Iterator[str]:
    amount = _AMOUNTS.get(claim.key)
    if amount:
        leaves = [row for row in analysis.layers if amount(row)]
        if len(leaves) <= 16:  # few enough to add up layer by layer, as the notes do
            yield from _sum_lines(
                [(row.path, amount(row)) for row in leaves], claim.key, claim.actual
            )
            return
        top = [row for row in analysis.rows if row.level == 0]
        yield from _sum_lines([(row.path, amount(row)) for row in top], claim.key, claim.actual)
        if any(row.is_group for row in top):
            yield "(blocks are subtotals; cnncalc report shows every layer)"
    elif claim.key == "receptive_field":
        yield from _network_field_working(analysis)
    elif claim.key == "depth":
        yield (
            f"depth = {claim.actual}: conv/linear layers on the longest path from input to "
            "output (pooling, normalisation and activations have no weights and do not count)"
        )
    else:
        yield f"{claim.key} = {claim.actual}"


def _network_field_working(analysis: Analysis) -> Iterator[str]:
    """The network sees what its last spatial layer sees: that layer's recurrence, or the
    last one that changed the field when later layers (ReLU, BN) leave it as it is."""
    spatial = [row for row in analysis.layers if field_sizes(row)]
    if not spatial:
        yield "no layer has a spatial output, so the network has no receptive field"
        return
    last = spatial[-1]
    yield f"the network's receptive field is that of its last spatial layer, {last.path}"
    for row in reversed(spatial):
        equations = receptive_field_equations(row)
        if row.receptive_field == last.receptive_field and equations:
            if row is not last:
                yield f"{row.path} made it, and the layers after it keep it:"
            yield from (equation_line(equation) for equation in equations)
            return


def check_text(analysis: Analysis) -> str:
    claims = analysis.claims
    lines = [f"{analysis.name} — {analysis.file}"]
    if not claims:
        lines.append(
            "no claims to check: add expect: {output: 55x55x96, params: 34944} to a "
            "layer, or expect: at the top for the totals"
        )
        return "\n".join(lines)
    for claim in claims:
        where = claim.path or "totals"
        if claim.ok:
            lines.append(f"✓ {where} {claim.key} = {claim.claimed}")
            continue
        rounded = f" {claim.note}" if claim.note.startswith("≈") else ""
        lines.append(
            f"✗ {where} {claim.key}: claimed {claim.claimed}, correct {claim.actual}{rounded}"
            + (f"  ({claim.loc})" if claim.loc else "")
        )
        if claim.note and not rounded:
            lines.append(f"    ({claim.note})")
        lines += [f"    {line}" for line in claim_working(analysis, claim)]
    wrong = sum(not claim.ok for claim in claims)
    noun = "claim" if len(claims) == 1 else "claims"
    lines.append(f"{len(claims)} {noun}: {len(claims) - wrong} right, {wrong} wrong")
    return "\n".join(lines)


def check_json(analysis: Analysis) -> str:
    return json.dumps(
        {
            "schema": "cnncalc/check@1",
            "name": analysis.name,
            "file": analysis.file,
            "ok": all(claim.ok for claim in analysis.claims),
            "claims": [
                {
                    "path": claim.path or None,
                    "key": claim.key,
                    "claimed": claim.claimed,
                    "correct": claim.actual,
                    "ok": claim.ok,
                    "line": claim.loc.line if claim.loc else None,
                    "working": [] if claim.ok else claim_working(analysis, claim),
                }
                for claim in analysis.claims
            ],
        },
        indent=2,
        ensure_ascii=False,
    )
