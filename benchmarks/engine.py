"""Engine-only timings, run in-process by the benchmark venv's Python; prints JSON.

    python benchmarks/engine.py [--repeats N] [--layers N]

* a generated spec of conv/bn/relu layers (10,000 by default) on a small input: the YAML
  load and the analysis timed separately and together (``cnncalc.analyse_file``);
* ``specs/resnet152.yaml`` analysed at 3×224×224 and at 3×100000×100000: exact integer
  arithmetic means the time should not depend on the input size.

Each figure is the best of ``--repeats`` runs after one warm-up run.
"""

from __future__ import annotations

import argparse
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


def best_time(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The fastest of ``repeats`` timed calls after one warm-up call, and the last result."""
    result = function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def deep_spec_timings(layers: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"deep_{layers}.yaml"
        path.write_text(deep_spec_text(layers))
        load_seconds, spec = best_time(lambda: cnncalc.load_spec(path), repeats)
        analyse_seconds, _ = best_time(lambda: cnncalc.analyse(spec), repeats)
        total_seconds, analysis = best_time(lambda: cnncalc.analyse_file(path), repeats)
    assert len(analysis.layers) == layers, f"{len(analysis.layers)} layer rows, not {layers}"
    return {
        "layers": layers,
        "load_seconds": load_seconds,
        "analyse_seconds": analyse_seconds,
        "analyse_file_seconds": total_seconds,
        "macs": int(analysis.totals.macs),
    }


def input_size_timings(repeats: int) -> dict[str, Any]:
    timings: dict[str, Any] = {}
    for label, shape in (("small", SMALL_INPUT), ("large", LARGE_INPUT)):
        seconds, analysis = best_time(lambda s=shape: cnncalc.analyse_file(RESNET152, s), repeats)
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
        "deep_spec": deep_spec_timings(arguments.layers, arguments.repeats),
        "input_size": input_size_timings(arguments.repeats),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
