"""The worked solution of a whole network, as data: what ``cnncalc report`` renders.

For every layer its :class:`~cnncalc.layers.explain.Explanation`; for every structure the
reasoning that joins its parts (concat depth D = D₁ + D₂ + …, the residual shortcut check
and the projection's cost, dense-block channels k₀ + l·k); then the totals: where the
parameters live, the depth and why pools do not count, and the conventions used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .. import arith
from ..engine.biases import DROPPED, bias_rule, counted_params, counted_total, drops_bias
from ..engine.claims import Claim
from ..engine.divisibility import dropping_text, sizes_text
from ..engine.plan import GroupStep, LayerStep, MergeStep, ReadStep, Step
from ..engine.result import Analysis, Row, final_field
from ..engine.validity import bounds_text
from ..errors import SpecError
from ..layers import KINDS
from ..layers.explain import Equation, Explanation, factor, text, volume
from ..layers.geometry import coverage_advice, coverage_warning

MAX_WORKED_LAYERS = 10_000
"""The most layers a worked report works out: about 0.5 ms each to work and render, so a few
seconds (27,000 layers took 15 s as HTML, found by make fuzz); a solution that long is for no
reader, and summary/shape/params/flops answer up to the engine's own limit."""


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
    verdict: str = ""
    """A claim on the totals about this fact, judged: ``✗ claimed 27.55M (≈ 28.81M)``."""


@dataclass(frozen=True)
class WorkedReport:
    analysis: Analysis
    work: tuple[LayerWork, ...]
    totals: tuple[Fact, ...]
    no_bias: bool | str = False
    """'' / False, True or 'weight_layers' (conv/linear biases left out), 'all' (β too)."""
    answers_only: bool = False
    conventions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        return self.analysis.name


def worked_report(
    analysis: Analysis, no_bias: bool | str = False, answers_only: bool = False
) -> WorkedReport:
    """The whole worked solution of ``analysis``."""
    layers = len(analysis.layers)
    if layers > MAX_WORKED_LAYERS:
        raise SpecError(
            f"{analysis.file or analysis.name} expands to {layers:,} layers; a worked report "
            f"works out at most {MAX_WORKED_LAYERS:,}",
            None,
            hint="summary, shape, params and flops answer for it; check the repeat counts if "
            "that many layers are not meant",
        )
    work = tuple(_walk(analysis.steps, 0, no_bias))
    claims = _claims_by_path(analysis.claims)
    return WorkedReport(
        analysis,
        tuple(_judged(item, claims.get(item.row.path, ()), no_bias) for item in work),
        tuple(_judged_totals(_totals(analysis, no_bias), claims.get("", ()), no_bias)),
        no_bias,
        answers_only,
        tuple(_conventions(no_bias)),
    )


def receptive_field_equations(row: Row) -> tuple[Equation, ...]:
    """The receptive-field working the layer's own rule gives (``LayerKind.field_rule``):
    ``r_out = r_in + (k − 1)·j_in`` and ``j_out = j_in·s`` for every sliding window, a 1×1
    one included (it leaves the field as it is, which is worth seeing); a gathered field
    with the spacing the layer states; a global one as a window over the whole extent. Along
    W, and H too when it differs. Pointwise layers (activations, norms) keep the field
    silently."""
    if not row.spatial_field or not row.receptive_field_in:
        return ()
    kind = KINDS[row.kind]
    equations: list[Equation] = []
    axes = row.details.get("axes")
    if axes is None and row.receptive_field == row.receptive_field_in:
        return ()  # a geometry that changed nothing (6 → 6 adaptive windows, no padding)
    for axis, label in field_axes(row):
        rule = kind.field_rule(row, axis)
        if rule == "gathered":
            equations += _gathered_recurrence(row, axis, label)
        elif rule in ("sliding", "global"):
            window = axes[axis] if axes is not None and rule == "sliding" else None
            equations += _recurrence(row, axis, label, window)
    return tuple(equations)


