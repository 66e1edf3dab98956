"""Time and peak memory of ``cnncalc verify`` (meta device; and by default, with the peers on
CPU) against torchinfo (real tensors).

    python benchmarks/verify.py [--runs N]

Uses the benchmark venv that ``benchmarks/run.py`` creates (benchmarks/.work/venv, with a
non-editable cnncalc, torch==2.13.0 and torchinfo); run that once first. Each command runs
as its own process; its wall time and peak resident memory (``wait4``'s ru_maxrss) are
measured, and the medians printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
BIN = BENCHMARKS / ".work" / "venv" / "bin"


def commands() -> dict[str, list[str]]:
    spec = str(REPOSITORY / "specs" / "resnet152.yaml")
    return {
        "cnncalc verify resnet152 (meta, no peers)": [
            str(BIN / "cnncalc"),
            "verify",
            spec,
            "--device",
            "meta",
            "--no-peers",
        ],
        # The default: meta device for the per-layer checks, then fvcore (eval and training
        # mode) and torchinfo on real CPU tensors for the compatibility totals.
        "cnncalc verify resnet152 (default: meta, peers on CPU)": [
            str(BIN / "cnncalc"),
            "verify",
            spec,
        ],
        "torchinfo summary resnet152 (real tensors)": [
            str(BIN / "python"),
            str(BENCHMARKS / "peers" / "torchinfo_resnet152.py"),
        ],
    }


def measure(arguments: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=BENCHMARKS / "peers"
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(arguments)}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    if not (BIN / "cnncalc").exists():
        raise SystemExit("run benchmarks/run.py first: it creates benchmarks/.work/venv")
    print("| command | median time | median peak RSS |")
    print("|---|---:|---:|")
    results = {}
    for name, arguments in commands().items():
        measure(arguments)  # warm-up: page cache, .pyc files
        runs = [measure(arguments) for _ in range(options.runs)]
        seconds = statistics.median(run[0] for run in runs)
        rss = statistics.median(run[1] for run in runs)
        results[name] = (seconds, rss)
        print(f"| {name} | {seconds:.2f} s | {rss:,.0f} MiB |")


if __name__ == "__main__":
    main()
