"""The worked solution of a whole network, as data: what ``cnncalc report`` renders.

For every layer its :class:`~cnncalc.layers.explain.Explanation`; for every structure the
reasoning that joins its parts (concat depth D = D₁ + D₂ + …, the residual shortcut check
and the projection's cost, dense-block channels k₀ + l·k); then the totals: where the
parameters live, the depth and why pools do not count, and the conventions used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import arith
from ..engine.plan import GroupStep, LayerStep, MergeStep, Step
from ..engine.result import Analysis, Row
from ..layers import KINDS
from ..layers.explain import Equation, Explanation, factor, text, volume

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class LayerWork:
    """One layer's working, or a structure's (``row.is_group`` or a merge row)."""

    row: Row
    title: str
    explanation: Explanation
    level: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class WorkedReport:
    analysis: Analysis
    work: tuple[LayerWork, ...]
    totals: tuple[Fact, ...]
    no_bias: bool = False
    answers_only: bool = False
    conventions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        return self.analysis.name


def worked_report(
    analysis: Analysis, no_bias: bool = False, answers_only: bool = False
) -> WorkedReport:
    """The whole worked solution of ``analysis``."""
    work = tuple(_walk(analysis.steps, 0, no_bias))
    return WorkedReport(
        analysis,
        work,
        tuple(_totals(analysis, no_bias)),
        no_bias,
        answers_only,
        tuple(_conventions(no_bias)),
    )


def receptive_field_equations(row: Row) -> tuple[Equation, ...]:
    """``r_out = r_in + (k − 1)·j_in`` and ``j_out = j_in·s`` when the layer grows the field
    (along W; H is shown when it differs)."""
    if not row.receptive_field or row.receptive_field == row.receptive_field_in:
        return ()
    equations = []
    for axis, label in ((1, ""), (0, " (H)")):
        (size_in, jump_in, _), (size, jump, start) = (
            row.receptive_field_in[axis],
            row.receptive_field[axis],
        )
        if axis == 0 and row.receptive_field[0] == row.receptive_field[1]:
            break
        stride = arith.floor_div(jump, jump_in)
        window = row.details.get("axes")
        if window is not None and window[axis].dilation != 1:  # a dilated kernel's own k and d
            kernel, dilation = window[axis].kernel, window[axis].dilation
            rule = "r_in + (k − 1)·d·j_in"
            values = f"{factor(size_in)} + ({factor(kernel)} − 1)·{factor(dilation)}·"
        else:
            kernel = arith.normalize(arith.floor_div(size - size_in, jump_in) + 1)
            rule, values = "r_in + (k − 1)·j_in", f"{factor(size_in)} + ({factor(kernel)} − 1)·"
        equations += [
            Equation(
                f"r_out{label}",
                rule,
                values + factor(jump_in),
                text(size),
                "receptive field: input pixels one output sees",
            ),
            Equation(
                f"j_out{label}",
                "j_in·s",
                f"{factor(jump_in)}·{factor(stride)}",
                text(jump),
                f"the jump, or effective stride; the first window starts at {text(start)}",
            ),
        ]
    return tuple(equations)


def layer_explanation(row: Row, no_bias: bool) -> Explanation:
    """The kind's own equations, then the receptive-field recurrence."""
    explanation = KINDS[row.kind].explain(row, no_bias)
    extra = receptive_field_equations(row)
    if not extra:
        return explanation
    return Explanation(explanation.given, (*explanation.equations, *extra), explanation.remark)


def _walk(steps: tuple[Step, ...], level: int, no_bias: bool) -> Iterator[LayerWork]:
    for step in steps:
        if isinstance(step, LayerStep):
            row = step.row
            explanation = layer_explanation(row, no_bias)
            yield LayerWork(row, f"{row.path} ({row.kind})", explanation, level, row.warnings)
        elif isinstance(step, GroupStep):
            yield LayerWork(
                step.row,
                f"{step.row.path} ({step.row.kind})",
                _group_explanation(step, no_bias),
                level,
            )
            yield from _walk(step.steps, level + 1, no_bias)
        else:
            yield from _merge(step, level, no_bias)


def _group_explanation(step: GroupStep, no_bias: bool) -> Explanation:
    row = step.row
    params = row.weights if no_bias else row.params
    return Explanation(
        (("input", volume(row.input_shape)), ("output", volume(row.output_shape))),
        _dense_channels(step) if row.kind == "dense_block" else (),
        remark=f"{text(params)} parameters, {text(row.macs)} MACs in this {_group_name(row.kind)}",
    )


