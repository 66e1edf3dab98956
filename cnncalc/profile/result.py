"""What ``cnncalc.profile`` measured, as plain frozen data (renderers only read this).

Times are seconds per call, rates per second; counts (FLOPs, bytes, MACs) are exact ints
from the engine for the whole batch. Nothing here imports torch.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field

VERDICTS = ("compute-bound", "memory-bound", "overhead-bound")

ABOVE_ROOF_TOLERANCE = 1.05
"""A layer faster than its roof by more than timing noise (5%) is flagged: a counting or
timing error (or data served from cache), never a win."""


@dataclass(frozen=True)
class Environment:
    """What the numbers were measured on and with (the header)."""

    device: str
    device_name: str
    threads: int
    cudnn_benchmark: bool | None
    cudnn_tf32: bool | None
    matmul_tf32: bool | None
    versions: Mapping[str, str]
    platform: str


@dataclass(frozen=True)
class Settings:
    dtype: str
    train: bool
    optimizer: str
    channels_last: bool
    compile: str | None
    batches: tuple[int, ...]
    repeats: int
    warmup: int
    layer_repeats: int
    layer_batch: int


@dataclass(frozen=True)
class Roof:
    """The peaks a layer is measured against, per math mode, and where they come from."""

    device_name: str
    flops: Mapping[str, float]
    """Peak FLOP/s per math mode (``fp32``, ``tf32``, ``fp16``, ``bf16``) that can run."""
    bandwidth: float
    """Peak memory bandwidth, bytes/s."""
    overhead_s: float
    """Measured cost of one near-empty op (dispatch + launch): the floor under every op."""
    source: str
    calibrated: bool


@dataclass(frozen=True)
class Timing:
    """End-to-end latency at one batch size: ``samples`` are seconds per call, each the mean
    of ``runs_per_sample`` back-to-back calls."""

    batch: int
    samples: tuple[float, ...]
    runs_per_sample: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Interquartile range of the samples (0 for fewer than 2)."""
        if len(self.samples) < 2:
            return 0.0
        quartiles = statistics.quantiles(self.samples, n=4, method="inclusive")
        return quartiles[2] - quartiles[0]

    @property
    def throughput(self) -> float:
        """Images per second at the median latency."""
        return self.batch / self.median


@dataclass(frozen=True)
class Memory:
    """Peak memory of one measured call beside the engine's estimate, in bytes."""

    batch: int
    measure: str
    """``cuda`` (allocator peaks) or ``rss`` (peak resident-set growth of the process)."""
    peak_allocated: int | None
    peak_reserved: int | None
    rss_growth: int | None
    estimate: int
    estimate_parts: Mapping[str, int]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class LayerProfile:
    """One spec layer: the engine's exact counts beside its measured time."""

    path: str
    kind: str
    macs: int
    flops: int
    """Arithmetic: 2 per MAC plus the other ops (bias, norm, activation, pooling, merges)."""
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    forward_s: float
    backward_s: float | None
    ops: int
    """Ops (CPU) or kernels (CUDA) the layer ran in one forward."""
    math: str
    peak_flops: float
    bandwidth: float
    overhead_s: float

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def achieved_flops(self) -> float:
        return self.flops / self.forward_s if self.forward_s > 0 else 0.0

    @property
    def achieved_bandwidth(self) -> float:
        return self.bytes / self.forward_s if self.forward_s > 0 else 0.0

    @property
    def peak_share(self) -> float:
        """Achieved FLOP/s as a share of the layer's peak."""
        return self.achieved_flops / self.peak_flops if self.peak_flops else 0.0

    @property
    def bounds(self) -> dict[str, float]:
        """The least time each resource allows: compute, memory traffic, per-op overhead."""
        return {
            "compute-bound": self.flops / self.peak_flops if self.peak_flops else 0.0,
            "memory-bound": self.bytes / self.bandwidth if self.bandwidth else 0.0,
            "overhead-bound": self.ops * self.overhead_s,
        }

    @property
    def verdict(self) -> str:
        """The resource whose bound is the longest (the roofline model with an overhead
        floor): what limits this layer at best."""
        bounds = self.bounds
        return max(VERDICTS, key=lambda name: bounds[name])

    @property
    def roof_s(self) -> float:
        """The least time compute and memory traffic allow."""
        return max(self.bounds["compute-bound"], self.bounds["memory-bound"])

    @property
    def above_roof(self) -> bool:
        """Measured faster than the roof allows: a counting or timing error (or data reused
        from cache), never a win."""
        return self.forward_s > 0 and self.roof_s > self.forward_s * ABOVE_ROOF_TOLERANCE

    @property
    def backward_ratio(self) -> float | None:
        """Backward time / forward time (the usual rule: about 2 for weight layers)."""
        if self.backward_s is None or self.forward_s <= 0:
            return None
        return self.backward_s / self.forward_s


@dataclass(frozen=True)
class SpecProfile:
    """One spec's measurements."""

    name: str
    file: str
    input_shape: tuple[int, ...]
    total_macs: int
    timings: tuple[Timing, ...]
    memory: tuple[Memory, ...]
    layers: tuple[LayerProfile, ...]
    profiled_forward_s: float
    """The forward's wall time under the profiler, with every layer's region."""
    profiled_backward_s: float | None
    attribution: str
    """``record_function`` (profiler regions per spec layer) or ``hooks`` (the fallback)."""

    @property
    def layer_forward_s(self) -> float:
        return sum(layer.forward_s for layer in self.layers)

    @property
    def layer_backward_s(self) -> float | None:
        if self.profiled_backward_s is None:
            return None
        return sum(layer.backward_s or 0.0 for layer in self.layers)

    @property
    def unattributed_s(self) -> float:
        """Forward time in no layer's region: the Python between statements."""
        return max(self.profiled_forward_s - self.layer_forward_s, 0.0)

    def time_share(self, layer: LayerProfile) -> float:
        total = self.layer_forward_s
        return layer.forward_s / total if total else 0.0

    def mac_share(self, layer: LayerProfile) -> float:
        total = sum(item.macs for item in self.layers)
        return layer.macs / total if total else 0.0

    def timing(self, batch: int) -> Timing:
        return next(timing for timing in self.timings if timing.batch == batch)


@dataclass(frozen=True)
class Profile:
    """Everything one ``cnncalc profile`` run measured, for one spec or two compared."""

    environment: Environment
    settings: Settings
    roof: Roof
    specs: tuple[SpecProfile, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def ratios(self) -> dict[int, float]:
        """Second spec's median latency / first's, per batch (two specs only)."""
        if len(self.specs) != 2:
            return {}
        first, second = self.specs
        return {
            timing.batch: second.timing(timing.batch).median / timing.median
            for timing in first.timings
        }
