"""The plan of an analysis → PyTorch source: module constructors and a ``forward``.

One generator serves the builder (which evaluates the constructors and runs the forward)
and the exporter (which writes them to a standalone file), so the model cnncalc verifies
is the model it exports. Nothing here imports torch.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import arith
from ..engine.plan import GroupStep, LayerStep, MergeStep, ReadStep, Step
from ..engine.result import Analysis, Row
from ..errors import CnncalcError
from ..layers import KINDS, TorchCode
from ..spec.parser import MODULE_ATTRIBUTES

RESERVED = frozenset(MODULE_ATTRIBUTES)
"""Names that cannot be plain attributes; the parser refuses them as layer names, and a
hand-made analysis still gets ``self._modules[...]`` for them."""

TAKEN_CLASS_NAMES = ("F", "nn", "torch", "math")
"""Names the exported file imports: the class must not shadow them."""


class BuildError(CnncalcError):
    """The spec cannot be turned into a PyTorch module (e.g. symbolic input)."""


def error_text(error: Exception, limit: int | None = None) -> str:
    """``RuntimeError: mat1 and mat2 ...``: an exception's type and first line (cut to
    ``limit`` characters), without torch's multi-line context."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:limit]}" if lines else type(error).__name__


class LayerBuildError(BuildError):
    """PyTorch, or a layer kind's builder, refused a layer the engine accepted: not a bad
    spec but a disagreement between cnncalc and PyTorch, which ``verify`` reports as one."""

    def __init__(self, path: str, code: str, error: Exception) -> None:
        self.path = path
        self.code = code
        """The constructor PyTorch was given ('' when the builder itself failed)."""
        self.reason = error_text(error)
        given = f" ({code})" if code else ""
        super().__init__(f"PyTorch could not build layer '{path}'{given}: {self.reason}")


@dataclass
class Module:
    """A module to construct: its path and constructor expression."""

    path: str
    source: str


@dataclass
class Program:
    """What the generator produced: modules, the forward body, and the class name."""

    class_name: str
    modules: list[Module]
    forward: list[str]
    tree: dict[str, Any] = field(default_factory=dict)
    """Nested names → constructor source (leaves) or sub-dicts (groups with modules)."""


