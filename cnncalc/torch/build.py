"""``cnncalc.build``: a spec as a real ``nn.Module`` (torch is imported here, lazily).

Modules are named by their spec paths (``layer1.0.conv1``), nested in ``nn.ModuleDict``s,
so the state_dict of a torchvision-equivalent spec has torchvision's keys.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..engine import Analysis, analyse
from ..spec import Spec, load_spec
from .codegen import BuildError, LayerBuildError, Program, attribute, generate


def to_analysis(
    spec: Spec | Analysis | str | os.PathLike[str], input_shape: Sequence[Any] | None = None
) -> Analysis:
    """Accept a spec file, a loaded spec or an analysis."""
    if isinstance(spec, Analysis):
        return spec
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    return analyse(spec, input_shape)


def torch_namespace() -> dict[str, Any]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    return {"torch": torch, "nn": nn, "F": F}


def check_device(device: Any) -> None:
    """Refuse a CUDA device up front when this PyTorch has none (not blaming a layer)."""
    import torch

    cuda = device is not None and torch.device(device).type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise BuildError(
            f"device '{device}' asked for, but CUDA is not available to this PyTorch "
            f"({torch.__version__}): use --device cpu or --device meta"
        )


def build(
    spec: Spec | Analysis | str | os.PathLike[str],
    input_shape: Sequence[Any] | None = None,
    *,
    device: Any = None,
    regions: bool = False,
) -> Any:
    """The spec as an ``nn.Module`` (on ``device``: ``"meta"`` allocates nothing).

    ``regions=True`` runs each spec layer inside a ``torch.profiler.record_function`` range
    named by its path (for ``cnncalc.profile``); off, the forward has no such code."""
    import torch

    check_device(device)
    analysis = to_analysis(spec, input_shape)
    program = generate(analysis, trace=True, regions=regions)
    namespace = torch_namespace()
    if regions:
        namespace["_region"] = region_type()
    with torch.device(device or "cpu"):
        modules = {
            item.path: construct(item.path, item.source, namespace) for item in program.modules
        }
        model = _model_class(program, namespace)()
        _attach(model, program.tree, modules, namespace["nn"])
    model.analysis = analysis
    return model


def region_type() -> Any:
    """A context manager that opens a named profiler range: the C++ ``_RecordFunctionFast``
    (torch ≥ 2.1; what Inductor uses, a few times cheaper than the Python
    ``record_function``, and free when no profiler runs), else ``record_function``."""
    import torch

    fast = getattr(torch._C._profiler, "_RecordFunctionFast", None)
    return fast if fast is not None else torch.profiler.record_function


def construct(path: str, source: str, namespace: dict[str, Any]) -> Any:
    try:
        return eval(source, namespace)  # source comes from the layer kinds, not the user
    except Exception as error:  # torch refused a layer the engine accepted
        raise LayerBuildError(path, source, error) from None


def _model_class(program: Program, namespace: dict[str, Any]) -> type:
    nn = namespace["nn"]
    body = "\n".join(f"    {line}" for line in program.forward)
    source = f"def forward(self, x):\n{body}\n"
    scope: dict[str, Any] = dict(namespace)
    exec(compile(source, f"<cnncalc {program.class_name}.forward>", "exec"), scope)

    def record(self: Any, path: str, tensor: Any) -> None:
        if self.recorder is not None:
            self.recorder(path, tensor)

    def initialise(self: Any) -> None:
        nn.Module.__init__(self)
        self.recorder = None
        self._at = ""

    attributes = {
        "__init__": initialise,
        "forward": scope["forward"],
        "_record": record,
        "forward_source": source,
    }
    return type(program.class_name, (nn.Module,), attributes)


def _attach(model: Any, tree: dict[str, Any], modules: dict[str, Any], nn: Any) -> None:
    for name, value in tree.items():
        try:
            child = _tree_module(name, value, modules, nn)
            if attribute(name):
                setattr(model, name, child)
            else:
                model.add_module(name, child)
        except Exception as error:  # a name torch will not take, though the parser did
            raise LayerBuildError(name, "", error) from None


def _tree_module(path: str, value: Any, modules: dict[str, Any], nn: Any) -> Any:
    if isinstance(value, str):
        return modules[path]
    return nn.ModuleDict(
        {name: _tree_module(f"{path}.{name}", child, modules, nn) for name, child in value.items()}
    )


__all__ = ["BuildError", "LayerBuildError", "build", "check_device", "to_analysis"]