def field_axes(row: Row) -> list[tuple[int, str]]:
    """The axes whose field is worked, with their labels: W alone when H's is the same,
    else both, labelled ``(W)`` and ``(H)``."""
    if row.receptive_field[0] == row.receptive_field[1]:
        return [(1, "")]
    return [(1, " (W)"), (0, " (H)")]


def _recurrence(row: Row, axis: int, label: str, window: Any) -> list[Equation]:
    """A sliding window (``window``: the layer's worked axis, or None where the layer states
    only its geometry: the window's k is then read off the field it produced)."""
    (size_in, jump_in, _), (size, jump, start) = (
        row.receptive_field_in[axis],
        row.receptive_field[axis],
    )
    stride = window.stride if window is not None else arith.floor_div(jump, jump_in)
    if window is not None and window.dilation != 1:  # a dilated kernel's own k and d
        rule = "r_in + (k − 1)·d·j_in"
        values = f"{factor(size_in)} + ({factor(window.kernel)} − 1)·{factor(window.dilation)}·"
    else:
        kernel = (
            window.kernel
            if window is not None
            else row.details["window"][axis][0]
            if "window" in row.details and row.output_shape[axis + 1] != 1
            else arith.normalize(arith.floor_div(size - size_in, jump_in) + 1)
        )
        rule, values = "r_in + (k − 1)·j_in", f"{factor(size_in)} + ({factor(kernel)} − 1)·"
    meaning = (
        "receptive field: input pixels one output sees"
        if size != size_in
        else "unchanged: a 1-pixel window sees what its input pixel saw"
    )
    return [
        Equation(f"r_out{label}", rule, values + factor(jump_in), text(size), meaning),
        Equation(
            f"j_out{label}",
            "j_in·s",
            f"{factor(jump_in)}·{factor(stride)}",
            text(jump),
            f"the jump, or effective stride; the first window starts at {text(start)}",
        ),
    ]


def _gathered_recurrence(row: Row, axis: int, label: str) -> list[Equation]:
    """A field whose outputs gather up to n inputs on a finer or uneven grid: a transposed
    conv (n inputs, 1/s apart), an adaptive pool (its longest window k, spaced L/n on
    average), an upsampling; the layer states the terms."""
    (size_in, jump_in, _), (size, jump, start) = (
        row.receptive_field_in[axis],
        row.receptive_field[axis],
    )
    terms = KINDS[row.kind].gathered_terms(row, axis)
    reach = row.details["window"][axis][0]
    return [
        Equation(
            f"r_out{label}",
            f"r_in + ({terms.symbol} − 1)·j_in",
            f"{factor(size_in)} + ({factor(reach)} − 1)·{factor(jump_in)}",
            text(size),
            terms.meaning,
        ),
        Equation(
            f"j_out{label}",
            terms.spacing,
            terms.spacing_working,
            text(jump),
            f"the jump: outputs are this far apart in the input; the first window starts at "
            f"{text(start)}",
        ),
    ]


def report_warnings(row: Row) -> tuple[str, ...]:
    """The row's warnings as the worked report says them: the equations already show an
    inexact division with its fraction and floor, so its warning keeps only what that
    costs and how to fix it (the engine's one-line warning, for tables, says it all)."""
    axes = row.details.get("axes")
    if axes is None:
        return row.warnings
    whole, advice = coverage_warning(axes), coverage_advice(axes)
    return tuple(advice if warning == whole and advice else warning for warning in row.warnings)


def layer_explanation(row: Row, no_bias: bool | str) -> Explanation:
    """The kind's own equations, then the receptive-field recurrence. ``no_bias``: which
    biases are left out (:mod:`cnncalc.engine.biases`); the kind hears only whether its own
    are."""
    explanation = KINDS[row.kind].explain(row, drops_bias(row.kind, no_bias))
    extra = receptive_field_equations(row)
    if not extra:
        return explanation
    return Explanation(explanation.given, (*explanation.equations, *extra), explanation.remark)


