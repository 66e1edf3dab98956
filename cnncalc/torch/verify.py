"""``cnncalc verify``: every number of the engine checked against PyTorch itself.

The model is built on the meta device by default (no memory for weights or activations).
Forward hooks record each layer's output shape; parameters are counted with ``numel``;
MACs come from ``torch.utils.flop_counter.FlopCounterMode`` (halved). The compatibility
totals are checked against the real tools: FlopCounterMode, fvcore's FlopCountAnalysis
(on real CPU tensors) and torchinfo, when installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import arith
from ..engine import Analysis
from ..engine import peers as peer_tools
from ..engine.peers import Measure, Peer, Run
from .build import build, check_device, to_analysis
from .codegen import BuildError, LayerBuildError, error_text

PEERS = tuple(
    dict.fromkeys(
        peer.measure.tool
        for peer in peer_tools.PEERS
        if peer.measure is not None and peer.measure.tool != "torch"
    )
)
"""The peer tools ``verify`` runs besides PyTorch's own FlopCounterMode (which always runs):
``("fvcore", "torchinfo")``, from :data:`cnncalc.engine.peers.PEERS`."""


@dataclass(frozen=True)
class Check:
    """One comparison: what cnncalc says, what PyTorch (or a peer tool) says."""

    name: str
    expected: Any
    actual: Any

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class LayerCheck:
    path: str
    kind: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


@dataclass(frozen=True)
class ShapeDifference:
    """A layer whose output PyTorch shaped differently from the engine (batch first)."""

    path: str
    kind: str
    expected: tuple[int, ...]
    actual: tuple[int, ...]

    def __str__(self) -> str:
        return (
            f"layer '{self.path}' ({self.kind}): output shape cnncalc "
            f"{value_text(self.expected)} ≠ torch {value_text(self.actual)}"
        )


@dataclass(frozen=True)
class Failure:
    """PyTorch refused a model the engine accepted: building a layer (``stage`` "build")
    or running it (``stage`` "forward").

    A wrong shape rule often lets PyTorch run on and fail only at a later layer (a linear
    whose in_features no longer match), so the first layer whose recorded output differed
    from the engine's is kept with the crash: that layer is the one to look at.
    """

    stage: str
    path: str
    kind: str
    error: str
    code: str = ""
    """The constructor PyTorch refused (build failures)."""
    first_difference: ShapeDifference | None = None

    def __str__(self) -> str:
        if self.stage == "build":
            return f"PyTorch could not build layer '{self.path}' ({self.kind}): {self.error}"
        return f"PyTorch failed at layer '{self.path}' ({self.kind}): {self.error}"


@dataclass(frozen=True)
class Verification:
    analysis: Analysis
    device: str
    layers: tuple[LayerCheck, ...] = ()
    totals: tuple[Check, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    failure: Failure | None = None
    """A PyTorch failure the engine did not foresee, with the layer path."""

    @property
    def ok(self) -> bool:
        return (
            self.failure is None
            and all(layer.ok for layer in self.layers)
            and all(check.ok for check in self.totals)
        )

    @property
    def mismatches(self) -> list[Mismatch]:
        """Every disagreement: per layer, the first shape difference before a crash, totals."""
        found = [
            Mismatch(layer.path, check.name, check.expected, check.actual)
            for layer in self.layers
            for check in layer.checks
            if not check.ok
        ]
        difference = self.failure.first_difference if self.failure else None
        if difference is not None:
            found.append(Mismatch(difference.path, "shape", difference.expected, difference.actual))
        found += [
            Mismatch(None, check.name, check.expected, check.actual)
            for check in self.totals
            if not check.ok
        ]
        return found


@dataclass(frozen=True)
class Mismatch:
    """One disagreement; ``layer`` is None for a total."""

    layer: str | None
    check: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        where = f"{self.layer}: " if self.layer is not None else ""
        other = "torch " if self.layer is not None else ""
        return (
            f"{where}{self.check} cnncalc {value_text(self.expected)} ≠ "
            f"{other}{value_text(self.actual)}"
        )


def value_text(value: Any) -> str:
    """A shape as 1×64×56×56, a count as 61,706, a value not recorded as —."""
    if isinstance(value, tuple):
        return "×".join(str(item) for item in value)
    if value is None:
        return "—"
    return arith.as_text(value, thousands=True)


def verify(
    spec: Any,
    input_shape: Sequence[Any] | None = None,
    *,
    batch: int = 1,
    device: str = "meta",
    peers: Sequence[str] = PEERS,
) -> Verification:
    """Build ``spec`` in PyTorch on ``device`` and compare every layer and total.

    ``peers``: the peer tools to run as well (:data:`PEERS`); PyTorch's own FlopCounterMode
    always runs. Each peer's check is declared with its count, in :mod:`cnncalc.engine.peers`.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    check_device(device)
    analysis = to_analysis(spec, input_shape)
    if analysis.batch != 1:
        raise BuildError("verify analyses per sample; pass batch= to verify instead")
    try:
        model = build(analysis, device=device).eval()
    except LayerBuildError as error:  # a disagreement with PyTorch, not a bad spec
        kind = _kind_at(analysis, error.path)
        failure = Failure("build", error.path, kind, error.reason, error.code)
        return Verification(analysis, device, failure=failure)
    shapes = _record_shapes(model)
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(_input(analysis, batch, device))
    except Exception as error:  # report where PyTorch refused what the engine accepted
        return Verification(analysis, device, failure=_forward_failure(model, shapes, error, batch))
    flops = {key: sum(counts.values()) for key, counts in counter.get_flop_counts().items()}
    inference = [row for row in analysis.layers if not row.training_only]
    layers = tuple(_layer_checks(model, inference, shapes, flops, batch))
    run = _PeerRun(model, analysis, batch, device, flops)
    totals = [
        *_total_checks(model, analysis, flops, batch),
        *run.checks(lambda measure: measure.tool == "torch"),
    ]
    if analysis.training_outputs:
        try:
            heads, head_totals = _training_checks(model, analysis, shapes, device)
        except Exception as error:  # report where PyTorch refused the training-mode forward
            failure = _forward_failure(model, shapes, error, TRAINING_BATCH)
            return Verification(analysis, device, layers, tuple(totals), failure=failure)
        layers += heads
        totals += head_totals
    totals += run.checks(lambda measure: measure.tool != "torch" and measure.tool in peers)
    return Verification(analysis, device, layers, tuple(totals), tuple(run.skipped))


