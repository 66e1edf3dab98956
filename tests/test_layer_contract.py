"""The layer contract, checked over the registry: every kind states each part itself, its
worked equations evaluate to what they say and agree with its row, and its receptive field
is the set of input pixels PyTorch's autograd says an output depends on.

The hand-worked layer of each kind comes from ``tests/test_layers.py``'s ``CASES``.
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from pathlib import Path

import pytest

from cnncalc.engine.biases import counted_params
from cnncalc.layers import KINDS, LayerKind
from cnncalc.layers.base import FIELD_RULES
from cnncalc.report.worked import layer_explanation

from .conftest import ROOT, analyse_text, one_layer
from .test_layers import CASES

SHAPE_STEPS = {"W_out": 2, "H_out": 1, "D_out": 0}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_states_its_own_contract(kind):
    """No part of a kind is inherited from a default that could claim something false."""
    definition = KINDS[kind]
    assert definition.receptive_field in FIELD_RULES
    for method in ("infer", "explain", "torch_code"):
        assert getattr(type(definition), method) is not getattr(LayerKind, method), method
    if definition.receptive_field == "gathered":
        assert type(definition).gathered_terms is not LayerKind.gathered_terms
    assert definition.summary


def _number(text: str) -> Fraction | None:
    """``(28 − 5 + 2·2)/1 + 1`` → 28 exactly; None for words."""
    source = text.replace("·", "*").replace("−", "-").replace("×", "*").replace(",", "")
    source = re.sub(r"(\d+)", r"Fraction(\1)", source)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant,
               ast.operator, ast.unaryop, ast.Load)  # fmt: skip
    if not all(isinstance(node, allowed) for node in ast.walk(tree)):
        return None
    if any(isinstance(node, ast.Name) and node.id != "Fraction" for node in ast.walk(tree)):
        return None
    return eval(compile(tree, "working", "eval"), {"Fraction": Fraction})


def _worked(kind: str, no_bias: bool | str = False):
    layer, input_shape, *_ = CASES[kind]
    row = one_layer(layer, input_shape)
    return row, layer_explanation(row, no_bias)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("no_bias", [False, True, "all"])
def test_worked_equations_evaluate_to_their_results_and_agree_with_the_row(kind, no_bias):
    row, explanation = _worked(kind, no_bias)
    for equation in explanation.equations:
        value, result = _number(equation.working), _number(equation.result)
        if value is not None and result is not None:
            # an output size divides with PyTorch's floor (or ceil_mode's ceil)
            assert result in (value, value.__floor__(), value.__ceil__()), equation
        if equation.name in SHAPE_STEPS and equation.working != "likewise":
            assert result == row.output_shape[SHAPE_STEPS[equation.name]], equation
        if equation.name == "parameters":
            assert result == counted_params(row, no_bias), equation
        if equation.name == "weights":
            assert result == row.weights, equation
        if equation.name == "MACs":
            assert result == row.macs, equation
        if equation.name == "N":
            assert result == row.output_shape[0], equation
        if equation.name.startswith(("r_out", "j_out")):
            axis = 0 if equation.name.endswith("(H)") else 1
            size, jump, _ = row.receptive_field[axis]
            assert result == (size if equation.name.startswith("r_out") else jump), equation
    if row.params or row.macs:
        names = {equation.name for equation in explanation.equations}
        assert names & {"parameters", "weights"} and ("MACs" in names or not row.macs), names


def test_a_pointwise_working_cannot_claim_an_unchanged_shape_that_changed():
    from cnncalc.layers.explain import unchanged

    row = one_layer("conv: {filters: 4, kernel: 3}", "[1, 8, 8]")
    with pytest.raises(ValueError, match="must state its own working"):
        unchanged(row, "conv")


# ------------------------------------------------------------------ receptive field


torch = pytest.importorskip("torch")


def _positive(model):
    """Positive weights (no gradient cancels), max pools as average pools (a max routes its
    gradient to one pixel per window)."""
    for parameter in model.parameters():
        # about 1/fan-in each, so no activation saturates (a saturated one has no gradient)
        fan_in = parameter[0].numel() if parameter.dim() > 1 else 1
        parameter.data.uniform_(0.5, 1.0).div_(fan_in)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.MaxPool2d):
                replacement = torch.nn.AvgPool2d(
                    child.kernel_size, child.stride, child.padding, child.ceil_mode
                )
                setattr(module, name, replacement)
            elif isinstance(child, torch.nn.AdaptiveMaxPool2d):
                setattr(module, name, torch.nn.AdaptiveAvgPool2d(child.output_size))
    return model


def _band(count):
    """The outputs examined along one axis: both ends and 4 around the centre (every phase
    of a stride up to 4), not all of them: a backward pass each."""
    centre = range(max(0, count // 2 - 2), min(count, count // 2 + 2))
    return sorted({0, count - 1, *centre})


def _widest_support(analysis, model):
    """The most input pixels (per axis) an output pixel depends on, over the examined outputs."""
    image = torch.rand(1, *analysis.input_shape, dtype=torch.double) + 0.5
    image.requires_grad_(True)
    output = model(image)
    widest = [0, 0]
    for row_index in _band(output.shape[2]):
        for column in _band(output.shape[3]):
            (gradient,) = torch.autograd.grad(
                output[0, :, row_index, column].sum(), image, retain_graph=True
            )
            seen = gradient.abs().sum(dim=(0, 1))
            for axis in (0, 1):
                line = (seen.sum(dim=1) if axis == 0 else seen.sum(dim=0)).nonzero().flatten()
                if len(line):
                    widest[axis] = max(widest[axis], int(line.max() - line.min()) + 1)
    return widest


def _spatial_kinds():
    return sorted(
        kind for kind, case in CASES.items() if len(case[2]) == 3 and case[1].count(",") == 2
    )


@pytest.mark.parametrize("kind", _spatial_kinds())
def test_receptive_field_is_what_autograd_says_an_output_sees(kind):
    """A spatial map (a 3×3 conv stem, so every pixel already sees a 3×3 field), then the
    kind's hand-worked layer: the field the engine gives is the widest support of any of its
    outputs in the input (clipped to the image)."""
    import cnncalc

    layer, input_shape, *_ = CASES[kind]
    channels, height, width = (int(item) for item in input_shape.strip("[]").split(","))
    if height * width > 16 * 16:  # the hand-worked sizes of the notes: scaled down here
        height = width = 13
    stem = f"conv: {{filters: {channels}, kernel: 3, padding: 1}}"
    analysis = analyse_text(
        f"name: rf\ninput: [{channels}, {height}, {width}]\nlayers:\n  - {stem}\n  - {layer}\n"
    )
    row = analysis.layers[-1]
    model = _positive(cnncalc.build(analysis)).double().eval()
    widest = _widest_support(analysis, model)
    expected = [
        _clipped_widest(row.receptive_field[axis], _band(row.output_shape[axis + 1]), limit)
        for axis, limit in ((0, height), (1, width))
    ]
    assert widest == expected, (kind, row.receptive_field)


def _clipped_widest(field, outputs, limit):
    """The widest window (size, jump, start) puts on the image over the examined outputs,
    each window clipped to the image's 0 … limit − 1."""
    size, jump, start = field
    widest = 0
    for index in outputs:
        first = (start + index * jump).__floor__()
        last = first + size - 1
        widest = max(widest, min(last, limit - 1) - max(first, 0) + 1)
    return widest


# ------------------------------------------------------------------ package graph


def _package_imports() -> dict[str, set[str]]:
    """Which top-level parts of cnncalc each part imports (relative imports only; a part is
    a subpackage or a top-level module)."""
    root = ROOT / "cnncalc"
    edges: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        source = parts[0]
        folder = list(path.relative_to(root).parent.parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = folder[: len(folder) - (node.level - 1)] if node.level > 1 else folder
                module = [*base, *(node.module.split(".") if node.module else [])]
                targets = [module[0]] if module else [alias.name for alias in node.names]
                edges.setdefault(source, set()).update(t for t in targets if t != source)
    return edges


def test_the_package_graph_is_a_dag():
    """No loop between cnncalc's parts (layers/ once imported spec/ for its expressions
    while spec/ imported layers/: it worked only by import order)."""
    edges = _package_imports()
    state: dict[str, str] = {}

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", " → ".join((*trail, node))
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if target != "__init__":  # `from .. import __version__`: the package's own root
                visit(target, (*trail, node))
        state[node] = "done"

    for node in sorted(edges):
        visit(node, ())
    assert Path(ROOT / "cnncalc" / "expr.py").exists()