def class_name(name: str) -> str:
    """``ResNet-18 (torchvision)`` → ``ResNet18Torchvision``: a valid Python class name."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    text = "".join(word[:1].upper() + word[1:] for word in words) or "Net"
    if not text[0].isalpha():
        return f"Net{text}"
    return f"{text}Net" if text in TAKEN_CLASS_NAMES else text


def torch_code(row: Row) -> TorchCode:
    try:
        return KINDS[row.kind].torch_code(
            row.values, row.input_shape, row.output_shape, row.details
        )
    except CnncalcError:
        raise
    except Exception as error:  # a builder's bug is reported with its layer, not as a traceback
        raise LayerBuildError(row.path, "", error) from error


def generate(analysis: Analysis, trace: bool = False, regions: bool = False) -> Program:
    """Modules and forward statements for a numeric analysis.

    ``regions``: wrap each layer's statement in ``with _region(path):`` (the builder binds
    ``_region`` to ``torch.profiler.record_function``), so a profiler attributes every op,
    merges and inline functions included, to its spec layer. Off by default: the forward is
    then exactly what it was, at no cost."""
    if analysis.symbolic:
        symbols = ", ".join(analysis.symbols)
        raise BuildError(
            f"the input has symbols ({symbols}): a PyTorch model needs numbers; "
            "give --input, e.g. --input 3x224x224"
        )
    program = Program(class_name(analysis.name), [], [])
    for row, code in _module_layers(analysis.steps):
        program.modules.append(Module(row.path, code.module or ""))
        _insert(program.tree, row.path.split("."), code.module or "")
    heads = [row.path for row in analysis.training_outputs]
    writer = _Forward(trace, _read_paths(analysis), regions, heads)
    if "" in writer.saved:
        writer.lines.append(f"{writer.saved['']} = x  # the input, read later")
    result = writer.emit(analysis.steps, "x", "x")
    program.forward = [*writer.lines, *writer.returns(analysis, result)]
    return program


def _read_paths(analysis: Analysis) -> list[str]:
    """The outputs read later (``from:``) or returned (``outputs:``): each keeps a variable."""
    paths = [row.path for row in analysis.outputs]
    stack: list[tuple[Step, ...]] = [analysis.steps]
    while stack:
        for step in stack.pop():
            if isinstance(step, ReadStep):
                paths.append(step.path)
            elif isinstance(step, GroupStep):
                stack.append(step.steps)
            elif isinstance(step, MergeStep):
                stack.extend(step.branches)
    return list(dict.fromkeys(paths))


def _makes(step: Step, path: str) -> bool:
    """Whether ``step`` makes the row at ``path`` (itself or a layer inside it)."""
    if isinstance(step, ReadStep):
        return False
    if step.row.path == path:
        return True
    if isinstance(step, GroupStep):
        return any(_makes(inner, path) for inner in step.steps)
    if isinstance(step, MergeStep):
        return any(_makes(inner, path) for branch in step.branches for inner in branch)
    return False


def _module_layers(steps: tuple[Step, ...]) -> Iterator[tuple[Row, TorchCode]]:
    for step in steps:
        if isinstance(step, LayerStep):
            code = torch_code(step.row)
            if code.module is not None:
                yield step.row, code
        elif isinstance(step, GroupStep):
            yield from _module_layers(step.steps)
        elif isinstance(step, MergeStep):
            for branch in step.branches:
                yield from _module_layers(branch)


def _insert(tree: dict[str, Any], parts: list[str], source: str) -> None:
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
    tree[parts[-1]] = source


def attribute(name: str) -> bool:
    """Whether a top-level name can be a plain attribute (``self.conv1``)."""
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and name not in RESERVED
    )


def reference(path: str) -> str:
    """``self.layer1["0"]["conv1"]`` for the module at ``path``."""
    first, *rest = path.split(".")
    head = f"self.{first}" if attribute(first) else f"self._modules[{first!r}]"
    return head + "".join(f"[{part!r}]" for part in rest)


def _variables(paths: Sequence[str]) -> dict[str, str]:
    """A variable per path: ``layer1.0.conv2`` → ``t_layer1_0_conv2`` (the input: ``t_input``)."""
    names: dict[str, str] = {}
    for path in paths:
        base = "t_" + (re.sub(r"\W", "_", path) if path else "input")
        name, number = base, 1
        while name in names.values():
            number += 1
            name = f"{base}_{number}"
        names[path] = name
    return names


def shape_comment(row: Row) -> str:
    return "×".join(arith.as_text(dim) for dim in row.output_shape)


def _module_is_last(call: str) -> bool:
    """Whether the module call is the whole expression: ``{m}(F.pad({x}, ...))`` yes,
    ``{m}({x}.permute(...)).permute(...)`` no."""
    if not call.startswith("{m}("):
        return False
    depth = 0
    for position, char in enumerate(call[3:], start=3):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return position == len(call) - 1
    return False


class _Forward:
    """Writes forward statements; each branch gets a fresh variable, each output read later
    a variable named after its path (``t_enc1``), each training-only head an ``if``."""

    def __init__(
        self,
        trace: bool,
        read: Sequence[str] = (),
        regions: bool = False,
        head_outputs: Sequence[str] = (),
    ) -> None:
        self.trace = trace
        self.regions = regions
        self.lines: list[str] = []
        self.count = 0
        self.saved = _variables(read)
        self.heads: list[str] = []
        """The variables of the training-only heads' outputs, in order."""
        self.head_outputs = list(head_outputs)
        """The paths of the rows the training-only heads end with, in order."""

    def returns(self, analysis: Analysis, result: str) -> list[str]:
        """``return x``; with ``outputs:`` a tuple; in training, the heads' outputs too."""
        outputs = [self.saved[row.path] for row in analysis.outputs] or [result]
        main = outputs[0] if len(outputs) == 1 else f"({', '.join(outputs)})"
        if not self.heads:
            return [f"return {main}"]
        every = ", ".join([*outputs, *self.heads])
        return ["if self.training:", f"    return ({every})", f"return {main}"]

    def fresh(self) -> str:
        self.count += 1
        return f"h{self.count}"

    def emit(self, steps: tuple[Step, ...], source: str, target: str) -> str:
        """Statements for ``steps`` reading ``source``; returns the variable holding the result."""
        current = source
        position = 0
        while position < len(steps):
            step = steps[position]
            position += 1
            if isinstance(step, ReadStep):
                current = self.saved[step.path]
                continue
            if step.row.training_only and not self.inside_head:
                # a head's `then:` items follow its group as steps of their own: the head
                # runs on to the step that makes its output
                end = position - 1
                while (
                    self.head_outputs
                    and end + 1 < len(steps)
                    and not _makes(steps[end], self.head_outputs[0])
                ):
                    end += 1
                self.head(steps[position - 1 : end + 1], current)
                position = end + 1
                continue
            if isinstance(step, GroupStep):
                if step.steps:
                    self.lines.append(f"# {step.row.path} ({step.row.kind})")
                current = self.emit(step.steps, current, target)
            elif isinstance(step, LayerStep):
                current = self.layer(step.row, current, target)
            else:
                current = self.merge(step, current, target)
            if step.row.path in self.saved and current != self.saved[step.row.path]:
                self.lines.append(f"{self.saved[step.row.path]} = {current}")
        return current

    inside_head = False

    def head(self, steps: tuple[Step, ...], source: str) -> None:
        """A training-only head: its statements under ``if self.training:``."""
        outer, self.lines = self.lines, []
        self.inside_head = True
        try:
            result = self.emit(steps, source, f"aux{len(self.heads) + 1}")
        finally:
            self.inside_head = False
            body, self.lines = self.lines, outer
        self.lines.append(f"if self.training:  # {steps[0].row.path}: a training-only head")
        self.lines += [f"    {line}" for line in body]
        self.heads.append(result)
        if self.head_outputs:
            self.head_outputs.pop(0)

    def layer(self, row: Row, source: str, target: str) -> str:
        code = torch_code(row)
        module = reference(row.path) if code.module is not None else ""
        expression = code.call.format(m=module, x=source)
        # a hook sees the module's output; record the layer's when the call does more
        inline = code.module is None or not _module_is_last(code.call)
        self.statement(row, f"{target} = {expression}", target, inline)
        return target

    def merge(self, step: MergeStep, source: str, target: str) -> str:
        outputs = [self.emit(branch, source, self.fresh()) for branch in step.branches]
        if step.row.kind == "concat":
            expression = f"torch.cat([{', '.join(outputs)}], dim=1)"
        else:
            expression = f" {'+' if step.row.kind == 'add' else '*'} ".join(outputs)
        self.statement(step.row, f"{target} = {expression}", target, True)
        return target

    def statement(self, row: Row, text: str, target: str, record: bool) -> None:
        if self.trace:
            self.lines.append(f"self._at = {row.path!r}")
        if self.regions:
            self.lines.append(f"with _region({row.path!r}):")
            text = f"    {text}"
        self.lines.append(f"{text}  # {row.path}: {shape_comment(row)}")
        if self.trace and record:
            self.lines.append(f"self._record({row.path!r}, {target})")
