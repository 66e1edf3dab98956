"""Rendering a verification: a ✓/✗ table per layer and per check, or JSON."""

from __future__ import annotations

import json
from typing import Any

from .. import arith
from ..torch.verify import Check, Verification

OK, BAD = "✓", "✗"


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "×".join(str(item) for item in value)
    if value is None:
        return "—"
    return arith.as_text(value, thousands=True)


def _cell(check: Check) -> str:
    if check.ok:
        return OK
    return f"{BAD} cnncalc {_value(check.expected)} ≠ torch {_value(check.actual)}"


def verification_table(result: Verification) -> str:
    analysis = result.analysis
    lines = [f"{analysis.name} — {analysis.file} — PyTorch on {result.device}"]
    if result.failure:
        return "\n".join([*lines, f"✗ {result.failure}"])
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
            _value(check.actual)
            if check.ok
            else f"cnncalc {_value(check.expected)} ≠ {_value(check.actual)}"
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


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else arith.as_json(value)


def verification_json(result: Verification) -> str:
    document = {
        "schema": "cnncalc/verification@1",
        "name": result.analysis.name,
        "file": result.analysis.file,
        "device": result.device,
        "ok": result.ok,
        "failure": result.failure,
        "layers": [
            {
                "path": layer.path,
                "kind": layer.kind,
                "ok": layer.ok,
                "checks": {
                    check.name: {
                        "cnncalc": _json_value(check.expected),
                        "torch": _json_value(check.actual),
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
                "cnncalc": _json_value(check.expected),
                "actual": _json_value(check.actual),
                "ok": check.ok,
            }
            for check in result.totals
        ],
        "skipped": [{"tool": tool, "reason": reason} for tool, reason in result.skipped],
        "mismatches": result.mismatches,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
