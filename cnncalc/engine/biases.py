"""Which biases ``--no-bias`` leaves out of the parameter counts, exactly.

Exam answers often count weights only. Two conventions are in use, and a report says which:

- ``weight_layers`` (``--no-bias``, the common exam convention): the biases of conv, depthwise,
  transposed conv and linear layers are dropped; batchnorm's and layernorm's shift β stays,
  as a parameter of the normalisation;
- ``all`` (``--no-bias-all``): every bias, β included (what "weights only" means to some
  notes: every additive parameter is left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import arith
from ..layers import KINDS

BIAS_RULES = ("weight_layers", "all")

DROPPED = {
    "weight_layers": "conv and linear biases left out; batchnorm/layernorm β kept (--no-bias)",
    "all": "every bias left out: conv and linear biases and batchnorm/layernorm β (--no-bias-all)",
}


def bias_rule(no_bias: bool | str) -> str:
    """'' (biases counted), 'weight_layers' or 'all'; True means the exam convention."""
    if no_bias is True:
        return "weight_layers"
    if not no_bias:
        return ""
    if no_bias not in BIAS_RULES:
        known = ", ".join(BIAS_RULES)
        raise ValueError(f"unknown bias rule '{no_bias}' (choose from {known})")
    return str(no_bias)


def drops_bias(kind: str, no_bias: bool | str) -> bool:
    """Whether a layer of ``kind`` has its biases left out under ``no_bias``."""
    rule = bias_rule(no_bias)
    if rule == "all":
        return True
    definition = KINDS.get(kind)
    return bool(rule) and definition is not None and definition.weight_layer


def counted_params(row: Any, no_bias: bool | str) -> Any:
    """A layer's parameters as the rule counts them."""
    if drops_bias(row.kind, no_bias):
        return row.weights
    return row.params


def counted_rows(rows: Iterable[Any], no_bias: bool | str) -> dict[str, Any]:
    """Every row's parameters as the rule counts them, by path: a group's is the sum of the
    layers inside it."""
    rows = list(rows)
    leaves = [row for row in rows if not row.is_group]
    counted = {row.path: counted_params(row, no_bias) for row in leaves}
    for row in rows:
        if row.is_group:
            inside = [leaf for leaf in leaves if leaf.path.startswith(row.path + ".")]
            counted[row.path] = counted_total(inside, no_bias)
    return counted


def counted_total(rows: Iterable[Any], no_bias: bool | str) -> Any:
    """The parameters of layer rows (leaves) as the rule counts them."""
    total: Any = 0
    for row in rows:
        total = total + counted_params(row, no_bias)
    return arith.normalize(total)
