"""Renderers over a :class:`~cnncalc.profile.result.Profile`: a rich table, JSON, CSV.

The JSON document is a contract (``docs/profile-json.md``): ``schema`` =
``cnncalc/profile@1``; times in seconds, rates per second, counts exact integers.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from ..engine.memory import human_bytes
from .result import LayerProfile, Memory, Profile, SpecProfile, Timing

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA = "cnncalc/profile@1"
FORMATS = ("table", "json", "csv")

ABOVE_ROOF = (
    "! above the roof: measured faster than the peak allows. A counting or timing error, "
    "or (for a memory-bound layer) data served from cache rather than memory — never a win."
)


# ------------------------------------------------------------------------- JSON


def _timing_json(timing: Timing) -> dict[str, Any]:
    return {
        "batch": timing.batch,
        "median_s": timing.median,
        "spread_s": timing.spread,
        "min_s": min(timing.samples),
        "max_s": max(timing.samples),
        "throughput": timing.throughput,
        "samples_s": list(timing.samples),
        "runs_per_sample": timing.runs_per_sample,
    }


def _memory_json(memory: Memory) -> dict[str, Any]:
    return {
        "batch": memory.batch,
        "measure": memory.measure,
        "peak_allocated": memory.peak_allocated,
        "peak_reserved": memory.peak_reserved,
        "rss_growth": memory.rss_growth,
        "estimate": memory.estimate,
        "estimate_parts": dict(memory.estimate_parts),
        "notes": list(memory.notes),
    }


def _layer_json(spec: SpecProfile, layer: LayerProfile) -> dict[str, Any]:
    return {
        "path": layer.path,
        "kind": layer.kind,
        "macs": layer.macs,
        "flops": layer.flops,
        "bytes": {
            "weights": layer.weight_bytes,
            "inputs": layer.input_bytes,
            "outputs": layer.output_bytes,
            "total": layer.bytes,
        },
        "intensity": layer.intensity,
        "forward_s": layer.forward_s,
        "backward_s": layer.backward_s,
        "backward_ratio": layer.backward_ratio,
        "time_share": spec.time_share(layer),
        "mac_share": spec.mac_share(layer),
        "ops": layer.ops,
        "math": layer.math,
        "peak_flops": layer.peak_flops,
        "achieved_flops": layer.achieved_flops,
        "peak_share": layer.peak_share,
        "achieved_bandwidth": layer.achieved_bandwidth,
        "bounds_s": {
            name.removesuffix("-bound"): seconds for name, seconds in layer.bounds.items()
        },
        "verdict": layer.verdict,
        "above_roof": layer.above_roof,
    }


def _spec_json(spec: SpecProfile) -> dict[str, Any]:
    backward = None
    if spec.profiled_backward_s is not None:
        backward = {"profiled_s": spec.profiled_backward_s, "layers_s": spec.layer_backward_s}
    return {
        "name": spec.name,
        "file": spec.file,
        "input": list(spec.input_shape),
        "total_macs": spec.total_macs,
        "attribution": spec.attribution,
        "timings": [_timing_json(timing) for timing in spec.timings],
        "memory": [_memory_json(memory) for memory in spec.memory],
        "forward": {
            "profiled_s": spec.profiled_forward_s,
            "layers_s": spec.layer_forward_s,
            "unattributed_s": spec.unattributed_s,
        },
        "backward": backward,
        "layers": [_layer_json(spec, layer) for layer in spec.layers],
    }


def profile_document(profile: Profile) -> dict[str, Any]:
    env, settings, roof = profile.environment, profile.settings, profile.roof
    return {
        "schema": SCHEMA,
        "environment": {
            "device": env.device,
            "device_name": env.device_name,
            "threads": env.threads,
            "cudnn_benchmark": env.cudnn_benchmark,
            "cudnn_tf32": env.cudnn_tf32,
            "matmul_tf32": env.matmul_tf32,
            "versions": dict(env.versions),
            "platform": env.platform,
        },
        "settings": {
            "dtype": settings.dtype,
            "train": settings.train,
            "optimizer": settings.optimizer if settings.train else None,
            "channels_last": settings.channels_last,
            "compile": settings.compile,
            "batches": list(settings.batches),
            "repeats": settings.repeats,
            "warmup": settings.warmup,
            "layer_repeats": settings.layer_repeats,
            "layer_batch": settings.layer_batch,
        },
        "roof": {
            "device_name": roof.device_name,
            "flops": dict(roof.flops),
            "bandwidth": roof.bandwidth,
            "overhead_s": roof.overhead_s,
            "source": roof.source,
            "calibrated": roof.calibrated,
        },
        "specs": [_spec_json(spec) for spec in profile.specs],
        "ratios": {str(batch): ratio for batch, ratio in profile.ratios().items()},
        "notes": list(profile.notes),
    }


def to_json(profile: Profile) -> str:
    return json.dumps(profile_document(profile), indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "spec", "layer", "kind", "macs", "flops", "bytes", "intensity", "forward_ms",
    "backward_ms", "time_share", "mac_share", "achieved_gflops", "peak_share", "verdict",
    "above_roof",
)  # fmt: skip


def to_csv(profile: Profile) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for spec in profile.specs:
        for layer in spec.layers:
            backward = "" if layer.backward_s is None else f"{layer.backward_s * 1e3:.6g}"
            writer.writerow(
                (
                    spec.name, layer.path, layer.kind, layer.macs, layer.flops, layer.bytes,
                    f"{layer.intensity:.6g}", f"{layer.forward_s * 1e3:.6g}", backward,
                    f"{spec.time_share(layer):.6g}", f"{spec.mac_share(layer):.6g}",
                    f"{layer.achieved_flops / 1e9:.6g}", f"{layer.peak_share:.6g}",
                    layer.verdict, layer.above_roof,
                )
            )  # fmt: skip
    return buffer.getvalue().rstrip("\n")


# ------------------------------------------------------------------------- table


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1e3:,.3f}"


def rate(value: float, unit: str) -> str:
    """``12.3 TFLOP/s``: a rate with an SI prefix."""
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:,.1f} {prefix}{unit}"
    return f"{value:,.1f} {unit}"


def header_lines(profile: Profile) -> list[str]:
    env, settings, roof = profile.environment, profile.settings, profile.roof
    mode = "training step (forward, backward, " + settings.optimizer + ")"
    flags = f"threads {env.threads}"
    if env.cudnn_tf32 is not None:
        flags += (
            f"; cuDNN benchmark {'on' if env.cudnn_benchmark else 'off'}, cuDNN TF32 "
            f"{'on' if env.cudnn_tf32 else 'off'}, matmul TF32 "
            f"{'on' if env.matmul_tf32 else 'off'}"
        )
    versions = ", ".join(f"{name} {version}" for name, version in env.versions.items())
    peaks = ", ".join(f"{name} {rate(value, 'FLOP/s')}" for name, value in roof.flops.items())
    layout = ", channels_last" if settings.channels_last else ""
    compiled = f", torch.compile({settings.compile})" if settings.compile else ""
    return [
        f"device   {env.device_name} ({env.device}); {flags}",
        f"versions {versions}; {env.platform}",
        f"run      {mode if settings.train else 'inference'}, {settings.dtype}{layout}"
        f"{compiled}; {settings.repeats} samples after {settings.warmup} warm-up calls",
        f"roof     {peaks}; memory {rate(roof.bandwidth, 'B/s')}; per-op overhead "
        f"{roof.overhead_s * 1e6:.1f} µs",
        f"         {roof.source}",
    ]


def print_table(profile: Profile, console: Console, top: int | None = None) -> None:
    """The header, the batch sweep, then each spec's layers (the ``top`` slowest, or all)."""
    from rich.table import Table

    for line in header_lines(profile):
        console.print(line, highlight=False, markup=False)
    sweep = Table(title="End to end", title_justify="left")
    for column in ("spec", "batch", "latency ms", "± IQR ms", "images/s", "peak memory",
                   "engine estimate"):  # fmt: skip
        sweep.add_column(column, justify="left" if column == "spec" else "right")
    for spec in profile.specs:
        for timing, memory in zip(spec.timings, spec.memory, strict=True):
            sweep.add_row(
                spec.name, str(timing.batch), milliseconds(timing.median),
                milliseconds(timing.spread), f"{timing.throughput:,.1f}",
                _measured_memory(memory), _estimated_memory(memory),
            )  # fmt: skip
    console.print(sweep)
    for batch, ratio in profile.ratios().items():
        first, second = (spec.name for spec in profile.specs)
        console.print(f"batch {batch}: {second} takes {ratio:.3f}× the time of {first}")
    for spec in profile.specs:
        _print_layers(profile, spec, console, top)
    notes = {note for spec in profile.specs for memory in spec.memory for note in memory.notes}
    for note in (*profile.notes, *sorted(notes)):
        console.print(f"note: {note}", highlight=False, markup=False)


