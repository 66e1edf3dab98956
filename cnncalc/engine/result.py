"""The analysis as plain frozen data: rows per layer and per group, totals, warnings.

Renderers (table, JSON, CSV, Markdown, reports) only read this. Totals are computed in
one place, :func:`summarize`, from the layer rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import arith
from . import peers

OP_CATEGORIES = ("bias", "norm", "activation", "pooling", "add", "multiply", "interpolation")
"""Costs other than multiply-accumulates, counted separately (per sample × batch)."""


@dataclass(frozen=True)
class Row:
    """One layer (or merge) of the network, or a group (block, branch, repeat) with subtotals.

    Counts are exact ints (or symbolic expressions); MACs, ops, activations and the peer
    counts are for the whole batch; parameters and buffers are per model.
    """

    path: str
    name: str
    kind: str
    level: int
    input_shape: tuple[Any, ...]
    output_shape: tuple[Any, ...]
    weights: Any = 0
    biases: Any = 0
    buffers: Any = 0
    macs: Any = 0
    ops: Mapping[str, Any] = field(default_factory=dict)
    activation_elements: Any = 0
    peers: Mapping[str, Any] = field(default_factory=dict)
    """What each peer tool counts for this row, by the tool's name (:data:`.peers.PEERS`):
    operations for the whole batch (``fvcore``, ``flopcounter``, ``torchinfo``…), or
    parameters it adds per model (``keras``: batchnorm moving statistics)."""
    weight_layer: bool = False
    is_group: bool = False
    is_module: bool = True
    training_only: bool = False
    """Part of a training-only head (``training_only: true``): its parameters count, but
    inference MACs, activations and outputs leave it out."""
    depth: int = 0
    """Weight layers on the longest chain from the input to this row's output."""
    receptive_field: tuple[Any, ...] = ()
    """(size, jump, start) per spatial axis (H, W): the input window one output pixel sees,
    the distance between neighbouring windows, and where the first window begins."""
    receptive_field_in: tuple[Any, ...] = ()
    """The same for the layer's input: the recurrence's r_in, j_in, start_in."""
    values: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def params(self) -> Any:
        return arith.normalize(self.weights + self.biases)

    @property
    def flops(self) -> Any:
        """cnncalc's FLOPs: 2 per MAC (a multiply and an add)."""
        return arith.normalize(2 * self.macs)

    @property
    def padding(self) -> tuple[tuple[Any, Any], ...]:
        """The resolved (before, after) padding per spatial axis (H, then W) of a sliding
        window (conv, depthwise, pool): what ``same``/``same_tf``/``full`` came to. Empty for
        other layers."""
        axes = self.details.get("axes", ())
        return tuple((axis.pad_before, axis.pad_after) for axis in axes)

    @property
    def spatial_field(self) -> tuple[Any, ...]:
        """The receptive field of a C×H×W output; () for a flat one, which has none (the
        tables leave it blank, JSON gives [], a claim about it is wrong)."""
        return self.receptive_field if len(self.output_shape) == 3 else ()

    @property
    def other_ops(self) -> Any:
        return arith.normalize(sum(self.ops.get(name, 0) for name in OP_CATEGORIES))


def field_sizes(row: Row) -> tuple[Any, ...]:
    """The receptive-field size per spatial axis; () for a flat output."""
    return tuple(entry[0] for entry in row.spatial_field)


def final_field(rows: Iterable[Row]) -> tuple[Any, ...]:
    """The network's receptive field: the last layer with a spatial output's (a flat vector
    has none, and the layers after it only mix what that map already saw). Training-only
    heads are not the network's output, even when written last (FCN's aux head)."""
    for row in reversed([row for row in rows if not row.is_group and not row.training_only]):
        if field_sizes(row):
            return field_sizes(row)
    return ()


@dataclass(frozen=True)
class Totals:
    params: Any
    trainable_params: Any
    non_trainable_params: Any
    buffers: Any
    macs: Any
    flops: Any
    activation_elements: Any
    depth: int
    ops: Mapping[str, Any]
    weights: Any
    biases: Any
    peers: Mapping[str, Any]
    """Each peer tool's total, by its name (:data:`.peers.PEERS`): over the inference rows,
    or over every row for a tool that runs ``train()`` or counts parameters."""
    weight_layers: int
    layers: int
    training_only_params: Any = 0
    """Parameters of training-only heads (included in ``params``)."""


def _sum(values: Iterable[Any]) -> Any:
    total: Any = 0
    formulas = []
    for value in values:
        if isinstance(value, int):
            total += value
        else:
            formulas.append(value)
    if not formulas:
        return total
    # one sum of all the formulas: adding them one at a time rebuilt a growing sum each time
    return arith.exact_sum(total, formulas)


