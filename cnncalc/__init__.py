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
    "load_spec",
    "parse_spec",
]