def _input(analysis: Analysis, batch: int, device: str) -> Any:
    import torch

    shape = (batch, *analysis.input_shape)
    if device == "meta":
        return torch.empty(shape, device="meta")
    return torch.randn(shape, device=device)


def _record_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """Forward hooks on every layer module, plus the builder's record of inline steps."""
    shapes: dict[str, tuple[int, ...]] = {}

    def hook_for(path: str) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            shapes[path] = tuple(output.shape)

        return hook

    for item in model.analysis.layers:
        if item.is_module and _has_module(model, item.path):
            model.get_submodule(item.path).register_forward_hook(hook_for(item.path))
    model.recorder = lambda path, tensor: shapes.__setitem__(path, tuple(tensor.shape))
    return shapes


def _forward_failure(
    model: Any, shapes: dict[str, tuple[int, ...]], error: Exception, batch: int
) -> Failure:
    analysis, at = model.analysis, model._at
    difference = _first_difference(analysis, shapes, at, batch)
    return Failure("forward", at, _kind_at(analysis, at), error_text(error), "", difference)


def _first_difference(
    analysis: Analysis, shapes: dict[str, tuple[int, ...]], failed_at: str, batch: int
) -> ShapeDifference | None:
    """The first layer, in the order PyTorch ran them, whose recorded output shape is not
    the engine's. The failing layer is left out: its record, if any, is a half-done step
    (the module's output before a permute), not the layer's."""
    rows = {row.path: row for row in analysis.layers}
    for path, actual in shapes.items():  # a dict keeps the order of the first record
        row = rows.get(path)
        if row is None or path == failed_at:
            continue
        expected = (batch, *row.output_shape)
        if actual != expected:
            return ShapeDifference(path, row.kind, expected, actual)
    return None


def _kind_at(analysis: Analysis, path: str) -> str:
    return next((row.kind for row in analysis.rows if row.path == path), "?")


def _has_module(model: Any, path: str) -> bool:
    try:
        model.get_submodule(path)
    except AttributeError:
        return False
    return True


