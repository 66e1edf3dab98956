"""Occlusion time: cnncalc's batched occlusion against Captum's ``Occlusion``, same inputs.

    python benchmarks/visualise.py [--runs N] [--threads T]

Both run in this process on CPU, on the same model (cnncalc.build of the spec, seeded), the
same normalised images, patch, stride, baseline (0) and targets, explaining the softmax
probability. Captum is timed twice: with its default ``perturbations_per_eval=1`` (one forward
pass per patch position) and with ``perturbations_per_eval`` equal to cnncalc's chunk size
(as many occluded images per forward as cnncalc puts in one). The runs alternate between
the contenders, after one untimed warm-up run of each; the table gives each one's median
process CPU time (with one torch thread, the work done, which other processes on a busy
machine disturb far less than wall time), median and best wall time, the ratio of CPU-time
medians, and the largest difference between the attribution maps (they must agree).

Workloads: LeNet-5 on 16 scikit-learn digits at 1×32×32 (patch 6, stride 2, the default
window: 14×14 positions per image), and ResNet-18 at 3×64×64 on 2 digits (patch 19, stride 4,
the default window: 13×13 positions per image).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def workloads() -> list[tuple[str, str, list[int] | None, int]]:
    specs = REPOSITORY / "specs"
    return [
        ("LeNet-5, 16 digits, 1×32×32", str(specs / "lenet5.yaml"), None, 16),
        ("ResNet-18, 2 digits, 3×64×64", str(specs / "resnet18.yaml"), [3, 64, 64], 2),
    ]


def measure(name: str, spec: str, shape: list[int] | None, count: int, runs: int) -> list[str]:
    import torch
    from captum.attr import Occlusion

    from cnncalc.visualise import digit_samples, load_source, occlusion
    from cnncalc.visualise.images import normalised
    from cnncalc.visualise.occlusion import chunk_size, default_window

    source = load_source(spec, input_shape=shape)
    batch = digit_samples(source, count)
    window = default_window(source.analysis)
    chunk = chunk_size(source.analysis)
    model = source.model.eval()
    inputs = normalised(source, batch)
    channels = inputs.shape[1]
    targets = torch.tensor([label or 0 for label in batch.labels])

    def ours() -> object:
        return occlusion(source, batch, patch=window.patch, stride=window.stride).maps

    def captum(per_eval: int) -> object:
        with torch.no_grad():
            return (
                Occlusion(lambda x: model(x).softmax(dim=1))
                .attribute(
                    inputs,
                    sliding_window_shapes=(channels, window.patch, window.patch),
                    strides=(channels, window.stride, window.stride),
                    baselines=0.0,
                    target=targets,
                    perturbations_per_eval=per_eval,
                )[:, 0]
                .numpy()
            )

    contenders = {
        "cnncalc occlusion": ours,
        "Captum Occlusion (perturbations_per_eval=1)": lambda: captum(1),
        f"Captum Occlusion (perturbations_per_eval={chunk})": lambda: captum(chunk),
    }
    times: dict[str, list[float]] = {label: [] for label in contenders}
    cpu: dict[str, list[float]] = {label: [] for label in contenders}
    results = {label: run() for label, run in contenders.items()}  # warm-up, untimed
    for _ in range(runs):
        for label, run in contenders.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            results[label] = run()
            times[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)
    reference = statistics.median(cpu["cnncalc occlusion"])
    rows = []
    for label in contenders:
        median = statistics.median(cpu[label])
        difference = abs(results[label] - results["cnncalc occlusion"]).max()
        rows.append(
            f"| {name} | {label} | {median:.3f} s | {statistics.median(times[label]):.3f} s | "
            f"{min(times[label]):.3f} s | {median / reference:.2f}× | {difference:.1e} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both contenders)")
    arguments = parser.parse_args()
    import torch

    torch.set_num_threads(arguments.threads)
    print(f"torch {torch.__version__}, {arguments.threads} thread(s), {arguments.runs} runs each")
    print(
        "| workload | contender | CPU time (median) | wall (median) | wall (best) "
        "| CPU time / cnncalc's | max abs difference |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, spec, shape, count in workloads():
        for row in measure(name, spec, shape, count, arguments.runs):
            print(row, flush=True)


if __name__ == "__main__":
    main()