def _estimated_memory(memory: Memory) -> str:
    """The engine's total; beside RSS growth, also the part a fresh call allocates."""
    total = human_bytes(memory.estimate)
    if memory.measure != "rss":
        return total
    parts = memory.estimate_parts
    fresh = sum(parts.get(name, 0) for name in ("inputs", "activations", "gradients"))
    return f"{total} ({human_bytes(fresh)} per call)"


def _measured_memory(memory: Memory) -> str:
    if memory.measure == "cuda" and memory.peak_allocated is not None:
        reserved = human_bytes(memory.peak_reserved or 0)
        return f"{human_bytes(memory.peak_allocated)} (reserved {reserved})"
    if memory.rss_growth is not None:
        return f"RSS +{human_bytes(memory.rss_growth)}"
    return "not measured"


def _print_layers(profile: Profile, spec: SpecProfile, console: Console, top: int | None) -> None:
    from rich.table import Table

    train = spec.profiled_backward_s is not None
    title = (
        f"{spec.name}: per layer at batch {profile.settings.layer_batch} "
        f"({spec.attribution} regions, median of {profile.settings.layer_repeats})"
    )
    table = Table(title=title, title_justify="left")
    columns = ["layer", "kind", "fwd ms", "time %", "MAC %", "GFLOP", "MB moved", "FLOP/B",
               "GFLOP/s", "% peak", "verdict"]  # fmt: skip
    if train:
        columns += ["bwd ms", "bwd/fwd"]
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("layer", "kind", "verdict") else "right"
        )
    layers = spec.layers
    if top is not None:
        layers = tuple(sorted(layers, key=lambda layer: layer.forward_s, reverse=True)[:top])
    for layer in layers:
        flag = " !" if layer.above_roof else ""
        cells = [
            layer.path, layer.kind, milliseconds(layer.forward_s),
            f"{100 * spec.time_share(layer):.1f}", f"{100 * spec.mac_share(layer):.1f}",
            f"{layer.flops / 1e9:,.3f}", f"{layer.bytes / 1e6:,.2f}", f"{layer.intensity:,.1f}",
            f"{layer.achieved_flops / 1e9:,.1f}", f"{100 * layer.peak_share:.1f}{flag}",
            layer.verdict,
        ]  # fmt: skip
        if train:
            ratio = layer.backward_ratio
            cells += [
                milliseconds(layer.backward_s or 0.0),
                "" if ratio is None else f"{ratio:.2f}",
            ]
        table.add_row(*cells)
    console.print(table)
    for line in summary_lines(profile, spec):
        console.print(line, highlight=False, markup=False)