def summarize(rows: Iterable[Row], depth: int, training: bool = False) -> Totals:
    """The totals of the layer rows (groups are skipped: they are subtotals).

    Parameters count every layer; the per-sample costs of inference (MACs, ops,
    activations, the eval-mode peer counts) leave out training-only heads, which run in
    ``train()`` only, so fvcore's training count keeps them (:func:`.peers.total_counts`).
    ``training``: the subtotals of a training-only head, whose costs are all its own."""
    every = [row for row in rows if not row.is_group]
    whole = _whole_number_totals(every, depth, training)
    if whole is not None:
        return whole
    leaves = [row for row in every if training or not row.training_only]
    weights = _sum(row.weights for row in every)
    biases = _sum(row.biases for row in every)
    macs = _sum(row.macs for row in leaves)
    params = arith.normalize(weights + biases)
    return Totals(
        params=params,
        trainable_params=params,
        non_trainable_params=0,
        buffers=_sum(row.buffers for row in every),
        macs=macs,
        flops=arith.normalize(2 * macs),
        activation_elements=_sum(row.activation_elements for row in leaves),
        depth=depth,
        ops={name: _sum(row.ops.get(name, 0) for row in leaves) for name in OP_CATEGORIES},
        weights=weights,
        biases=biases,
        peers=peers.total_counts(every, leaves, _sum),
        weight_layers=sum(1 for row in leaves if row.weight_layer),
        layers=len(leaves),
        training_only_params=_sum(row.params for row in every if row.training_only),
    )


def _whole_number_totals(every: list[Row], depth: int, training: bool) -> Totals | None:
    """:func:`summarize` in one pass when every count is an ``int`` (a numeric analysis, and
    the validity search's probes), without a generator per column: a group's subtotals add
    up all the rows under it, at every level of nesting. None when a sum is a formula (an
    ``int`` plus a sympy expression is never an ``int``), and the general path sums it."""
    weights = biases = buffers = head_params = 0
    macs = activations = weight_layers = layers = 0
    ops = dict.fromkeys(OP_CATEGORIES, 0)
    over_every, over_inference = peers.summed_over()
    counts = {peer.name: 0 for peer in peers.PEERS}
    for row in every:
        weights += row.weights
        biases += row.biases
        buffers += row.buffers
        for name in over_every:
            counts[name] += row.peers[name]
        if type(weights) is not int:  # a linear layer after a symbolic flatten
            return None
        if row.training_only:
            head_params += row.weights + row.biases
            if not training:
                continue
        macs += row.macs
        activations += row.activation_elements
        if type(macs) is not int or type(activations) is not int:
            return None  # a symbolic analysis: the general path sums each column at once
        for name in over_inference:
            counts[name] += row.peers[name]
        for name, count in row.ops.items():
            if name in ops:
                ops[name] += count
        weight_layers += row.weight_layer
        layers += 1
    sums = (weights, biases, buffers, head_params, macs, activations)
    if any(type(value) is not int for value in (*sums, *counts.values(), *ops.values())):
        return None
    params = weights + biases
    return Totals(
        params=params,
        trainable_params=params,
        non_trainable_params=0,
        buffers=buffers,
        macs=macs,
        flops=2 * macs,
        activation_elements=activations,
        depth=depth,
        ops=ops,
        weights=weights,
        biases=biases,
        peers=counts,
        weight_layers=weight_layers,
        layers=layers,
        training_only_params=head_params,
    )


@dataclass(frozen=True)
class Warning_:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class Analysis:
    """Everything the engine found about one spec at one input size."""

    name: str
    file: str
    source: str | None
    input_shape: tuple[Any, ...]
    batch: int
    rows: tuple[Row, ...]
    totals: Totals
    warnings: tuple[Warning_, ...]
    symbols: tuple[str, ...] = ()
    published: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[Any, ...] = ()
    """The plan (:mod:`cnncalc.engine.plan`): layers, groups and merges in order."""
    claims: tuple[Any, ...] = ()
    """Claimed answers (``expect:``) judged right or wrong: :class:`.claims.Claim`."""
    outputs: tuple[Row, ...] = ()
    """The rows whose outputs the network returns, when the spec lists ``outputs:``
    (else the last layer's); training-only heads are not among them."""
    training_outputs: tuple[Row, ...] = ()
    """The training-only heads' rows, in spec order: ``train()`` returns them after the
    outputs."""
    valid_from: Mapping[str, int] = field(default_factory=dict)
    """For a symbolic input: the smallest size of each spatial symbol for which the formulas
    hold (every window fits, every output is at least 1): ``{"H": 32, "W": 32}``."""
    exact: Any = None
    """For a symbolic input: the sizes at which no layer drops a pixel, and the outputs
    there (:class:`.divisibility.Exactness`); None when every size is exact or no rule was
    found."""

    @property
    def layers(self) -> tuple[Row, ...]:
        """The layer (and merge) rows, without group rows."""
        return tuple(row for row in self.rows if not row.is_group)

    @property
    def groups(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.is_group)

    @property
    def output_shape(self) -> tuple[Any, ...]:
        """The (first) output's shape."""
        if self.outputs:
            return self.outputs[0].output_shape
        inference = [row for row in self.layers if not row.training_only]
        return inference[-1].output_shape if inference else self.input_shape

    @property
    def symbolic(self) -> bool:
        return bool(self.symbols)

    def row(self, path: str) -> Row:
        for row in self.rows:
            if row.path == path:
                return row
        raise KeyError(path)
