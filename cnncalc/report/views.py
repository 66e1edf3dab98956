"""What each command shows: its columns over the rows, and the totals lines.

Pure data: the table, CSV and Markdown renderers all read these views, so the three
formats can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import arith
from ..engine.conventions import Convention
from ..engine.divisibility import rule_text
from ..engine.result import OP_CATEGORIES, Analysis, Row
from ..engine.validity import bounds_text


def shape_text(shape: Sequence[Any]) -> str:
    """C×H×W as people write it: ``96×55×55``."""
    return "×".join(arith.as_factor(dim) for dim in shape)


def per_axis_text(values: Sequence[Any]) -> str:
    """One value when the axes (H, W) agree, else ``H×W``, each part bracketed if needed."""
    texts = [arith.as_text(value) for value in values]
    if len(set(texts)) == 1:
        return texts[0]
    return "×".join(arith.as_factor(value) for value in values)


def _field_values(row: Row, index: int) -> list[Any]:
    """Size (0), jump (1) or start (2) of a row's receptive field per axis (H, W); none for
    flat tensors."""
    return [axis[index] for axis in row.spatial_field]


def field_text(row: Row) -> str:
    """Receptive field of a row: ``11×11`` (empty for flat tensors)."""
    return "×".join(arith.as_factor(value) for value in _field_values(row, 0))


def _field_part(index: int) -> Callable[[Row], str]:
    """The jump (1) or start (2) column: ``4``, or ``4×2`` (H×W) when the axes differ."""

    def value(row: Row) -> str:
        values = _field_values(row, index)
        return per_axis_text(values) if values else ""

    return value


def padding_text(row: Row) -> str:
    """Resolved padding of a sliding window: ``1`` (every side), ``0+1`` (before+after, as
    TensorFlow's ``same`` puts the extra pixel after), ``H:0+1 W:1`` when the axes differ;
    empty for layers without a window."""
    sides = [side for pair in row.padding for side in pair]
    if any(arith.is_symbolic(side) for side in sides) and row.values.get("padding") == "same_tf":
        # TensorFlow's padding depends on the parity of a symbolic size: a formula of
        # ⌈H/2⌉ − ⌈(H − 1)/2⌉ says less than the word
        return "same_tf"
    parts = []
    for before, after in row.padding:
        if arith.equal(before, after):
            parts.append(arith.as_text(before))
        else:
            parts.append(f"{arith.as_factor(before)}+{arith.as_factor(after)}")
    if not parts or len(set(parts)) == 1:
        return parts[0] if parts else ""
    # "0+1×1" would read as 0 + 1×1: name the axes instead.
    return " ".join(f"{axis}:{part}" for axis, part in zip("HW", parts, strict=True))


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Row], Any]
    numeric: bool = False

    def text(self, row: Row, thousands: bool = True) -> str:
        value = self.value(row)
        if isinstance(value, str):
            return value
        return arith.as_text(value, thousands=thousands and self.numeric)


LAYER = Column("layer", lambda row: row.path)
KIND = Column("kind", lambda row: f"{row.kind} (training)" if row.training_only else row.kind)
INPUT = Column("input", lambda row: shape_text(row.input_shape))
OUTPUT = Column("output", lambda row: shape_text(row.output_shape))
PARAMS = Column("params", lambda row: row.params, numeric=True)
WEIGHTS = Column("weights", lambda row: row.weights, numeric=True)
BIASES = Column("biases", lambda row: row.biases, numeric=True)
BUFFERS = Column("buffers", lambda row: row.buffers, numeric=True)
MACS = Column("MACs", lambda row: row.macs, numeric=True)
OTHER = Column("other ops", lambda row: row.other_ops, numeric=True)
PADDING = Column("padding", padding_text)
FIELD = Column("RF", field_text)
JUMP = Column("jump", _field_part(1))
START = Column("start", _field_part(2))
DEPTH = Column("depth", lambda row: row.depth, numeric=True)


def added_params_columns(convention: Convention) -> tuple[Column, Column]:
    """For a tool that counts parameters of its own (Keras' BN moving statistics): the
    ``non-trainable`` column and its total ``params (Keras)``."""
    name = convention.name
    label = convention.peer.label if convention.peer else name
    return (
        Column("non-trainable", lambda row: row.peers[name], numeric=True),
        Column(
            f"params ({label})",
            lambda row: arith.normalize(row.params + row.peers[name]),
            numeric=True,
        ),
    )


def flops_column(convention: Convention) -> Column:
    return Column(convention.flops_label, convention.row_flops, numeric=True)


def columns_for(command: str, convention: Convention) -> list[Column]:
    """The columns of ``command``'s table."""
    if command == "shape":
        return [LAYER, KIND, INPUT, OUTPUT, PADDING, FIELD, JUMP, START]
    # Keras counts batchnorm's moving mean and variance as (non-trainable) parameters
    added, params = added_params_columns(convention) if convention.adds_params else (None, PARAMS)
    if command == "params":
        extra = [added] if added else []
        return [LAYER, KIND, OUTPUT, WEIGHTS, BIASES, *extra, params, BUFFERS]
    if command == "flops":
        return [LAYER, KIND, OUTPUT, MACS, flops_column(convention), OTHER]
    return [LAYER, KIND, OUTPUT, params, MACS, FIELD, DEPTH]


def number(value: Any) -> str:
    return arith.as_text(value, thousands=True)


def bytes_text(count: Any) -> str:
    """4 bytes per float32 element, in MiB (or the exact expression)."""
    if not isinstance(count, int):
        return f"4·({arith.as_text(count)}) bytes"
    return f"{arith.quotient_text(count * 4, 2**20)} MiB"


def _training_only_lines(analysis: Analysis, total: Any) -> list[tuple[str, str]]:
    """The parameters of training-only heads, apart (they are in the total)."""
    if not analysis.training_outputs:
        return []
    heads = analysis.totals.training_only_params
    inference = number(arith.normalize(total - heads))
    return [("of which", f"{number(heads)} in training-only heads (inference: {inference})")]


def totals_lines(analysis: Analysis, convention: Convention, command: str) -> list[tuple[str, str]]:
    """(label, value) lines under a table: the totals with their conventions."""
    totals = analysis.totals
    total, trainable, frozen = convention.params(totals)
    lines: list[tuple[str, str]] = [
        ("input", f"{shape_text(analysis.input_shape)} (C×H×W), batch {analysis.batch}"),
        ("output", shape_text(analysis.output_shape)),
    ]
    if len(analysis.outputs) > 1:  # outputs: [...]: each returned tensor by name
        lines[-1] = (
            "outputs",
            ", ".join(f"{row.path} {shape_text(row.output_shape)}" for row in analysis.outputs),
        )
    if analysis.training_outputs:
        heads = ", ".join(
            f"{row.path} {shape_text(row.output_shape)}" for row in analysis.training_outputs
        )
        lines.append(("training only", f"{heads} (returned by train() only)"))
    if analysis.valid_from:
        lines.append(("valid for", valid_text(analysis.valid_from)))
    lines += exact_lines(analysis)
    if command in ("params", "summary"):
        lines += [
            (
                "params",
                f"{number(total)} (trainable {number(trainable)}, non-trainable {number(frozen)})",
            ),
            *_training_only_lines(analysis, total),
            ("buffers", f"{number(totals.buffers)} (BN running statistics; not parameters)"),
            ("param memory", f"{bytes_text(total)} as float32"),
        ]
    if command in ("flops", "summary"):
        lines += [
            ("MACs", f"{number(totals.macs)} (conv + linear multiply-accumulates, no bias)"),
            *_exact_macs(analysis),
            (convention.flops_label, number(convention.total_flops(totals))),
        ]
        others = ", ".join(
            f"{name} {number(totals.ops[name])}" for name in OP_CATEGORIES if totals.ops[name] != 0
        )
        lines.append(("other ops", others or "none"))
    if command == "summary":
        lines += [
            (
                "activations",
                f"{number(totals.activation_elements)} elements = "
                f"{bytes_text(totals.activation_elements)} (every layer's output, float32)",
            ),
            (
                "depth",
                f"{counted(totals.depth, 'weight layer')} on the longest path "
                f"({counted(totals.weight_layers, 'conv/linear layer')} in all)",
            ),
        ]
    if _reconciles(command, convention):
        lines.append(("convention", convention.reconcile(analysis)))
    lines += published_lines(analysis, convention)
    return lines


def _reconciles(command: str, convention: Convention) -> bool:
    """Whether ``command`` shows what ``convention``'s line is about: Keras changes the
    parameters only, every other convention the FLOPs only; summary shows both."""
    if command == "summary":
        return True
    if command == "params":
        return convention.adds_params
    return command == "flops" and not convention.adds_params


def exact_lines(analysis: Analysis) -> list[tuple[str, str]]:
    """Where a symbolic analysis drops no pixel, and its output there."""
    if analysis.exact is None:
        return []
    lines = [("exact for", rule_text(analysis.exact))]
    if analysis.exact.outputs:
        shapes = ", ".join(shape_text(shape) for shape in analysis.exact.outputs)
        lines.append(("exact output", f"{shapes} (at those sizes)"))
    return lines


def _exact_macs(analysis: Analysis) -> list[tuple[str, str]]:
    if analysis.exact is None or analysis.exact.macs is None:
        return []
    return [("exact MACs", f"{number(analysis.exact.macs)} (at the exact sizes)")]


def valid_text(valid_from: Mapping[str, int]) -> str:
    """``H ≥ 32, W ≥ 32 (…)``: where a symbolic analysis' formulas hold."""
    bounds = bounds_text(valid_from)
    if all(size == 1 for size in valid_from.values()):
        return f"{bounds} (any size)"
    return f"{bounds} (the smallest input every layer accepts)"


def published_lines(analysis: Analysis, convention: Convention) -> list[tuple[str, str]]:
    """'published params 61,100,840 ✓' lines comparing the spec's stated totals."""
    totals = analysis.totals
    found = {
        "params": totals.params,
        "macs": totals.macs,
        "depth": totals.depth,
        "flops": totals.flops,
        "trainable_params": totals.trainable_params,
    }
    lines = []
    for key, value in analysis.published.items():
        if key not in found or analysis.symbolic or analysis.batch != 1:
            continue
        mark = "✓" if found[key] == value else f"✗ (cnncalc: {number(found[key])})"
        lines.append((f"published {key}", f"{number(value)} {mark}"))
    return lines


def counted(count: int, noun: str) -> str:
    """``1 weight layer``, ``5 weight layers``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