def _walk(steps: tuple[Step, ...], level: int, no_bias: bool | str) -> Iterator[LayerWork]:
    reading = ""
    for step in steps:
        if isinstance(step, ReadStep):
            reading = f", reading {step.row.path or 'the input'}"
            continue
        if isinstance(step, LayerStep):
            row = step.row
            explanation = layer_explanation(row, no_bias)
            yield LayerWork(
                row,
                f"{row.path} ({_kind_title(row)}{reading})",
                explanation,
                level,
                report_warnings(row),
            )
        elif isinstance(step, GroupStep):
            yield LayerWork(
                step.row,
                f"{step.row.path} ({_kind_title(step.row)}{reading})",
                _group_explanation(step, no_bias),
                level,
            )
            yield from _walk(step.steps, level + 1, no_bias)
        elif isinstance(step, MergeStep):
            yield from _merge(step, level, no_bias)
        reading = ""


def _kind_title(row: Row) -> str:
    return f"{row.kind}, training only" if row.training_only else row.kind


def _leaf_rows(steps: Iterable[Step]) -> Iterator[Row]:
    for step in steps:
        if isinstance(step, LayerStep):
            yield step.row
        elif isinstance(step, GroupStep):
            yield from _leaf_rows(step.steps)
        elif isinstance(step, MergeStep):  # a ReadStep holds no layer of its own
            for branch in step.branches:
                yield from _leaf_rows(branch)


def _group_explanation(step: GroupStep, no_bias: bool | str) -> Explanation:
    row = step.row
    params = counted_total(_leaf_rows(step.steps), no_bias) if no_bias else row.params
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


def _merge(step: MergeStep, level: int, no_bias: bool | str) -> Iterator[LayerWork]:
    for branch in step.branches:
        yield from _walk(branch, level, no_bias)
    row = step.row
    if row.kind == "concat":
        equations = _concat_equations(step)
        given: tuple[tuple[str, str], ...] = (("branches", str(len(step.branches))),)
    elif _is_residual(step):
        equations = _residual_equations(step, no_bias)
        given = ()
    else:
        equations = _elementwise_equations(step)
        given = ()
    explanation = Explanation(given, (*equations, *merge_receptive_field(step)))
    yield LayerWork(row, f"{row.path} ({row.kind})", explanation, level)


def _entering(step: MergeStep) -> tuple[Any, ...]:
    """The shape every branch starts from (an identity branch passes it on unchanged)."""
    if step.input_shape:
        return step.input_shape
    for branch in step.branches:
        if branch:
            return _step_input_shape(branch[0])
    return step.row.output_shape


def _step_input_shape(step: Step) -> tuple[Any, ...]:
    if isinstance(step, MergeStep):
        return _entering(step)
    if isinstance(step, ReadStep):
        return step.row.output_shape
    return step.row.input_shape


def _outputs(step: MergeStep) -> list[tuple[Any, ...]]:
    entering = _entering(step)
    return [_branch_output(branch, entering) for branch in step.branches]


def _is_residual(step: MergeStep) -> bool:
    """A residual block's add: [body, shortcut], the body's steps not wrapped in a branch
    group (an ``add:`` of branches wraps each one) and the shortcut empty or a group."""
    if step.row.kind != "add" or len(step.branches) != 2:
        return False
    body, shortcut = step.branches
    wrapped = len(body) == 1 and isinstance(body[0], GroupStep) and body[0].row.kind == "branch"
    projection = len(shortcut) == 1 and isinstance(shortcut[0], GroupStep)
    return bool(body) and not wrapped and (not shortcut or projection)


def _concat_equations(step: MergeStep) -> tuple[Equation, ...]:
    depths = [shape[0] for shape in _outputs(step)]
    names = " + ".join(
        f"D{str(index).translate(SUBSCRIPTS)}" for index in range(1, len(depths) + 1)
    )
    return (
        Equation(
            "D",
            names,
            " + ".join(factor(d) for d in depths),
            text(step.row.output_shape[0]),
            "branches are stacked along the depth; H×W must agree",
        ),
    )


