"""``cnncalc check``: every claimed answer, right or wrong, with the correct working."""

from __future__ import annotations

import json
from collections.abc import Iterator

from ..engine.claims import Claim
from ..engine.result import Analysis
from ..layers.explain import Equation
from .text_report import equation_line
from .worked import layer_explanation

# which equations of a layer's working justify each kind of claim
_EQUATIONS = {
    "output": ("W_out", "H_out", "D_out", "N", "output"),
    "params": ("parameters",),
    "weights": ("parameters",),
    "macs": ("MACs",),
    "flops": ("MACs",),
    "receptive_field": ("r_out", "j_out", "r_out (H)", "j_out (H)"),
}


def claim_working(analysis: Analysis, claim: Claim) -> list[str]:
    """The lines that show the correct answer to a claim."""
    if not claim.path:
        return list(_totals_working(analysis, claim))
    row = analysis.row(claim.path)
    if row.is_group:
        return [f"the {row.kind} {row.path}: sum of its layers"]
    wanted = _EQUATIONS[claim.key]
    equations = [
        equation
        for equation in layer_explanation(row, claim.key == "weights").equations
        if equation.name in wanted
    ]
    if claim.key == "flops":
        equations.append(Equation("FLOPs", "2·MACs", f"2·{row.macs}", claim.actual))
    return [equation_line(equation) for equation in equations]


def _totals_working(analysis: Analysis, claim: Claim) -> Iterator[str]:
    if claim.key in ("params", "weights"):
        rows = [row for row in analysis.layers if row.params]
        values = [row.weights if claim.key == "weights" else row.params for row in rows]
        if 1 < len(rows) <= 16:
            terms = " + ".join(f"{value:,}" for value in values)
            yield f"{claim.key} = {terms} = {claim.actual}"
        pairs = list(zip(rows, values, strict=True))[:40]
        yield "per layer: " + ", ".join(f"{row.path} {value:,}" for row, value in pairs)
    elif claim.key == "depth":
        yield "depth = the longest chain of conv/linear layers from input to output"
    else:
        yield f"{claim.key} = {claim.actual} (the sum over the layers; see cnncalc report)"


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
        lines.append(
            f"✗ {where} {claim.key}: claimed {claim.claimed}, correct {claim.actual}"
            + (f"  ({claim.loc})" if claim.loc else "")
        )
        lines += [f"    {line}" for line in claim_working(analysis, claim)]
    wrong = sum(not claim.ok for claim in claims)
    lines.append(f"{len(claims)} claims: {len(claims) - wrong} right, {wrong} wrong")
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
