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
    "read_dataset": ("cnncalc.train.datasets", "read_dataset"),
    "load_weights": ("cnncalc.train.transfer", "load_weights"),
    "replace_head": ("cnncalc.train.transfer", "replace_head"),
    "freeze": ("cnncalc.train.transfer", "freeze"),
    # cnncalc.train is the training package, and calling it trains (cnncalc/train/__init__.py)
    "train": ("cnncalc.train", ""),
    "evaluate": ("cnncalc.train.api", "evaluate"),
    "predict": ("cnncalc.train.api", "predict"),
    "load_checkpoint": ("cnncalc.train.checkpoint", "load_checkpoint"),
    "generate_quiz": ("cnncalc.quiz", "generate"),
    "grade_quiz": ("cnncalc.quiz", "grade"),
    "profile": ("cnncalc.profile", "profile"),
    # visualise: the model of a spec or checkpoint, and what it attends to (cnncalc.visualise)
    "saliency": ("cnncalc.visualise", "saliency"),
    "grad_cam": ("cnncalc.visualise", "grad_cam"),
    "occlusion": ("cnncalc.visualise", "occlusion"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        imported = importlib.import_module(module)
        return getattr(imported, attribute) if attribute else imported
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
    "evaluate",
    "export_onnx",
    "export_source",
    "find_savings",
    "freeze",
    "generate_quiz",
    "grad_cam",
    "grade_quiz",
    "load_checkpoint",
    "load_spec",
    "load_weights",
    "memory_report",
    "occlusion",
    "parse_spec",
    "predict",
    "profile",
    "read_dataset",
    "replace_head",
    "saliency",
    "train",
    "verify",
    "worked_report",
]