def _elementwise_equations(step: MergeStep) -> tuple[Equation, ...]:
    row = step.row
    sign = "+" if row.kind == "add" else "×"
    shapes = f" {sign} ".join(volume(shape) for shape in _outputs(step))
    outputs = _outputs(step)
    squeeze = any(len(shape) == 3 and shape[1:] == (1, 1) for shape in outputs)
    note = (
        "element by element: the branches must have one shape"
        if row.kind == "add"
        else "broadcast: C×1×1 scales every pixel of each channel (squeeze-and-excitation)"
        if squeeze
        else "broadcast: a size of 1 repeats along its axis"
    )
    return (Equation("output", "", shapes, volume(row.output_shape), note), _ops_equation(row))


def _ops_equation(row: Row) -> Equation:
    return Equation(
        f"{row.kind} ops",
        "one per output element",
        "·".join(factor(d) for d in row.output_shape),
        text(row.ops.get(row.kind, 0)),
    )


def _residual_equations(step: MergeStep, no_bias: bool | str) -> tuple[Equation, ...]:
    """The shortcut (identity, free; or a projection, with why it is needed and its cost),
    then the shape check of the add."""
    row = step.row
    body, shortcut = step.branches
    entering, body_shape = _entering(step), _branch_output(body, row.output_shape)
    if not shortcut:
        first = Equation(
            "shortcut",
            "",
            "identity",
            "0 parameters",
            f"the input {volume(entering)} already has the body's shape: x is added as it is",
        )
    else:
        first = _projection_equation(shortcut[0], entering, body_shape, no_bias)
    check = Equation(
        "output",
        "F(x) + shortcut(x)",
        f"{volume(body_shape)} + {volume(_branch_output(shortcut, entering))}",
        volume(row.output_shape),
        "the shapes agree, so the add is element by element",
    )
    return (first, check, _ops_equation(row))


def _projection_equation(
    group: Step, entering: tuple[Any, ...], body_shape: tuple[Any, ...], no_bias: bool | str
) -> Equation:
    """``shortcut = 1×1 conv, S = 2 + batchnorm = 8,192 + 256 = 8,448 parameters`` and why."""
    assert isinstance(group, GroupStep)
    parts = [child.row for child in group.steps if isinstance(child, LayerStep)]
    amounts = [counted_params(part, no_bias) for part in parts]
    total = counted_total(_leaf_rows(group.steps), no_bias)
    working = " + ".join(text(amount) for amount in amounts) if len(parts) > 1 else ""
    return Equation(
        "shortcut",
        " + ".join(_layer_name(part) for part in parts),
        working,
        f"{text(total)} parameters",
        f"a projection, because {_mismatch(entering, body_shape)}; "
        f"it costs {text(group.row.macs)} MACs",
    )


def _layer_name(row: Row) -> str:
    """``1×1 conv, S = 2`` for a window layer; the kind for the rest."""
    axes = row.details.get("axes")
    if axes is None:
        return row.kind
    height, width = axes
    size = f"{text(height.kernel)}×{text(width.kernel)}"
    stride = (
        text(width.stride)
        if height.stride == width.stride
        else (f"{text(height.stride)}×{text(width.stride)}")
    )
    return f"{size} {row.kind}" + (f" (S = {stride})" if stride != "1" else "")


def _mismatch(entering: tuple[Any, ...], body_shape: tuple[Any, ...]) -> str:
    """Why the input cannot be added as it is: ``the body changes the depth 64 → 128 and
    the size 56×56 → 28×28``."""
    changes = []
    if len(entering) != len(body_shape):
        return f"the body turns {volume(entering)} into {volume(body_shape)}"
    if entering[0] != body_shape[0]:
        changes.append(f"the depth {text(entering[0])} → {text(body_shape[0])}")
    if tuple(entering[1:]) != tuple(body_shape[1:]):
        before = "×".join(factor(d) for d in entering[1:])
        after = "×".join(factor(d) for d in body_shape[1:])
        changes.append(f"the size {before} → {after}")
    if not changes:
        return "the spec asks for one although the shapes agree"
    return "the body changes " + " and ".join(changes)


