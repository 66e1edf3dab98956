"""Rendering a verification: a ✓/✗ table per layer and per check, or JSON."""

from __future__ import annotations

import json
from typing import Any

from .. import arith
from ..torch.verify import Check, Failure, Verification, value_text

OK, BAD = "✓", "✗"
NOT_CHECKED = ""


def _cell(check: Check) -> str:
    if check.ok:
        return OK
    return f"{BAD} cnncalc {value_text(check.expected)} ≠ torch {value_text(check.actual)}"


def verification_table(result: Verification) -> str:
    analysis = result.analysis
    lines = [f"{analysis.name} — {analysis.file} — PyTorch on {result.device}"]
    if result.failure:
        return "\n".join([*lines, *_failure_lines(result.failure)])
    lines += _layer_lines(result)
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
    verdict = "all agree" if result.ok else _verdict(result)
    lines.append(
        f"{passed}/{len(result.layers)} layers and "
        f"{sum(c.ok for c in result.totals)}/{len(result.totals)} totals agree: {verdict}"
    )
    return "\n".join(lines)


def _verdict(result: Verification) -> str:
    """How many disagree, and the first layer to look at: a wrong shape carries on into
    every layer after it, so the first is usually the cause."""
    mismatches = result.mismatches
    first = next((mismatch for mismatch in mismatches if mismatch.layer is not None), None)
    count = f"{len(mismatches)} mismatch{'es' if len(mismatches) != 1 else ''}"
    return f"{count}, the first at layer '{first.layer}' ({first.check})" if first else count


def _layer_lines(result: Verification) -> list[str]:
    """The per-layer table; each column as wide as its widest cell, so a ✗ with both
    values does not push the next columns out of line."""
    names = _check_names(result)
    grid = [["layer", "kind", *names]]
    for layer in result.layers:
        checks = {check.name: check for check in layer.checks}
        cells = [_cell(checks[name]) if name in checks else NOT_CHECKED for name in names]
        grid.append([layer.path, layer.kind, *cells])
    widths = [max(len(row[column]) for row in grid) for column in range(len(grid[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in grid
    ]


def _check_names(result: Verification) -> list[str]:
    """The columns: every check any layer has, in the order first met. A layer without one
    (an inline step has no module for FlopCounterMode to attribute MACs to) gets a blank."""
    names: dict[str, None] = {}
    for layer in result.layers:
        names.update(dict.fromkeys(check.name for check in layer.checks))
    return list(names)


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
                # as for layers: what PyTorch (or the peer tool the check names) measured
                "torch": arith.as_json(check.actual),
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
