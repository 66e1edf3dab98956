"""``cnncalc export``: a standalone PyTorch file (no cnncalc import), or ONNX.

The file holds one ``nn.Module`` class; nested spec paths become ``nn.ModuleDict``s so the
state_dict keys are the spec's paths, and ``forward`` carries a shape comment per line.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from .. import arith
from .build import build, to_analysis
from .codegen import BuildError, Program, attribute, error_text, generate

INDENT = "    "


def export_source(spec: Any, input_shape: Sequence[Any] | None = None) -> str:
    """The Python source of a standalone module equivalent to ``spec``."""
    analysis = to_analysis(spec, input_shape)
    program = generate(analysis, trace=False)
    totals = analysis.totals
    shape = "×".join(arith.as_text(dim) for dim in analysis.input_shape)
    output = "×".join(arith.as_text(dim) for dim in analysis.output_shape)
    header = [
        f'"""{analysis.name} — written by cnncalc from {analysis.file}.',
        "",
        f"Input {shape} (C×H×W) → {output}; {totals.params:,} parameters, "
        f"{totals.macs:,} MACs per sample.",
        "Standalone: needs only torch.",
        '"""',
        "",
        "import torch",
        *(["import torch.nn.functional as F"] if _uses_functional(program) else []),
        "from torch import nn",
        "",
        "",
        f"class {program.class_name}(nn.Module):",
        f'{INDENT}"""{analysis.name}: input {shape}."""',
        "",
        f"{INDENT}def __init__(self) -> None:",
        f"{INDENT * 2}super().__init__()",
    ]
    body = _init_lines(program)
    forward = [
        "",
        f"{INDENT}def forward(self, x: torch.Tensor) -> {_return_type(analysis)}:",
        f"{INDENT * 2}# x: N×{shape}",
        *(f"{INDENT * 2}{line}" for line in program.forward),
    ]
    dims = ", ".join(str(dim) for dim in analysis.input_shape)
    footer = [
        "",
        "",
        'if __name__ == "__main__":',
        f"{INDENT}model = {program.class_name}().eval()",
        f"{INDENT}print(sum(p.numel() for p in model.parameters()))  # {totals.params}",
        f"{INDENT}print({_shapes_of('model(torch.randn(1, ' + dims + '))', analysis)})",
        "",
    ]
    return "\n".join(header + body + forward + footer)


def _return_type(analysis: Any) -> str:
    """One tensor, or a tuple with several outputs or training-only heads."""
    if len(analysis.outputs) > 1 or analysis.training_outputs:
        return "tuple[torch.Tensor, ...] | torch.Tensor"
    return "torch.Tensor"


def _shapes_of(call: str, analysis: Any) -> str:
    if len(analysis.outputs) > 1:
        return f"[output.shape for output in {call}]"
    return f"{call}.shape"


def _uses_functional(program: Program) -> bool:
    """Whether the forward calls ``F.…`` (a pad, a pool done inline): import F only then, so
    the file passes a linter's unused-import check."""
    return any(re.search(r"\bF\.", line) for line in program.forward)


def _init_lines(program: Program) -> list[str]:
    lines = []
    for name, value in program.tree.items():
        text = _tree_source(value, 2)
        if attribute(name):
            lines.append(f"{INDENT * 2}self.{name} = {text}")
        else:
            lines.append(f"{INDENT * 2}self.add_module({name!r}, {text})")
    return lines


def _tree_source(value: Any, depth: int) -> str:
    if isinstance(value, str):
        return value
    inner = INDENT * (depth + 1)
    entries = [
        f"{inner}{name!r}: {_tree_source(child, depth + 1)}," for name, child in value.items()
    ]
    return "nn.ModuleDict({\n" + "\n".join(entries) + f"\n{INDENT * depth}}})"


@contextlib.contextmanager
def _native_output_silenced() -> Iterator[None]:
    """Hold back what torch's C++ side writes to file descriptors 1 and 2 (on a failed
    export, the whole traced graph): cnncalc reports the failure in one line instead."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for descriptor in saved:
            os.close(descriptor)


def export_onnx(
    spec: Any, path: str | os.PathLike[str], input_shape: Sequence[Any] | None = None
) -> tuple[str, ...]:
    """Export through ``torch.onnx`` (needs the onnx package), for a fixed input shape.

    Returns the exporter's warnings that may concern the user, one line each; the ones
    about its own workings (see :func:`_exporter_noise`) are dropped."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        raise BuildError("ONNX export needs the onnx package: pip install 'cnncalc[onnx]'")
    import torch

    analysis = to_analysis(spec, input_shape)
    model = build(analysis, device="cpu").eval()
    example = torch.randn(1, *analysis.input_shape)
    try:
        with warnings.catch_warnings(record=True) as caught, _native_output_silenced():
            warnings.simplefilter("always")
            # the TorchScript exporter needs only onnx (the dynamo one also needs onnxscript)
            torch.onnx.export(
                model,
                (example,),
                os.fspath(path),
                dynamo=False,
                input_names=["input"],
                output_names=[row.path for row in analysis.outputs] or ["output"],
            )
    except Exception as error:  # report, don't crash
        # torch's messages may append the whole traced graph: its first line says what failed
        raise BuildError(
            f"torch.onnx.export failed: {error_text(error, 300)} (the PyTorch module "
            "itself works: `cnncalc export --to torch` and `cnncalc verify` do not need ONNX)"
        ) from None
    notes = (_warning_line(caught_warning) for caught_warning in caught)
    return tuple(dict.fromkeys(note for note in notes if note is not None))


def _warning_line(caught: warnings.WarningMessage) -> str | None:
    """One line for a warning worth showing; None for the exporter's own noise."""
    if _exporter_noise(caught):
        return None
    lines = str(caught.message).strip().splitlines()
    name = caught.category.__name__
    return f"{name}: {lines[0]}" if lines else name


def _exporter_noise(caught: warnings.WarningMessage) -> bool:
    """Warnings that say nothing about the exported model:

    - deprecations of the TorchScript exporter itself (torch 2.13 prefers dynamo, which
      would need onnxscript);
    - "Constant folding ... not applied": an optimisation skipped, the graph is still
      exact (LRN's slices, for one);
    - TracerWarnings that a Python value is traced as a constant: cnncalc's layers branch
      on shapes only, never on data (F.local_response_norm's ``input.numel() == 0``), and
      the export is for one fixed input shape, so those values are constants.
    """
    if issubclass(caught.category, DeprecationWarning):
        return True
    text = str(caught.message)
    if text.startswith("Constant folding"):
        return True
    return caught.category.__name__ == "TracerWarning" and "treated as a constant" in text
