"""The peer tools (fvcore, FlopCounterMode, torchinfo, Keras), each declared once.

A :class:`Peer` says everything cnncalc knows about one tool's count: its name (the key of
``Cost.peers``, ``Row.peers`` and ``Totals.peers``, and the name of its ``--convention``),
what it counts in words, the count of a layer whose kind states none (:attr:`Peer.default`:
fvcore counts a layer's MACs, FlopCounterMode 2 × MACs), whether it counts per sample or
per model, whether it runs the model in ``train()``, how its total reconciles with cnncalc's
MACs, its key in the JSON ``compatibility`` object, and how ``cnncalc verify`` measures it
in PyTorch (:class:`Measure`).

A layer kind states only where a tool departs from that default, in ``Cost.peers``
(batchnorm: ``{"fvcore": 2·C·H·W, "fvcore_training": 5·C·H·W, "keras": 2·C}``). The engine
fills every peer's count on every row (:func:`layer_counts`), :func:`summarize
<cnncalc.engine.result.summarize>` sums them, and the conventions, renderers and ``verify``
read them from :data:`PEERS` when they run. **Adding a peer tool is adding one** ``Peer``
**to** :data:`PEERS` (and, in their ``Cost.peers``, the deviations of the layer kinds it
counts otherwise than its default); no other code names the tools (tests/test_peers.py puts a
toy tool there and follows it to the totals, its convention, the JSON and ``verify``).

Nothing here imports torch: the :class:`Measure` functions import the tools inside.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .. import arith

if TYPE_CHECKING:
    from ..layers.base import Cost
    from .result import Analysis, Row


@dataclass(frozen=True)
class Measure:
    """How ``cnncalc verify`` measures a peer's total on the model built in PyTorch."""

    tool: str
    """The package that counts (``fvcore``, ``torchinfo``): what ``verify(peers=...)``
    selects, and the skip's name when it is not installed. ``torch``: PyTorch's own counter,
    which always runs."""
    method: str
    """What runs, as the check names it: ``FlopCountAnalysis, model.train(), batch 2``."""
    total: Callable[[Run], tuple[int, int | None]]
    """The tool's total on a :class:`Run` (a model and its input), and the parameters it
    reports (None when it reports none)."""
    train: bool = False
    """Run the model in ``train()`` on a batch of :data:`TRAINING_BATCH` (a training-mode
    batchnorm needs more than one value per channel)."""
    real_tensors: bool = True
    """The tool needs real tensors (on the CPU, or the GPU asked for); False: it runs on the
    device ``verify`` uses, the meta device included."""


TRAINING_BATCH = 2
"""The batch a ``train()`` measurement runs on."""


@dataclass
class Run:
    """What a :attr:`Measure.total` runs on: the model (in the mode its measure asks) and an
    input batch."""

    model: Any
    inputs: Any
    flop_counts: dict[str, int] | None = None
    """FlopCounterMode's counts by module (``"Global"``: the total) for this very run, when
    ``verify`` has them from its own pass already: see :meth:`flop_total`."""

    def flop_total(self) -> int:
        """FlopCounterMode's total for this run (counted once: ``verify``'s own eval pass on
        the same model and input serves, where there is one)."""
        if self.flop_counts is None:
            import torch
            from torch.utils.flop_counter import FlopCounterMode

            counter = FlopCounterMode(display=False)
            with torch.no_grad(), counter:
                self.model(self.inputs)
            self.flop_counts = {"Global": int(counter.get_total_flops())}
        return self.flop_counts.get("Global", 0)


@dataclass(frozen=True)
class Peer:
    """One peer tool's count: declared here once, read everywhere by :attr:`name`."""

    name: str
    """The key of ``Cost.peers``/``Row.peers``/``Totals.peers`` and the convention's name."""
    title: str
    """The convention's title: ``fvcore FlopCountAnalysis``."""
    statement: str
    """What the tool counts, in words (printed with its convention)."""
    default: Callable[[Cost], Any]
    """A layer's count, per sample, when its kind does not state one in ``Cost.peers``."""
    compatibility_key: str
    """The key of its total in the JSON document's ``conventions.compatibility``."""
    counts: Literal["flops", "params"] = "flops"
    """``flops``: an operation count per sample (scaled by the batch; training-only heads
    left out unless :attr:`train`), the figure of its convention's FLOPs column. ``params``:
    parameters the tool adds per model (Keras' batchnorm moving statistics), counted over
    every layer; its convention's FLOPs are cnncalc's 2 × MACs."""
    train: bool = False
    """The tool runs the model in ``train()``: training-only heads count."""
    label: str = "FLOPs"
    """The header of its convention's FLOPs column (or, for ``params``: the tool's name in
    ``params (Keras)``)."""
    reconcile_label: str = ""
    """How the reconciliation line names the tool's total: ``fvcore (training mode)``."""
    note: str = ""
    """What the tool adds to cnncalc's MACs, in brief (the reconciliation's parenthesis)."""
    reconcile: Callable[[Analysis, Peer], str] | None = None
    """A reconciliation line of its own; None: ``<label> T = MACs M + <kind> x + … (note)``."""
    measure: Measure | None = None
    """How ``verify`` checks the total in PyTorch; None: not checked (no such tool here)."""

    def count(self, cost: Cost) -> Any:
        """The layer's count per sample: what its kind states, else :attr:`default`."""
        stated = cost.peers.get(self.name)
        return self.default(cost) if stated is None else stated

    @property
    def per_sample(self) -> bool:
        return self.counts == "flops"

    def reconciliation(self, analysis: Analysis) -> str:
        """One line: how this tool's total relates to cnncalc's MACs."""
        if self.reconcile is not None:
            return self.reconcile(analysis, self)
        extra = _by_kind(analysis, lambda row: arith.normalize(row.peers[self.name] - row.macs))
        total = arith.as_text(analysis.totals.peers[self.name], True)
        macs = arith.as_text(analysis.totals.macs, True)
        return f"{self.reconcile_label} {total} = MACs {macs}{extra} ({self.note})"


