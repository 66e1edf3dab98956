"""Engine-only timings, run in-process by the benchmark venv's Python; prints JSON.

    python benchmarks/engine.py [--repeats N] [--layers N]

* a generated spec of conv/bn/relu layers (10,000 by default) on a small input:
  ``cnncalc.analyse_file`` as a whole (wall-clock and CPU time), its two phases
  (``load_spec``, then ``analyse`` of the fresh spec: the split of the fastest of the
  separate runs), and, as a diagnostic, the whole with the cyclic garbage collector off;
* ``specs/resnet152.yaml`` analysed at 3×224×224 and at 3×100000×100000: exact integer
  arithmetic means the time should not depend on the input size.

Each figure is the best of ``--repeats`` runs after one warm-up run.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cnncalc

REPOSITORY = Path(__file__).resolve().parent.parent
RESNET152 = REPOSITORY / "specs" / "resnet152.yaml"
SMALL_INPUT = [3, 224, 224]
LARGE_INPUT = [3, 100_000, 100_000]
LAYER_CYCLE = (
    "  - conv: {filters: 16, kernel: 3, padding: 1}\n",
    "  - bn\n",
    "  - relu\n",
)


def deep_spec_text(layers: int) -> str:
    """A spec of ``layers`` layers cycling conv 3×3 (padding 1), batch norm and ReLU."""
    lines = [
        f"name: Deep plain network ({layers:,} layers)\n",
        "input: [16, 8, 8]\n",
        "defaults:\n  conv: {bias: false}\n",
        "layers:\n",
    ]
    lines += [LAYER_CYCLE[index % len(LAYER_CYCLE)] for index in range(layers)]
    return "".join(lines)


def best_time(function: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """The fastest of ``repeats`` timed calls after one warm-up call: wall-clock seconds, CPU
    seconds of this process (less hurt by a busy machine), and the last result.

    Each call starts with the previous result dropped and after a full collection, so that
    no call pays for an earlier one's objects or garbage; the collector stays on while it
    runs, as it does for a user.
    """
    result = function()
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        result = None
        gc.collect()
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        result = function()
        best_wall = min(best_wall, time.perf_counter() - wall_start)
        best_cpu = min(best_cpu, time.process_time() - cpu_start)
    return best_wall, best_cpu, result


def load_then_analyse(path: Path) -> tuple[float, float]:
    """Seconds to load the spec, and seconds to analyse that fresh spec."""
    gc.collect()
    start = time.perf_counter()
    spec = cnncalc.load_spec(path)
    loaded = time.perf_counter()
    cnncalc.analyse(spec)
    return loaded - start, time.perf_counter() - loaded


def without_gc(function: Callable[[], Any]) -> Callable[[], Any]:
    """``function`` run with Python's cyclic garbage collector switched off (a diagnostic)."""

    def run() -> Any:
        gc.disable()
        try:
            return function()
        finally:
            gc.enable()

    return run


def deep_spec_timings(layers: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"deep_{layers}.yaml"
        path.write_text(deep_spec_text(layers))
        total_seconds, cpu_seconds, analysis = best_time(
            lambda: cnncalc.analyse_file(path), repeats
        )
        rows, macs = len(analysis.layers), int(analysis.totals.macs)
        del analysis
        phases = [load_then_analyse(path) for _ in range(repeats)]
        no_gc_seconds, _, _ = best_time(without_gc(lambda: cnncalc.analyse_file(path)), repeats)
    load_seconds, analyse_seconds = min(phases, key=sum)
    assert rows == layers, f"{rows} layer rows, not {layers}"
    return {
        "layers": layers,
        "analyse_file_seconds": total_seconds,
        "analyse_file_cpu_seconds": cpu_seconds,
        "load_seconds": load_seconds,
        "analyse_seconds": analyse_seconds,
        "analyse_file_seconds_gc_off": no_gc_seconds,
        "macs": macs,
    }


def analyse_resnet152(shape: list[int]) -> Callable[[], Any]:
    return lambda: cnncalc.analyse_file(RESNET152, shape)


def input_size_timings(repeats: int) -> dict[str, Any]:
    timings: dict[str, Any] = {}
    for label, shape in (("small", SMALL_INPUT), ("large", LARGE_INPUT)):
        seconds, _, analysis = best_time(analyse_resnet152(shape), repeats)
        timings[label] = {"input": shape, "seconds": seconds, "macs": int(analysis.totals.macs)}
    assert timings["large"]["macs"] > timings["small"]["macs"], "the large input was not applied"
    timings["ratio_large_to_small"] = timings["large"]["seconds"] / timings["small"]["seconds"]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layers", type=int, default=10_000)
    arguments = parser.parse_args()
    report = {
        "cnncalc_file": cnncalc.__file__,
        "input_size": input_size_timings(arguments.repeats),
        "deep_spec": deep_spec_timings(arguments.layers, arguments.repeats),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
