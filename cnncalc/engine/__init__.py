"""Analysis: shapes, parameters, MACs and other costs, depth and receptive fields."""

from .analyse import MAX_LAYERS, analyse, input_dims
from .result import OP_CATEGORIES, Analysis, Row, Totals, Warning_

__all__ = [
    "MAX_LAYERS",
    "OP_CATEGORIES",
    "Analysis",
    "Row",
    "Totals",
    "Warning_",
    "analyse",
    "input_dims",
]
