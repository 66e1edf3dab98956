"""Per-layer times from ``torch.profiler``, attributed to spec layers (imports torch).

The model is built with ``regions=True``: every spec layer's statement (modules, merges and
inline functions alike) runs inside a ``record_function`` range named by its path, so the
profiler's tree puts each op under the layer that ran it, branches and residual adds
included, with no synchronisation per layer. On a CPU a layer's time is its range's wall
time; on CUDA it is the summed time of the kernels its ops launched.

Backward ops run outside those ranges (in the autograd engine), so they are attributed by
autograd's sequence numbers: each forward op that records a graph node carries a
``sequence_nr``, and the engine's ``evaluate_function: <Node>`` event for that node carries
the same one (the link PyTorch's own profiler tools use to pair forward and backward).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

FORWARD = "cnncalc.forward"
BACKWARD_EVENT = "autograd::engine::evaluate_function:"


@dataclass(frozen=True)
class LayerTimes:
    """Medians over the profiled repeats, seconds per call."""

    forward: dict[str, float]
    backward: dict[str, float] | None
    ops: dict[str, int]
    profiled_forward: float
    """The layers' medians plus the median time between them: robust, like the medians, to
    a repeat that the operating system interrupted (the plain median of whole forwards
    need not equal the sum of the layers' medians)."""
    profiled_backward: float | None


def _duration(event: Any, cuda: bool) -> float:
    """Seconds: kernel time under the event on CUDA, its wall time on a CPU."""
    return (event.device_time_total if cuda else event.cpu_time_total) / 1e6


def _on_cpu(event: Any) -> bool:
    return str(event.device_type).endswith("CPU")


def _descendants(event: Any) -> Iterable[Any]:
    for child in event.cpu_children:
        yield child
        yield from _descendants(child)


def _regions(event: Any, wanted: set[str]) -> Iterable[Any]:
    """The outermost layer ranges under ``event``."""
    for child in event.cpu_children:
        if child.name in wanted:
            yield child
        else:
            yield from _regions(child, wanted)


def _op_count(event: Any, cuda: bool) -> int:
    """Kernels launched (CUDA), or top-level ops called (CPU), inside a layer's range."""
    if cuda:
        return sum(len(item.kernels) for item in _descendants(event))
    return len(event.cpu_children)


def run_profiled(
    forward: Callable[[], Any],
    backward: Callable[[Any], None] | None,
    repeats: int,
    cuda: bool,
    trace: str | None,
) -> Any:
    """Profile ``repeats`` forwards (each followed by ``backward`` when training)."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as profiler:
        for _ in range(repeats):
            with record_function(FORWARD):
                output = forward()
            if backward is not None:
                backward(output)
            if cuda:
                torch.cuda.synchronize()
    if trace:
        profiler.export_chrome_trace(trace)
    return profiler.events()


def attribute(events: Any, paths: Iterable[str], cuda: bool) -> LayerTimes:
    """Per-layer medians from the profiler's events."""
    wanted = set(paths)
    forward: dict[str, list[float]] = defaultdict(list)
    ops: dict[str, int] = {}
    owner: dict[int, tuple[str, int]] = {}  # sequence_nr → (path, repeat)
    gaps: list[float] = []  # per repeat: the forward's time outside every layer's range
    for event in events:
        if not _on_cpu(event):
            continue
        if event.name == FORWARD:
            inside = sum(_duration(child, cuda) for child in _regions(event, wanted))
            gaps.append(max(_duration(event, cuda) - inside, 0.0))
        elif event.name in wanted:
            repeat = len(forward[event.name])
            forward[event.name].append(_duration(event, cuda))
            ops.setdefault(event.name, _op_count(event, cuda))
            for item in _descendants(event):
                if item.sequence_nr >= 0:
                    owner.setdefault(item.sequence_nr, (event.name, repeat))
    backward = _backward(events, owner, len(gaps), cuda)
    medians = {path: statistics.median(times) for path, times in forward.items()}
    return LayerTimes(
        forward=medians,
        backward=backward[0] if backward else None,
        ops=ops,
        profiled_forward=sum(medians.values()) + (statistics.median(gaps) if gaps else 0.0),
        profiled_backward=backward[1] if backward else None,
    )


def _backward(
    events: Any, owner: dict[int, tuple[str, int]], repeats: int, cuda: bool
) -> tuple[dict[str, float], float] | None:
    """Per-layer backward medians and the whole backward, or None (no backward).

    The whole is built as the forward's is: the layers' medians plus the time outside every
    layer (AccumulateGrad, the loss) per repeat, so the layers never exceed it — a sum of
    medians against a mean of totals could, on a noisy machine."""
    per_repeat: dict[str, list[float]] = defaultdict(lambda: [0.0] * repeats)
    outside = 0.0
    seen = False
    for event in events:
        if not (_on_cpu(event) and event.name.startswith(BACKWARD_EVENT)):
            continue
        seen = True
        seconds = _duration(event, cuda)
        found = owner.get(event.sequence_nr)
        if found is None:  # AccumulateGrad or the loss: no spec layer's node
            outside += seconds
        else:
            path, repeat = found
            per_repeat[path][repeat] += seconds
    if not seen or not repeats:
        return None
    medians = {path: statistics.median(times) for path, times in per_repeat.items()}
    return medians, sum(medians.values()) + outside / repeats