def _totals(analysis: Analysis, no_bias: bool | str) -> Iterator[Fact]:
    totals = analysis.totals
    layers = analysis.layers
    params = counted_total(layers, no_bias) if no_bias else totals.params
    yield Fact(
        "parameters",
        text(params),
        DROPPED[bias_rule(no_bias)]
        if no_bias
        else f"{text(totals.weights)} weights + {text(totals.biases)} biases",
    )
    conv = sum(counted_params(row, no_bias) for row in layers if _category(row) == "conv")
    dense = sum(counted_params(row, no_bias) for row in layers if _category(row) == "linear")
    if isinstance(params, int) and params and isinstance(conv, int) and isinstance(dense, int):
        yield Fact("in conv layers", f"{text(conv)} ({100 * conv / params:.1f}%)")
        yield Fact("in FC layers", f"{text(dense)} ({100 * dense / params:.1f}%)")
        other = params - conv - dense
        if other:
            yield Fact(
                "in other layers",
                f"{text(other)} ({100 * other / params:.1f}%)",
                (
                    "batchnorm/layernorm scales"
                    if bias_rule(no_bias) == "all"
                    else "batchnorm/layernorm scales and shifts"
                )
                + (", layer scales γ" if any(row.kind == "scale" for row in layers) else ""),
            )
    yield Fact("MACs", text(totals.macs), "conv + linear multiply-accumulates, biases not included")
    yield Fact("FLOPs", text(totals.flops), "2 × MACs")
    yield Fact(
        "depth",
        f"{totals.depth} weight layers",
        "the longest chain of conv/linear layers from input to output; pooling, "
        "normalisation and activations have no weights of their own and are not counted",
    )
    if len(analysis.outputs) > 1:
        shapes = ", ".join(f"{row.path} {volume(row.output_shape)}" for row in analysis.outputs)
        yield Fact("outputs", shapes, "the tensors the network returns (outputs:)")
    else:
        yield Fact("output", volume(analysis.output_shape))
    sizes = final_field(analysis.rows)
    if sizes:
        yield Fact(
            "receptive field",
            "×".join(text(size) for size in sizes),
            "what one pixel of the last spatial map sees of the input",
        )
    if analysis.valid_from:
        yield Fact(
            "valid for", bounds_text(analysis.valid_from), "the smallest input every layer accepts"
        )
    if analysis.exact is not None:
        yield Fact("exact for", sizes_text(analysis.exact), dropping_text(analysis.exact))
        if analysis.exact.outputs:
            shapes = ", ".join(volume(shape) for shape in analysis.exact.outputs)
            yield Fact("exact output", shapes, "the output at those sizes")
        if analysis.exact.macs is not None:
            yield Fact("exact MACs", text(analysis.exact.macs), "the MACs at those sizes")


def _category(row: Row) -> str:
    """The layer's category as its kind states it (merges and groups have none)."""
    kind = KINDS.get(row.kind)
    return kind.category if kind is not None else ""


def _conventions(no_bias: bool | str) -> Iterator[str]:
    yield "Volumes are written H×W×D as in the notes; cnncalc's tables write C×H×W."
    yield "Output sizes use PyTorch's floor division (ceil_mode rounds up)."
    if no_bias:
        rule = bias_rule(no_bias)
        yield f"Parameters: {DROPPED[rule]}."
        other = "all" if rule == "weight_layers" else "weight_layers"
        yield f"The other convention: {DROPPED[other]}."
    else:
        yield "Parameters include biases; batchnorm running statistics are buffers."
    yield "MACs count conv and linear multiply-accumulates per image; FLOPs = 2 × MACs."


def as_number(value: Any) -> str:
    return arith.as_text(value, thousands=True)


def _step_input_field(step: Step) -> tuple[Any, ...]:
    """The receptive field entering a step (a merge row records only its own output's)."""
    if isinstance(step, MergeStep):
        if step.input_field:
            return step.input_field
        for branch in step.branches:
            if branch:
                return _step_input_field(branch[0])
    if isinstance(step, ReadStep):
        return step.row.receptive_field
    return step.row.receptive_field_in