def summary_lines(profile: Profile, spec: SpecProfile) -> list[str]:
    """The checks under a layer table: layers against the whole, the backward rule, flags."""
    batch = profile.settings.layer_batch
    end_to_end = spec.timing(batch).median
    lines = [
        f"layers sum {milliseconds(spec.layer_forward_s)} ms of a profiled forward of "
        f"{milliseconds(spec.profiled_forward_s)} ms ({milliseconds(spec.unattributed_s)} ms "
        f"between layers); unprofiled end to end {milliseconds(end_to_end)} ms"
        + (" (a whole training step)" if profile.settings.train else ""),
    ]
    layer_backward = spec.layer_backward_s
    if layer_backward is not None and spec.layer_forward_s > 0:
        weights = [layer for layer in spec.layers if layer.macs and layer.backward_s]
        forward = sum(layer.forward_s for layer in weights)
        backward = sum(layer.backward_s or 0.0 for layer in weights)
        ratio = backward / forward if forward else 0.0
        lines.append(
            f"backward {milliseconds(layer_backward)} ms over the layers "
            f"({layer_backward / spec.layer_forward_s:.2f}× forward); weight layers "
            f"{ratio:.2f}× forward, against the rule backward ≈ 2× forward"
        )
    flagged = [layer.path for layer in spec.layers if layer.above_roof]
    if flagged:
        shown = ", ".join(flagged[:8]) + (
            f" and {len(flagged) - 8} more" if len(flagged) > 8 else ""
        )
        lines.append(f"{ABOVE_ROOF} Flagged: {shown}.")
    return lines
