"""Counting conventions: cnncalc's own, and exact reproductions of what peer tools report.

Every total cnncalc prints says which convention produced it, and each peer convention
comes with a one-line reconciliation against cnncalc's MACs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import arith
from .result import Analysis, Row, Totals

_STATEMENT = (
    "MACs = multiply-accumulates of conv/linear layers per sample × batch (bias adds not "
    "included); FLOPs = 2 × MACs. Other costs, counted separately: bias adds (1 per output "
    "element), batchnorm (2 per element, inference), layernorm (5), LRN (size + 3), "
    "activations (1 per element; softmax 3), pooling (kernel area per output element; "
    "adaptive/global and spatial means: window sizes), residual adds, SE multiplies and layer "
    "scales (1 per output element), interpolation (inputs read per output element: nearest 1, "
    "bilinear 4, bicubic 16). "
    "Parameters = weights + biases; BN running statistics are buffers, not parameters."
)


@dataclass(frozen=True)
class Convention:
    name: str
    title: str
    statement: str
    row_flops: Callable[[Row], Any]
    total_flops: Callable[[Totals], Any]
    flops_label: str = "FLOPs"

    def params(self, totals: Totals) -> tuple[Any, Any, Any]:
        """(total, trainable, non-trainable) parameters as this tool reports them."""
        if self.name == "keras":
            total = arith.normalize(totals.params + totals.keras_non_trainable)
            return total, totals.trainable_params, totals.keras_non_trainable
        return totals.params, totals.trainable_params, totals.non_trainable_params

    def reconcile(self, analysis: Analysis) -> str:
        """One line: how this tool's number relates to cnncalc's MACs."""
        return _RECONCILE[self.name](analysis)


def _by_kind(analysis: Analysis, amount: Callable[[Row], Any]) -> str:
    parts: dict[str, Any] = defaultdict(int)
    for row in analysis.layers:
        value = amount(row)
        if value != 0:
            parts[row.kind] = arith.normalize(parts[row.kind] + value)
    return "".join(f" + {kind} {arith.as_text(value, True)}" for kind, value in parts.items())


def _reconcile_cnncalc(analysis: Analysis) -> str:
    totals = analysis.totals
    return (
        f"FLOPs {arith.as_text(totals.flops, True)} = 2 × MACs {arith.as_text(totals.macs, True)}"
    )


def _reconcile_peer(
    analysis: Analysis, label: str, count: Callable[[Row], Any], total: Any, note: str
) -> str:
    """``<label> T = MACs M + <kind> x + …  (note)``: a peer's total as cnncalc's MACs plus
    what the peer adds, by layer kind."""
    extra = _by_kind(analysis, lambda row: arith.normalize(count(row) - row.macs))
    macs = arith.as_text(analysis.totals.macs, True)
    return f"{label} {arith.as_text(total, True)} = MACs {macs}{extra} ({note})"


def _reconcile_fvcore(analysis: Analysis) -> str:
    return _reconcile_peer(
        analysis,
        "fvcore",
        lambda row: row.fvcore,
        analysis.totals.fvcore,
        "eval-mode BN 2/element, layernorm 5/element, adaptive avg pool 1/input element; "
        "pooling, activations, adds and multiplies 0",
    )


def _reconcile_fvcore_training(analysis: Analysis) -> str:
    return _reconcile_peer(
        analysis,
        "fvcore (training mode)",
        lambda row: row.fvcore_training,
        analysis.totals.fvcore_training,
        "training-mode BN and layernorm 5/element, 4 without affine; adaptive avg pool "
        "1/input element; "
        "pooling, activations, adds and multiplies 0",
    )


def _reconcile_flopcounter(analysis: Analysis) -> str:
    totals = analysis.totals
    return (
        f"FlopCounterMode {arith.as_text(totals.flops, True)} = 2 × MACs "
        f"{arith.as_text(totals.macs, True)} (conv and matmul only)"
    )


def _reconcile_torchinfo(analysis: Analysis) -> str:
    return _reconcile_peer(
        analysis,
        "torchinfo mult-adds",
        lambda row: row.torchinfo,
        analysis.totals.torchinfo,
        "conv: (weights + bias) × output pixels; other layers with parameters: their "
        "parameter count per sample",
    )


def _reconcile_keras(analysis: Analysis) -> str:
    totals = analysis.totals
    total = arith.normalize(totals.params + totals.keras_non_trainable)
    return (
        f"Keras params {arith.as_text(total, True)} = cnncalc params "
        f"{arith.as_text(totals.params, True)} + BN moving mean/variance "
        f"{arith.as_text(totals.keras_non_trainable, True)} (non-trainable)"
    )


_RECONCILE: dict[str, Callable[[Analysis], str]] = {
    "cnncalc": _reconcile_cnncalc,
    "fvcore": _reconcile_fvcore,
    "fvcore_training": _reconcile_fvcore_training,
    "flopcounter": _reconcile_flopcounter,
    "torchinfo": _reconcile_torchinfo,
    "keras": _reconcile_keras,
}


def _double_macs(item: Any) -> Any:
    return arith.normalize(2 * item.macs)


CONVENTIONS: dict[str, Convention] = {
    convention.name: convention
    for convention in (
        Convention("cnncalc", "cnncalc (default)", _STATEMENT, _double_macs, _double_macs),
        Convention(
            "fvcore",
            "fvcore FlopCountAnalysis",
            "fvcore: 1 per MAC for conv/linear/matmul; eval-mode batchnorm 2 per input element "
            "(1 without affine); layernorm 5; adaptive average pooling 1 per input element; "
            "upsampling 1 (nearest) or 4 (bilinear) per output element; "
            "0 for max/avg pooling, spatial means (x.mean), bicubic upsampling, pixel "
            "shuffles, activations, adds and multiplies (layer scales included).",
            lambda row: row.fvcore,
            lambda totals: totals.fvcore,
            "fvcore flops",
        ),
        Convention(
            "fvcore_training",
            "fvcore FlopCountAnalysis, model in training mode",
            "fvcore with model.train(): as fvcore, but batchnorm counts 5 per input element "
            "(4 without affine), as its layernorm does.",
            lambda row: row.fvcore_training,
            lambda totals: totals.fvcore_training,
            "fvcore flops (training)",
        ),
        Convention(
            "flopcounter",
            "torch.utils.flop_counter.FlopCounterMode",
            "FlopCounterMode: 2 per MAC for convolutions and matrix multiplies only (0 for "
            "upsampling, means and every other op).",
            _double_macs,
            _double_macs,
            "FlopCounterMode flops",
        ),
        Convention(
            "torchinfo",
            "torchinfo mult-adds",
            "torchinfo: for Conv* modules (weights + bias) × output pixels; for other modules "
            "with parameters, their parameter count per sample; 0 for the rest.",
            lambda row: row.torchinfo,
            lambda totals: totals.torchinfo,
            "mult-adds",
        ),
        Convention(
            "keras",
            "Keras model.summary()",
            "Keras: parameters include batchnorm moving mean and variance as non-trainable "
            "(2·C per BN layer); FLOPs as cnncalc (2 × MACs).",
            _double_macs,
            _double_macs,
        ),
    )
}


def get_convention(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        known = ", ".join(CONVENTIONS)
        raise ValueError(f"unknown convention '{name}' (choose from {known})") from None