def _largest_branch(
    row: Row,
    axis: int,
    label: str,
    branches: list[tuple[tuple[str, str], tuple[Any, ...], tuple[bool, ...]]],
) -> Equation:
    """``r_out = max(r₁, r₂) = max(27, 43) = 43``; each branch is (symbol and name, its field,
    whether it is broadcast from 1 along H and along W). Offset windows are worked as the
    span they cover together."""
    size, jump, start = row.receptive_field[axis]
    fields = [(name, field[axis], broadcast[axis]) for (_, name), field, broadcast in branches]
    symbols = [symbol for (symbol, _), _, _ in branches]
    taken = next(((name, wide) for name, field, wide in fields if field[0] == size), None)
    carried = next(
        (name for name, field, wide in fields if not wide and field[1:] == (jump, start)),
        fields[0][0],
    )
    if len(branches) == 1:
        note = f"{fields[0][0]} carries its jump {text(jump)} and start {text(start)}"
        return Equation(f"r_out{label}", symbols[0], "", text(size), note)
    if taken is None:  # offset windows: together they reach further than any one
        sliding = [(name, field) for name, field, wide in fields if not wide]
        starts = ", ".join(f"{name} {text(field[2])}" for name, field in sliding)
        return Equation(
            f"r_out{label}",
            "end − start of the branches' windows together",
            f"{factor(arith.normalize(start + size))} − ({text(start)})",
            text(size),
            f"the windows are offset (starts: {starts}), so together they see more than "
            f"either; jump {text(jump)}",
        )
    if taken[1]:
        note = (
            f"the largest is {taken[0]}, broadcast from 1: its pool sees the whole extent, "
            f"and it scales every pixel; the jump {text(jump)} and start {text(start)} carry "
            f"on from {carried}"
        )
    else:
        note = (
            f"the largest branch, {taken[0]}, is taken with its jump {text(jump)} "
            f"and start {text(start)}"
        )
    sizes = [factor(field[0]) for _, field, _ in fields]
    return Equation(
        f"r_out{label}",
        f"max({', '.join(symbols)})",
        f"max({', '.join(sizes)})",
        text(size),
        note,
    )


def _branch_label(branch: tuple[Step, ...], index: int, residual: bool) -> tuple[str, str]:
    """(the branch's symbol, its name): r_body, r_shortcut, or r₁, r₂… named in the note."""
    if residual:
        if not branch:
            return "r_shortcut", "the identity shortcut"
        first = branch[0]
        if len(branch) == 1 and isinstance(first, GroupStep) and first.row.kind == "shortcut":
            return "r_shortcut", "the projection shortcut"
        return "r_body", "the body"
    name = branch[0].row.name if len(branch) == 1 else "the identity" if not branch else "body"
    return "r" + str(index).translate(SUBSCRIPTS), name


def merge_receptive_field(step: MergeStep) -> tuple[Equation, ...]:
    """``r_out = max(r_body, r_shortcut) = max(27, 11) = 27``: a merged pixel sees what its
    largest branch sees, and that branch's jump and start carry on. A branch broadcast from
    1×1 (squeeze-and-excitation) counts for the size (its global pool sees the whole map), but
    the jump and start are those of the full-resolution branches, as in the engine."""
    row = step.row
    if not row.receptive_field or len(row.output_shape) != 3:
        return ()
    residual = _is_residual(step)
    entering = step.input_field or next(
        (_step_input_field(b[0]) for b in step.branches if b), row.receptive_field
    )
    branches = []
    for index, branch in enumerate(step.branches, start=1):
        field = branch[-1].row.receptive_field if branch else entering
        shape = _branch_output(branch, _entering(step))
        if field:
            broadcast = tuple(
                len(shape) == 3 and shape[axis + 1] != row.output_shape[axis + 1]
                for axis in range(2)
            )
            branches.append((_branch_label(branch, index, residual), field, broadcast))
    if not branches:
        return ()
    return tuple(_largest_branch(row, axis, label, branches) for axis, label in field_axes(row))


# which step of a layer's working answers each kind of claim (the last one present)
CLAIMED_STEPS = {
    "output": ("output", "N"),
    "params": ("parameters", "weights"),
    "weights": ("parameters", "weights"),
    "macs": ("MACs",),
    "flops": ("MACs",),
    "receptive_field": ("r_out", "r_out (W)", "r_out (H)"),
}