def _group_name(kind: str) -> str:
    """``block:inception`` → ``inception block``; ``repeat``, ``branch`` as they are."""
    return f"{kind.split(':', 1)[1]} block" if kind.startswith("block:") else kind.replace("_", " ")


def _dense_channels(step: GroupStep) -> tuple[Equation, ...]:
    """``D = k₀ + l·k = 64 + 6·32 = 256``: each of the l layers concatenates k new channels."""
    layers = sum(1 for child in step.steps if isinstance(child, MergeStep))
    k0, out = step.row.input_shape[0], step.row.output_shape[0]
    if not layers:
        return ()
    growth = arith.floor_div(arith.normalize(out - k0), layers)
    return (
        Equation(
            "D_out",
            "k₀ + l·k",
            f"{factor(k0)} + {layers}·{factor(growth)}",
            text(out),
            "each of the l layers concatenates k new channels, k the growth rate",
        ),
    )


def _branch_output(branch: tuple[Step, ...], fallback: tuple[Any, ...]) -> tuple[Any, ...]:
    return branch[-1].row.output_shape if branch else fallback


def _merge(step: MergeStep, level: int, no_bias: bool) -> Iterator[LayerWork]:
    for branch in step.branches:
        yield from _walk(branch, level, no_bias)
    row = step.row
    outputs = [_branch_output(branch, row.input_shape) for branch in step.branches]
    if row.kind == "concat":
        depths = [shape[0] for shape in outputs]
        names = " + ".join(
            f"D{str(index).translate(SUBSCRIPTS)}" for index in range(1, len(depths) + 1)
        )
        equation = Equation(
            "D",
            names,
            " + ".join(factor(d) for d in depths),
            text(row.output_shape[0]),
            "branches are stacked along the depth; H×W must agree",
        )
        explanation = Explanation((("branches", str(len(outputs))),), (equation,))
    else:
        sign = "+" if row.kind == "add" else "×"
        shapes = f" {sign} ".join(volume(shape) for shape in outputs)
        note = (
            "a residual add: the shortcut must have the body's shape"
            if row.kind == "add"
            else "broadcast: C×1×1 scales every pixel of each channel (squeeze-and-excitation)"
        )
        explanation = Explanation(
            (),
            (
                Equation("output", "", shapes, volume(row.output_shape), note),
                Equation(
                    f"{row.kind} ops",
                    "one per output element",
                    "·".join(factor(d) for d in row.output_shape),
                    text(row.ops.get(row.kind, 0)),
                ),
            ),
        )
    yield LayerWork(row, f"{row.path} ({row.kind})", explanation, level)


def _totals(analysis: Analysis, no_bias: bool) -> Iterator[Fact]:
    totals = analysis.totals
    layers = analysis.layers
    params = totals.weights if no_bias else totals.params
    yield Fact(
        "parameters",
        text(params),
        "weights only (exam convention)"
        if no_bias
        else f"{text(totals.weights)} weights + {text(totals.biases)} biases",
    )
    conv = sum(
        (row.weights if no_bias else row.params)
        for row in layers
        if row.kind in ("conv", "depthwise", "conv_transpose")
    )
    dense = sum((row.weights if no_bias else row.params) for row in layers if row.kind == "linear")
    if isinstance(params, int) and params and isinstance(conv, int) and isinstance(dense, int):
        yield Fact("in conv layers", f"{text(conv)} ({100 * conv / params:.1f}%)")
        yield Fact("in FC layers", f"{text(dense)} ({100 * dense / params:.1f}%)")
        other = params - conv - dense
        if other:
            yield Fact(
                "in other layers",
                f"{text(other)} ({100 * other / params:.1f}%)",
                "batchnorm/layernorm scales and shifts",
            )
    yield Fact("MACs", text(totals.macs), "conv + linear multiply-accumulates, biases not included")
    yield Fact("FLOPs", text(totals.flops), "2 × MACs")
    yield Fact(
        "depth",
        f"{totals.depth} weight layers",
        "the longest chain of conv/linear layers from input to output; pooling, "
        "normalisation and activations have no weights of their own and are not counted",
    )
    yield Fact("output", volume(analysis.output_shape))


def _conventions(no_bias: bool) -> Iterator[str]:
    yield "Volumes are written H×W×D as in the notes; cnncalc's tables write C×H×W."
    yield "Output sizes use PyTorch's floor division (ceil_mode rounds up)."
    if no_bias:
        yield "Biases are ignored in the parameter counts (--no-bias)."
    else:
        yield "Parameters include biases; batchnorm running statistics are buffers."
    yield "MACs count conv and linear multiply-accumulates per image; FLOPs = 2 × MACs."


def as_number(value: Any) -> str:
    return arith.as_text(value, thousands=True)
