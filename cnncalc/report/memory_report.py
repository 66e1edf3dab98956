"""``cnncalc memory``: activations per layer (float32/float16/bfloat16) and the estimates."""

from __future__ import annotations

import json

from .. import arith
from ..engine.memory import DTYPE_BYTES, MemoryReport, human_bytes


def memory_text(report: MemoryReport) -> str:
    analysis = report.analysis
    header = ["layer", "kind", "elements", *DTYPE_BYTES]
    rows = [
        [
            layer.path,
            layer.kind,
            arith.as_text(layer.elements, thousands=True),
            *(human_bytes(arith.normalize(layer.elements * size)) for size in DTYPE_BYTES.values()),
        ]
        for layer in report.layers
    ]
    widths = [max(len(line[index]) for line in [header, *rows]) for index in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if index < 2 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    lines = [f"{analysis.name} — {analysis.file} (activations per image)", line(header)]
    lines += [line(row) for row in rows]
    training = report.training
    per_image = ", ".join(
        f"{name} {human_bytes(arith.normalize(report.per_image * size))}"
        for name, size in DTYPE_BYTES.items()
    )
    lines += [
        "",
        f"activations per image: {arith.as_text(report.per_image, thousands=True)} elements "
        f"({per_image})",
    ]
    if report.peak_layer:
        peak = report.peak_layer
        lines.append(
            f"largest layer output: {peak.path} ({arith.as_text(peak.elements, True)} elements)"
        )
    lines += [
        f"parameters: {arith.as_text(report.parameters, True)} = "
        + ", ".join(
            f"{name} {human_bytes(arith.normalize(report.parameters * size))}"
            for name, size in DTYPE_BYTES.items()
        ),
        f"buffers: {arith.as_text(report.buffers, True)} (BN running statistics)",
        "",
        f"training estimate (batch {training.batch}, {training.dtype}, {training.optimizer}):",
        f"  parameters       {human_bytes(training.parameters)}",
        f"  gradients        {human_bytes(training.gradients)}",
        f"  optimizer state  {human_bytes(training.optimizer_state)}",
        f"  activations      {human_bytes(training.activations)}",
        f"  input batch      {human_bytes(training.inputs)}",
        f"  total ≈          {human_bytes(training.total)}",
        "  an estimate, assuming:",
        *(f"  - {item}" for item in training.assumptions),
    ]
    return "\n".join(lines)


def memory_json(report: MemoryReport) -> str:
    training = report.training
    return json.dumps(
        {
            "schema": "cnncalc/memory@1",
            "name": report.analysis.name,
            "layers": [
                {
                    "path": layer.path,
                    "kind": layer.kind,
                    "elements": arith.as_json(layer.elements),
                    "bytes": {
                        name: arith.as_json(arith.normalize(layer.elements * size))
                        for name, size in DTYPE_BYTES.items()
                    },
                }
                for layer in report.layers
            ],
            "activation_elements_per_image": arith.as_json(report.per_image),
            "parameters": arith.as_json(report.parameters),
            "buffers": arith.as_json(report.buffers),
            "training_estimate": {
                "batch": training.batch,
                "dtype": training.dtype,
                "optimizer": training.optimizer,
                "parameters_bytes": arith.as_json(training.parameters),
                "gradients_bytes": arith.as_json(training.gradients),
                "optimizer_state_bytes": arith.as_json(training.optimizer_state),
                "activations_bytes": arith.as_json(training.activations),
                "input_bytes": arith.as_json(training.inputs),
                "total_bytes": arith.as_json(training.total),
                "assumptions": list(training.assumptions),
            },
        },
        indent=2,
        ensure_ascii=False,
    )
