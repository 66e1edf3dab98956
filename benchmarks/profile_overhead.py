"""The cost of per-layer profiling: ResNet-50's forward with and without it, in one run.

    python benchmarks/profile_overhead.py [--batch 32] [--also 8] [--rounds 7] [--threads N]

Goal (benchmarks/README.md): the forward profiled per spec layer — built with
``record_function`` regions (``cnncalc.build(..., regions=True)``) and run under
``torch.profiler`` — takes within 5% of the plain forward's time, at batch 32 on a CPU.

Both models are built from specs/resnet50.yaml with the same weights. Each round times one
plain forward and one profiled forward, in alternating order (the profiler is started
before and stopped after the timed call, so its start-up is not counted; its per-op
recording and the regions are), so a busy spell on the machine slows both alike. The
per-layer times of each profiled round are attributed as ``cnncalc profile`` attributes
them, and their sum is reported beside the plain forward. Medians and minimums over the
rounds are printed as Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
SPEC = REPOSITORY / "specs" / "resnet50.yaml"
GOAL = 0.05


def measure(batch: int, rounds: int) -> dict[str, list[float]]:
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    import cnncalc
    from cnncalc.profile.layers import FORWARD, attribute

    analysis = cnncalc.analyse_file(SPEC)
    plain = cnncalc.build(analysis).eval()
    regions = cnncalc.build(analysis, regions=True).eval()
    regions.load_state_dict(plain.state_dict())
    paths = [row.path for row in analysis.layers]
    inputs = torch.randn(batch, 3, 224, 224)

    def timed(model: Any) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process) for one forward."""
        wall, cpu = time.perf_counter(), time.process_time()
        model(inputs)
        return time.perf_counter() - wall, time.process_time() - cpu

    results: dict[str, list[float]] = {key: [] for key in KEYS}

    def plain_forward() -> None:
        wall, cpu = timed(plain)
        results["plain wall"].append(wall)
        results["plain cpu"].append(cpu)

    def profiled_forward() -> None:
        with profile(activities=[ProfilerActivity.CPU]) as profiler, record_function(FORWARD):
            wall, cpu = timed(regions)
        results["profiled wall"].append(wall)
        results["profiled cpu"].append(cpu)
        times = attribute(profiler.events(), paths, cuda=False)
        results["layers wall"].append(sum(times.forward.values()))

    with torch.inference_mode():
        timed(plain), timed(regions)  # warm-up at the exact shape
        for round_ in range(rounds):
            # ABBA order: whatever the first call of a pair pays (fresh pages...) both pay
            pair = (
                (profiled_forward, plain_forward)
                if round_ % 2
                else (plain_forward, profiled_forward)
            )
            for call in pair:
                call()
    return results


KEYS = ("plain wall", "plain cpu", "profiled wall", "profiled cpu", "layers wall")
ROWS = {
    "plain forward, wall clock": ("plain wall", "plain wall"),
    "profiled forward (regions + torch.profiler), wall clock": ("profiled wall", "plain wall"),
    "sum of the per-layer times (wall clock)": ("layers wall", "plain wall"),
    "plain forward, CPU time of the process": ("plain cpu", "plain cpu"),
    "profiled forward, CPU time of the process": ("profiled cpu", "plain cpu"),
}


def paired(results: dict[str, list[float]], key: str, base: str) -> float:
    """The median of the rounds' own ratios: a slow spell slows both calls of a round."""
    return statistics.median(a / b for a, b in zip(results[key], results[base], strict=True))


def report(batch: int, results: dict[str, list[float]]) -> list[str]:
    rounds = len(results["plain wall"])
    lines = [
        f"#### ResNet-50, batch {batch}, {rounds} interleaved rounds",
        "",
        "| forward | median | min | × plain (medians) | × plain (paired, median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (key, base) in ROWS.items():
        median = statistics.median(results[key])
        lines.append(
            f"| {name} | {median * 1e3:,.1f} ms | {min(results[key]) * 1e3:,.1f} ms "
            f"| {median / statistics.median(results[base]):.3f} "
            f"| {paired(results, key, base):.3f} |"
        )
    wall = paired(results, "profiled wall", "plain wall") - 1
    cpu = paired(results, "profiled cpu", "plain cpu") - 1
    covered = statistics.median(results["layers wall"]) / statistics.median(
        results["profiled wall"]
    )
    lines += [
        "",
        f"Profiling overhead (paired medians): wall clock {wall:+.1%}, CPU time {cpu:+.1%} "
        f"(goal: within ±{GOAL:.0%}: {'met' if abs(wall) <= GOAL else 'NOT met'} by the wall "
        f"clock, {'met' if abs(cpu) <= GOAL else 'NOT met'} by CPU time). The layers account "
        f"for {covered:.1%} of the profiled forward.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--also", type=int, nargs="*", default=[8], help="smaller batches too")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    options = parser.parse_args()
    import torch

    if options.threads:
        torch.set_num_threads(options.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {load:.2f} at the start\n"
    )
    for batch in [options.batch, *options.also]:
        print("\n".join(report(batch, measure(batch, options.rounds))) + "\n")


if __name__ == "__main__":
    main()