SHAPE_STEPS = ("W_out", "H_out", "D_out", "D")

# which fact of the totals answers each claim on the totals
CLAIMED_FACTS = {
    "output": "output",
    "params": "parameters",
    "macs": "MACs",
    "flops": "FLOPs",
    "depth": "depth",
    "receptive_field": "receptive field",
}


NAMED_CLAIMS = ("weights", "flops")
"""Claims marked on a step that shows another figure (the weights on the parameters line, the
FLOPs on the MACs line): the mark says which figure was claimed."""


def verdict(claim: Claim, named: bool = False) -> str:
    """``✓ claimed 55x55x96``, or ``✗ claimed 62.3M (≈ 62.4M)``: the step shows the answer;
    ``✓ claimed weights 34,848`` (``named``) where the step shows another figure."""
    what = f"{claim.key} " if named else ""
    if claim.ok:
        return f"✓ claimed {what}{claim.claimed}"
    rounded = f" ({claim.note})" if claim.note.startswith("≈") else ""
    return f"✗ claimed {what}{claim.claimed}{rounded}"


def _claims_by_path(claims: Iterable[Claim]) -> dict[str, tuple[Claim, ...]]:
    grouped: dict[str, list[Claim]] = {}
    for claim in claims:
        grouped.setdefault(claim.path, []).append(claim)
    return {path: tuple(items) for path, items in grouped.items()}


def _judged(work: LayerWork, claims: tuple[Claim, ...], no_bias: bool | str = False) -> LayerWork:
    """The layer's working with each claim marked on the step that answers it; a claim no
    step answers (a block's subtotal) gets a line of its own."""
    if not claims:
        return work
    equations = list(work.explanation.equations)
    for claim in claims:
        names = CLAIMED_STEPS[claim.key]
        index = max((i for i, eq in enumerate(equations) if eq.name in names), default=None)
        if index is None and claim.key == "output":
            # the claim is about the whole volume: say it once the sizes are worked out
            after = max((i for i, eq in enumerate(equations) if eq.name in SHAPE_STEPS), default=-1)
            line = Equation("output", "", "", volume(work.row.output_shape), verdict=verdict(claim))
            equations.insert(after + 1, line)
        elif index is None:
            equations.append(Equation(claim.key, "", "", claim.actual, verdict=verdict(claim)))
        else:
            equation = equations[index]
            # under --no-bias the parameters line shows the weights; a params claim is judged
            # with the biases, so the mark says so
            biased = drops_bias(work.row.kind, no_bias) and claim.key == "params"
            mark = verdict(claim, named=claim.key in NAMED_CLAIMS or biased)
            if biased:
                mark += f" (params with biases: {as_number(work.row.params)})"
            marks = f"{equation.verdict}; {mark}" if equation.verdict else mark
            equations[index] = replace(equation, verdict=marks)
    return replace(work, explanation=replace(work.explanation, equations=tuple(equations)))


def _judged_totals(
    facts: Iterable[Fact], claims: tuple[Claim, ...], no_bias: bool | str
) -> Iterator[Fact]:
    """The totals with each claim on them marked; ``weights`` is the parameters fact under
    --no-bias, and a fact of its own otherwise."""
    facts = list(facts)
    for claim in claims:
        label = CLAIMED_FACTS.get(claim.key)
        if claim.key == "weights":
            every_bias = bias_rule(no_bias) == "all"  # then the parameters fact is the weights
            label = "parameters" if every_bias else "weights"
            if not every_bias and all(fact.label != "weights" for fact in facts):
                facts.insert(1, Fact("weights", claim.actual, "parameters without biases"))
        index = next((i for i, fact in enumerate(facts) if fact.label == label), None)
        if index is None:
            facts.append(Fact(claim.key, claim.actual, verdict=verdict(claim)))
            continue
        fact = facts[index]
        mark = verdict(claim, named=bool(no_bias) and claim.key == "params")
        if no_bias and claim.key == "params":
            mark += f" (params with biases: {claim.actual})"
        marks = f"{fact.verdict}; {mark}" if fact.verdict else mark
        facts[index] = replace(fact, verdict=marks)
    yield from facts