def _by_kind(analysis: Analysis, amount: Callable[[Row], Any]) -> str:
    """`` + batchnorm x + upsample y``: an amount per row, summed by layer kind."""
    parts: dict[str, Any] = defaultdict(int)
    for row in analysis.layers:
        value = amount(row)
        if value != 0:
            parts[row.kind] = arith.normalize(parts[row.kind] + value)
    return "".join(f" + {kind} {arith.as_text(value, True)}" for kind, value in parts.items())


# ------------------------------------------------------------------ the measurements


def _fvcore_total(run: Run) -> tuple[int, int | None]:
    from fvcore.nn import FlopCountAnalysis

    counter = FlopCountAnalysis(run.model, run.inputs)
    counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(counter.total()), None


def _flop_counter_total(run: Run) -> tuple[int, int | None]:
    return run.flop_total(), None


def _torchinfo_total(run: Run) -> tuple[int, int | None]:
    import torchinfo

    device = str(run.inputs.device)
    result = torchinfo.summary(run.model, input_data=run.inputs, verbose=0, device=device)
    return int(result.total_mult_adds), int(result.total_params)


# ---------------------------------------------------------------- the reconciliations


def _reconcile_doubled(analysis: Analysis, peer: Peer) -> str:
    totals = analysis.totals
    return (
        f"{peer.reconcile_label} {arith.as_text(totals.peers[peer.name], True)} = 2 × MACs "
        f"{arith.as_text(totals.macs, True)} ({peer.note})"
    )


def _reconcile_added_params(analysis: Analysis, peer: Peer) -> str:
    totals = analysis.totals
    added = totals.peers[peer.name]
    return (
        f"{peer.reconcile_label} {arith.as_text(arith.normalize(totals.params + added), True)} "
        f"= cnncalc params {arith.as_text(totals.params, True)} + {peer.note} "
        f"{arith.as_text(added, True)} (non-trainable)"
    )


def _macs(cost: Cost) -> Any:
    return cost.macs


# (plain ints skip arith.normalize: a default is computed for every layer of every analysis)


def _double_macs(cost: Cost) -> Any:
    macs = cost.macs
    return 2 * macs if type(macs) is int else arith.normalize(2 * macs)


def _weight_and_bias_elements(cost: Cost) -> Any:
    weights, biases = cost.weights, cost.biases
    if type(weights) is int and type(biases) is int:
        return weights + biases
    return arith.normalize(weights + biases)


def _none(cost: Cost) -> Any:
    return 0


FVCORE = Peer(
    "fvcore",
    "fvcore FlopCountAnalysis",
    "fvcore: 1 per MAC for conv/linear/matmul; eval-mode batchnorm 2 per input element "
    "(1 without affine); layernorm 5; adaptive average pooling 1 per input element; "
    "upsampling 1 (nearest) or 4 (bilinear) per output element; "
    "0 for max/avg pooling, spatial means (x.mean), bicubic upsampling, pixel "
    "shuffles, activations, adds and multiplies (layer scales included).",
    # fvcore's conv and matmul handles count one flop per multiply-accumulate
    default=_macs,
    compatibility_key="fvcore_flops",
    label="fvcore flops",
    reconcile_label="fvcore",
    note="eval-mode BN 2/element, layernorm 5/element, adaptive avg pool 1/input element; "
    "pooling, activations, adds and multiplies 0",
    measure=Measure("fvcore", "FlopCountAnalysis", _fvcore_total),
)

