"""cnncalc — exact shapes, parameters, MACs/FLOPs and worked solutions for CNNs.

>>> import cnncalc
>>> result = cnncalc.analyse_file("specs/alexnet.yaml")
>>> result.totals.params
62378344
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .engine import Analysis, Row, Totals, analyse
from .errors import CnncalcError, SpecError
from .spec import Spec, load_spec, parse_spec

__version__ = "0.1.0"


def analyse_file(
    path: str | os.PathLike[str], input_shape: Sequence[Any] | None = None, batch: int = 1
) -> Analysis:
    """Load and analyse a spec file in one step."""
    return analyse(load_spec(path), input_shape, batch)


_LAZY = {
    # name: (module, attribute) — imported on first use, so `import cnncalc` stays light
    # and only the PyTorch functions import torch
    "build": ("cnncalc.torch.build", "build"),
    "verify": ("cnncalc.torch.verify", "verify"),
    "export_source": ("cnncalc.torch.export", "export_source"),
    "export_onnx": ("cnncalc.torch.export", "export_onnx"),
    "worked_report": ("cnncalc.report.worked", "worked_report"),
    "memory_report": ("cnncalc.engine.memory", "memory_report"),
    "find_savings": ("cnncalc.engine.savings", "find_savings"),
    "compare": ("cnncalc.engine.compare", "compare"),
    # visualise: the model of a spec or checkpoint, and what it attends to (cnncalc.visualise)
    "saliency": ("cnncalc.visualise", "saliency"),
    "grad_cam": ("cnncalc.visualise", "grad_cam"),
    "occlusion": ("cnncalc.visualise", "occlusion"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'cnncalc' has no attribute '{name}'")


__all__ = [
    "Analysis",
    "CnncalcError",
    "Row",
    "Spec",
    "SpecError",
    "Totals",
    "__version__",
    "analyse",
    "analyse_file",
    "build",
    "compare",
    "export_onnx",
    "export_source",
    "find_savings",
    "grad_cam",
    "load_spec",
    "memory_report",
    "occlusion",
    "parse_spec",
    "saliency",
    "verify",
    "worked_report",
]
