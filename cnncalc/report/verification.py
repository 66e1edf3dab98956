"""Rendering a verification: a ✓/✗ table per layer and per check, or JSON."""

from __future__ import annotations

import json
from typing import Any

from .. import arith
from ..torch.verify import Check, Failure, Verification, value_text

OK, BAD = "✓", "✗"


def _cell(check: Check) -> str:
    if check.ok:
        return OK
    return f"{BAD} cnncalc {value_text(check.expected)} ≠ torch {value_text(check.actual)}"


def verification_table(result: Verification) -> str:
    analysis = result.analysis
    lines = [f"{analysis.name} — {analysis.file} — PyTorch on {result.device}"]
    if result.failure:
        return "\n".join([*lines, *_failure_lines(result.failure)])
    names = [check.name for check in result.layers[0].checks] if result.layers else []
    width = max([len(layer.path) for layer in result.layers] + [5])
    kind_width = max([len(layer.kind) for layer in result.layers] + [4])
    lines.append(f"{'layer'.ljust(width)}  {'kind'.ljust(kind_width)}  " + "  ".join(names))
    for layer in result.layers:
        cells = "  ".join(_cell(check).ljust(len(check.name)) for check in layer.checks)
        lines.append(f"{layer.path.ljust(width)}  {layer.kind.ljust(kind_width)}  {cells}".rstrip())
    lines.append("")
    for check in result.totals:
        detail = (
            value_text(check.actual)
            if check.ok
            else f"cnncalc {value_text(check.expected)} ≠ {value_text(check.actual)}"
        )
        lines.append(f"{OK if check.ok else BAD} {check.name}: {detail}")
    for tool, reason in result.skipped:
        lines.append(f"- {tool} skipped: {reason}")
    passed = sum(layer.ok for layer in result.layers)
    verdict = "all agree" if result.ok else f"{len(result.mismatches)} mismatches"
    lines.append(
        f"{passed}/{len(result.layers)} layers and "
        f"{sum(c.ok for c in result.totals)}/{len(result.totals)} totals agree: {verdict}"
    )
    return "\n".join(lines)


def _failure_lines(failure: Failure) -> list[str]:
    """The first layer PyTorch shaped differently, then the crash it led to (or the crash
    alone, when every layer before it agreed)."""
    difference = failure.first_difference
    if failure.stage == "build":
        code = [f"  PyTorch was given: {failure.code}"] if failure.code else []
        return [f"{BAD} {failure}", *code]
    if difference is None:
        return [f"{BAD} {failure}", "  (every layer before it agrees with the engine)"]
    return [
        f"{BAD} first disagreement: {difference}",
        f"{BAD} then {failure}",
        f"  (layers before '{difference.path}' agree; look at '{difference.path}' first)",
    ]


def _failure_json(failure: Failure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    difference = failure.first_difference
    return {
        "stage": failure.stage,
        "layer": failure.path,
        "kind": failure.kind,
        "error": failure.error,
        "code": failure.code or None,
        "message": str(failure),
        "first_difference": None
        if difference is None
        else {
            "layer": difference.path,
            "kind": difference.kind,
            "check": "shape",
            "cnncalc": arith.as_json(difference.expected),
            "torch": arith.as_json(difference.actual),
        },
    }


def verification_json(result: Verification) -> str:
    document = {
        "schema": "cnncalc/verification@1",
        "name": result.analysis.name,
        "file": result.analysis.file,
        "device": result.device,
        "ok": result.ok,
        "failure": _failure_json(result.failure),
        "layers": [
            {
                "path": layer.path,
                "kind": layer.kind,
                "ok": layer.ok,
                "checks": {
                    check.name: {
                        "cnncalc": arith.as_json(check.expected),
                        "torch": arith.as_json(check.actual),
                        "ok": check.ok,
                    }
                    for check in layer.checks
                },
            }
            for layer in result.layers
        ],
        "totals": [
            {
                "check": check.name,
                "cnncalc": arith.as_json(check.expected),
                "actual": arith.as_json(check.actual),
                "ok": check.ok,
            }
            for check in result.totals
        ],
        "skipped": [{"tool": tool, "reason": reason} for tool, reason in result.skipped],
        "mismatches": [
            {
                "layer": mismatch.layer,
                "check": mismatch.check,
                "cnncalc": arith.as_json(mismatch.expected),
                "torch": arith.as_json(mismatch.actual),
                "message": str(mismatch),
            }
            for mismatch in result.mismatches
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