def _layer_checks(
    model: Any,
    rows: Sequence[Any],
    shapes: dict[str, tuple[int, ...]],
    flops: dict[str, int],
    batch: int,
) -> list[LayerCheck]:
    prefix = type(model).__name__
    checks = []
    for row in rows:
        expected_shape = (batch, *row.output_shape)
        items = [Check("shape", expected_shape, shapes.get(row.path))]
        if _has_module(model, row.path):
            module = model.get_submodule(row.path)
            items.append(Check("params", row.params, sum(p.numel() for p in module.parameters())))
            measured = flops.get(f"{prefix}.{row.path}", 0)
            items.append(Check("MACs", row.macs * batch, measured // 2))
        else:
            items.append(Check("params", row.params, 0))
        checks.append(LayerCheck(row.path, row.kind, tuple(items)))
    return checks


TRAINING_BATCH = peer_tools.TRAINING_BATCH
"""A training-mode batchnorm needs more than one value per channel: a batch of 2."""


def _training_checks(
    model: Any, analysis: Analysis, shapes: dict[str, tuple[int, ...]], device: str
) -> tuple[tuple[LayerCheck, ...], list[Check]]:
    """``train()``: the training-only heads run; each of their layers is checked as in
    ``eval()``, and the model returns the outputs followed by the heads' outputs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    shapes.clear()
    counter = FlopCounterMode(display=False)
    model.train()
    try:
        with torch.no_grad(), counter:
            returned = model(_input(analysis, TRAINING_BATCH, device))
    finally:
        model.eval()
    flops = {key: sum(counts.values()) for key, counts in counter.get_flop_counts().items()}
    heads = [row for row in analysis.layers if row.training_only]
    layers = _layer_checks(model, heads, shapes, flops, TRAINING_BATCH)
    returned = returned if isinstance(returned, tuple) else (returned,)
    last = [row for row in analysis.layers if not row.training_only][-1:]
    outputs = [*(analysis.outputs or last), *analysis.training_outputs]
    expected = tuple((TRAINING_BATCH, *row.output_shape) for row in outputs)
    macs = arith.normalize(analysis.totals.macs + sum(row.macs for row in heads))
    totals = [
        Check(
            "train() outputs",
            ", ".join(value_text(shape) for shape in expected),
            ", ".join(value_text(tuple(item.shape)) for item in returned),
        ),
        Check(
            "MACs in train() (FlopCounterMode / 2)",
            macs * TRAINING_BATCH,
            flops.get("Global", 0) // 2,
        ),
    ]
    return tuple(layers), totals


def _total_checks(model: Any, analysis: Analysis, flops: dict[str, int], batch: int) -> list[Check]:
    totals = analysis.totals
    return [
        Check("params", totals.params, sum(p.numel() for p in model.parameters())),
        Check("buffers", totals.buffers, sum(b.numel() for b in model.buffers())),
        Check("MACs (FlopCounterMode / 2)", totals.macs * batch, flops.get("Global", 0) // 2),
    ]


def _fits_in_memory(analysis: Analysis, batch: int, device: str = "cpu") -> bool:
    """Real tensors for the peers: weights + every activation, with room to spare (in the
    GPU's free memory when they run on CUDA, else in the host's)."""
    needed = 4 * (
        analysis.totals.params
        + analysis.totals.buffers
        + batch * analysis.totals.activation_elements
    )
    import torch

    if torch.device(device).type == "cuda":
        try:
            free, _total = torch.cuda.mem_get_info(torch.device(device))
        except Exception:  # no usable GPU: let the build say so
            return True
        return needed < free // 4
    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        available = 4 * 2**30
    return needed < available // 4


class _PeerRun:
    """The peer measurements of one ``verify``: the model on real tensors is built once, when
    the first tool that needs it runs, and a tool that fails or is absent is skipped once."""

    def __init__(
        self, model: Any, analysis: Analysis, batch: int, device: str, flops: dict[str, int]
    ) -> None:
        self.model, self.analysis, self.batch, self.device = model, analysis, batch, device
        self.flops = flops
        """FlopCounterMode's counts of verify's own pass (eval mode, on ``device``)."""
        self.real_device = "cpu" if device == "meta" else device
        self.real_model: Any = None
        self.skipped: list[tuple[str, str]] = []

    def checks(self, chosen: Callable[[Measure], bool]) -> list[Check]:
        """The checks of every peer whose measurement ``chosen`` selects, in :data:`PEERS`
        order; a tool that cannot run is reported in :attr:`skipped`, never raised."""
        found: list[Check] = []
        for peer in peer_tools.PEERS:
            measure = peer.measure
            if measure is None or not chosen(measure) or self._skipped(measure.tool):
                continue
            try:
                found += self._measure(peer, measure)
            except _Skip as skip:
                self.skipped.append((skip.name, skip.reason))
            except Exception as error:  # the tool (or torch under it) gave up
                reason = f"{measure.tool} failed: {error_text(error, 200)}"
                self.skipped.append((measure.tool, reason))
        return found

    def _skipped(self, tool: str) -> bool:
        return any(name == tool for name, _reason in self.skipped)

    def _measure(self, peer: Peer, measure: Measure) -> list[Check]:
        import importlib.util

        if measure.tool != "torch" and importlib.util.find_spec(measure.tool) is None:
            raise _Skip(
                measure.tool, f"{measure.tool} is not installed (pip install 'cnncalc[peers]')"
            )
        batch = TRAINING_BATCH if measure.train else self.batch
        model, device = self._model(peer, measure, batch)
        # verify's own pass was this very run: its FlopCounterMode counts serve again
        own_pass = not measure.real_tensors and not measure.train
        run = Run(model, _input(self.analysis, batch, device), self.flops if own_pass else None)
        model.train(measure.train)
        try:
            counted, params = measure.total(run)
        finally:
            model.eval()
        totals = self.analysis.totals
        checks = [
            Check(
                f"{peer.name} convention = {measure.method}",
                arith.normalize(totals.peers[peer.name] * batch),
                counted,
            )
        ]
        if params is not None:
            checks.append(Check(f"params = {measure.tool} total params", totals.params, params))
        return checks

    def _model(self, peer: Peer, measure: Measure, batch: int) -> tuple[Any, str]:
        if not measure.real_tensors:
            return self.model, self.device
        if not _fits_in_memory(self.analysis, batch, self.real_device):
            where = (
                "the GPU's free memory" if "cuda" in self.real_device else "this machine's memory"
            )
            name = measure.tool if peer.name == measure.tool else peer.name
            raise _Skip(name, f"the model is too large to run with real tensors in {where}")
        if self.real_model is None:
            self.real_model = build(self.analysis, device=self.real_device).eval()
        return self.real_model, self.real_device


class _Skip(Exception):
    """A peer measurement that cannot run here, with the reason (named by tool or peer)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self.name, self.reason = name, reason