PEERS: tuple[Peer, ...] = (
    FVCORE,
    Peer(
        "fvcore_training",
        "fvcore FlopCountAnalysis, model in training mode",
        "fvcore with model.train(): as fvcore, but batchnorm counts 5 per input element "
        "(4 without affine), as its layernorm does.",
        # only batchnorm counts differently: it uses the batch's statistics in train()
        default=FVCORE.count,
        compatibility_key="fvcore_training_flops",
        train=True,
        label="fvcore flops (training)",
        reconcile_label="fvcore (training mode)",
        note="training-mode BN and layernorm 5/element, 4 without affine; adaptive avg pool "
        "1/input element; "
        "pooling, activations, adds and multiplies 0",
        measure=Measure(
            "fvcore",
            f"FlopCountAnalysis, model.train(), batch {TRAINING_BATCH}",
            _fvcore_total,
            train=True,
        ),
    ),
    Peer(
        "flopcounter",
        "torch.utils.flop_counter.FlopCounterMode",
        "FlopCounterMode: 2 per MAC for convolutions and matrix multiplies only (0 for "
        "upsampling, means and every other op).",
        default=_double_macs,
        compatibility_key="flopcounter_flops",
        label="FlopCounterMode flops",
        reconcile_label="FlopCounterMode",
        note="conv and matmul only",
        reconcile=_reconcile_doubled,
        measure=Measure("torch", "FlopCounterMode", _flop_counter_total, real_tensors=False),
    ),
    Peer(
        "torchinfo",
        "torchinfo mult-adds",
        "torchinfo: for Conv* modules (weights + bias) × output pixels; for other modules "
        "with parameters, their parameter count per sample; 0 for the rest.",
        # torchinfo adds up the elements of parameters named weight and bias (convs state
        # theirs: × output pixels)
        default=_weight_and_bias_elements,
        compatibility_key="torchinfo_mult_adds",
        label="mult-adds",
        reconcile_label="torchinfo mult-adds",
        note="conv: (weights + bias) × output pixels; other layers with parameters: their "
        "parameter count per sample",
        measure=Measure("torchinfo", "torchinfo mult-adds", _torchinfo_total),
    ),
    Peer(
        "keras",
        "Keras model.summary()",
        "Keras: parameters include batchnorm moving mean and variance as non-trainable "
        "(2·C per BN layer); FLOPs as cnncalc (2 × MACs).",
        default=_none,
        compatibility_key="keras_non_trainable_params",
        counts="params",
        label="Keras",
        reconcile_label="Keras params",
        note="BN moving mean/variance",
        reconcile=_reconcile_added_params,
    ),
)
"""Every peer tool, in the order the JSON ``compatibility`` object and ``verify`` list them."""


@dataclass(frozen=True)
class _Tables:
    """What the per-row work needs from :data:`PEERS`, computed once per value of it."""

    peers: tuple[Peer, ...]
    names: frozenset[str]
    defaults: tuple[tuple[str, Callable[[Cost], Any]], ...]
    per_sample: tuple[str, ...]


_tables: _Tables | None = None


def _current() -> _Tables:
    """The tables of :data:`PEERS` as it is now (read at every call, so that :data:`PEERS`
    stays the one place: a test may put a toy tool there and see it everywhere)."""
    global _tables
    if _tables is None or _tables.peers is not PEERS:
        _tables = _Tables(
            PEERS,
            frozenset(peer.name for peer in PEERS),
            tuple((peer.name, peer.default) for peer in PEERS),
            tuple(peer.name for peer in PEERS if peer.per_sample),
        )
    return _tables


def layer_counts(cost: Cost, batch: int) -> dict[str, Any]:
    """Every peer's count for one layer: per sample × ``batch``, or per model."""
    tables = _current()
    stated = cost.peers
    # a row is made per layer: the defaults first, then what the kind states
    counts = {name: default(cost) for name, default in tables.defaults}
    if stated:
        if not tables.names.issuperset(stated):
            unknown = ", ".join(sorted(set(stated) - tables.names))
            raise ValueError(f"Cost.peers names no peer tool: {unknown} (see cnncalc.engine.peers)")
        counts.update(stated)
    if batch != 1:
        for name in tables.per_sample:
            counts[name] = arith.normalize(counts[name] * batch)
    return counts


def summed_over() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The peers whose totals are over every row (a tool that runs ``train()`` or counts
    parameters), and those over the inference rows: :func:`total_counts`' rule, by name."""
    every = tuple(peer.name for peer in PEERS if peer.train or not peer.per_sample)
    inference = tuple(peer.name for peer in PEERS if peer.per_sample and not peer.train)
    return every, inference


def total_counts(
    every: Sequence[Row], inference: Sequence[Row], sum_of: Callable[[Iterable[Any]], Any]
) -> dict[str, Any]:
    """Every peer's total: over ``inference`` rows, or over ``every`` row (training-only heads
    included) for a tool that runs ``train()`` or counts parameters."""
    return {
        peer.name: sum_of(
            row.peers[peer.name]
            for row in (inference if peer.per_sample and not peer.train else every)
        )
        for peer in PEERS
    }
