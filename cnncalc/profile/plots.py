"""PNG plots of a profile (matplotlib, Agg backend, imported here only).

Three charts, one file each, named from a prefix: ``PREFIX-batch.png`` (latency and
throughput against batch size), ``PREFIX-shares.png`` (each layer's share of the time
against its share of the MACs) and ``PREFIX-roofline.png`` (one point per layer under the
roof of every math mode that ran).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .result import VERDICTS, Profile, SpecProfile
from .roof import ProfileError

COLOURS = {"compute-bound": "tab:blue", "memory-bound": "tab:orange", "overhead-bound": "tab:gray"}
LABELLED = 5
"""Layers named on the share chart: those furthest from time share = MAC share."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(profile: Profile, prefix: str | os.PathLike[str]) -> list[str]:
    """Write the three charts; returns their paths."""
    plt = _pyplot()
    base = Path(prefix)
    if base.suffix == ".png":
        base = base.with_suffix("")
    paths = []
    for name, draw in (("batch", _batch), ("shares", _shares), ("roofline", _roofline)):
        figure = draw(profile, plt)
        path = base.with_name(f"{base.name}-{name}.png")
        try:
            figure.savefig(path, dpi=120, bbox_inches="tight")
        except OSError as error:
            raise ProfileError(f"cannot write {path}: {error.strerror or error}") from None
        finally:
            plt.close(figure)
        paths.append(str(path))
    return paths


def _batch(profile: Profile, plt: Any) -> Any:
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(10, 4))
    for spec in profile.specs:
        batches = [timing.batch for timing in spec.timings]
        medians = [timing.median * 1e3 for timing in spec.timings]
        spreads = [timing.spread * 1e3 for timing in spec.timings]
        latency.errorbar(batches, medians, yerr=spreads, marker="o", capsize=3, label=spec.name)
        throughput.plot(batches, [t.throughput for t in spec.timings], marker="o", label=spec.name)
    mode = "training step" if profile.settings.train else "inference"
    latency.set(xlabel="batch size", ylabel="latency, ms (median ± IQR)", title=f"{mode} latency")
    throughput.set(xlabel="batch size", ylabel="images / s", title="throughput")
    for axes in (latency, throughput):
        if len(profile.settings.batches) > 1:
            axes.set_xscale("log", base=2)
        axes.set_xticks(list(profile.settings.batches), [str(b) for b in profile.settings.batches])
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(f"{profile.environment.device_name}, {profile.settings.dtype}", fontsize=10)
    return figure


def _shares(profile: Profile, plt: Any) -> Any:
    figure, axes = plt.subplots(figsize=(6.5, 6))
    for spec, marker in zip(profile.specs, ("o", "s"), strict=False):
        _share_points(spec, axes, marker, len(profile.specs) > 1)
    axes.plot([0, 100], [0, 100], color="black", linewidth=0.8, linestyle="--")
    top = max([100 * share for spec in profile.specs for share in _all_shares(spec)] + [1.0])
    axes.set(
        xlim=(0, top * 1.05), ylim=(0, top * 1.05), xlabel="share of MACs, %",
        ylabel="share of measured forward time, %",
        title=f"time share against MAC share, batch {profile.settings.layer_batch}",
    )  # fmt: skip
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    return figure


def _all_shares(spec: SpecProfile) -> list[float]:
    return [spec.time_share(layer) for layer in spec.layers] + [
        spec.mac_share(layer) for layer in spec.layers
    ]


def _share_points(spec: SpecProfile, axes: Any, marker: str, name_specs: bool) -> None:
    for verdict in VERDICTS:
        layers = [layer for layer in spec.layers if layer.verdict == verdict]
        if layers:
            axes.scatter(
                [100 * spec.mac_share(layer) for layer in layers],
                [100 * spec.time_share(layer) for layer in layers],
                s=18, marker=marker, color=COLOURS[verdict], alpha=0.75,
                label=f"{spec.name}: {verdict}" if name_specs else verdict,
            )  # fmt: skip
    furthest = sorted(
        spec.layers, key=lambda layer: abs(spec.time_share(layer) - spec.mac_share(layer))
    )[-LABELLED:]
    for layer in furthest:
        point = (100 * spec.mac_share(layer), 100 * spec.time_share(layer))
        axes.annotate(layer.path, point, fontsize=7, xytext=(4, 2), textcoords="offset points")


def _roofline(profile: Profile, plt: Any) -> Any:
    figure, axes = plt.subplots(figsize=(7.5, 5.5))
    layers = [layer for spec in profile.specs for layer in spec.layers if layer.forward_s > 0]
    intensities = [layer.intensity for layer in layers if layer.intensity > 0] or [1.0]
    low, high = min(intensities) / 2, max(intensities) * 2
    roof = profile.roof
    grid = [low * (high / low) ** (step / 200) for step in range(201)]
    for mode, peak in roof.flops.items():
        axes.plot(grid, [min(peak, x * roof.bandwidth) for x in grid], linewidth=1.2,
                  label=f"roof {mode}: {peak / 1e12:.3g} TFLOP/s")  # fmt: skip
    for verdict in VERDICTS:
        chosen = [layer for layer in layers if layer.verdict == verdict and layer.intensity > 0]
        if chosen:
            axes.scatter([layer.intensity for layer in chosen],
                         [layer.achieved_flops for layer in chosen], s=16,
                         color=COLOURS[verdict], alpha=0.8, label=verdict)  # fmt: skip
    above = [layer for layer in layers if layer.above_roof and layer.intensity > 0]
    if above:
        axes.scatter([layer.intensity for layer in above],
                     [layer.achieved_flops for layer in above], s=60, marker="x",
                     color="red", label="above the roof: a counting or timing error")  # fmt: skip
    axes.set(
        xscale="log", yscale="log", xlabel="arithmetic intensity, FLOP / byte",
        ylabel="achieved FLOP/s",
        title=f"roofline: {profile.environment.device_name}, {profile.settings.dtype}, "
        f"batch {profile.settings.layer_batch}",
    )  # fmt: skip
    axes.text(0.01, 0.01, f"memory {roof.bandwidth / 1e9:,.0f} GB/s; {roof.source}",
              transform=axes.transAxes, fontsize=6, alpha=0.7)  # fmt: skip
    axes.grid(True, which="both", alpha=0.25)
    axes.legend(fontsize=7, loc="upper left")
    return figure
