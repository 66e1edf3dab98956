"""Memory: activations per layer and per image, parameter memory, and a training estimate.

The training figure is an estimate, and says so: parameters + gradients + optimizer state +
the activations kept for the backward pass, under the assumptions listed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import arith
from .result import Analysis

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2, "adamw": 2}
"""float32 tensors the optimizer keeps per parameter (Adam: first and second moments)."""


@dataclass(frozen=True)
class LayerMemory:
    path: str
    kind: str
    elements: Any
    """Output elements per image."""


@dataclass(frozen=True)
class TrainingEstimate:
    batch: int
    dtype: str
    optimizer: str
    parameters: Any
    gradients: Any
    optimizer_state: Any
    activations: Any
    inputs: Any

    @property
    def total(self) -> Any:
        return arith.normalize(
            self.parameters + self.gradients + self.optimizer_state + self.activations + self.inputs
        )

    @property
    def assumptions(self) -> tuple[str, ...]:
        return (
            f"parameters and gradients in {self.dtype}; optimizer state in float32 "
            f"({OPTIMIZER_STATES[self.optimizer]} tensor(s) per parameter for {self.optimizer})",
            "every layer's output is kept for the backward pass (an upper bound: in-place "
            "activations, views such as flatten, and fused kernels keep less)",
            "no allowance for the framework, workspace, fragmentation or the data loader",
        )


@dataclass(frozen=True)
class MemoryReport:
    analysis: Analysis
    layers: tuple[LayerMemory, ...]
    per_image: Any
    peak_layer: LayerMemory | None
    parameters: Any
    buffers: Any
    training: TrainingEstimate


def memory_report(
    analysis: Analysis, batch: int = 1, dtype: str = "float32", optimizer: str = "adam"
) -> MemoryReport:
    """Activation and parameter memory of ``analysis`` (analysed at batch 1)."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype '{dtype}' (choose from {', '.join(DTYPE_BYTES)})")
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(
            f"unknown optimizer '{optimizer}' (choose from {', '.join(OPTIMIZER_STATES)})"
        )
    per_sample = analysis.batch
    layers = tuple(
        LayerMemory(
            row.path,
            row.kind,
            arith.normalize(row.activation_elements / per_sample)
            if per_sample != 1
            else row.activation_elements,
        )
        for row in analysis.layers
    )
    per_image = arith.normalize(sum(layer.elements for layer in layers))
    numeric = [layer for layer in layers if isinstance(layer.elements, int)]
    peak = max(numeric, key=lambda layer: layer.elements) if numeric else None
    size = DTYPE_BYTES[dtype]
    params = analysis.totals.params
    training = TrainingEstimate(
        batch=batch,
        dtype=dtype,
        optimizer=optimizer,
        parameters=arith.normalize(params * size),
        gradients=arith.normalize(params * size),
        optimizer_state=arith.normalize(params * 4 * OPTIMIZER_STATES[optimizer]),
        activations=arith.normalize(per_image * batch * size),
        inputs=arith.normalize(arith.product(analysis.input_shape) * batch * size),
    )
    return MemoryReport(
        analysis, layers, per_image, peak, params, analysis.totals.buffers, training
    )


def human_bytes(count: Any) -> str:
    """``1.23 GiB`` (binary units), or the exact expression when symbolic."""
    if not isinstance(count, int):
        return f"{arith.as_text(count)} bytes"
    for power, unit in enumerate(("B", "KiB", "MiB", "GiB", "TiB")):
        if count < 1024 ** (power + 1) or unit == "TiB":
            # exact at any size (a float overflows past 1.8e308 bytes)
            return (
                f"{count:,} B"
                if unit == "B"
                else f"{arith.quotient_text(count, 1024**power)} {unit}"
            )
    return f"{count} B"  # pragma: no cover
