"""``cnncalc train``'s loop against a minimal hand-written PyTorch loop, images/s, in one run.

    python benchmarks/train.py [--spec specs/lenet5.yaml] [--epochs 3] [--rounds 5]
                               [--batch 64] [--threads 1] [--device cpu|cuda]

Both sides train the same module (``cnncalc.build`` of the spec, same seed), on the same data
(the bundled digits at the spec's input, normalised), with the same batch, optimizer (SGD,
momentum 0.9), thread count and device. The hand-written loop is what a tutorial writes:
shuffle, slice, forward, cross-entropy, backward, step; it keeps no statistics. cnncalc's side
is its own training loop (``Trainer.train_epoch``, as ``cnncalc train`` builds it: batching and
normalising on the fly, running loss/accuracy sums, the non-finite check), validation
excluded on both sides. The median over the epochs after the first is one round's figure;
rounds alternate which side goes first, and the report gives the median of each side and
their ratio.

On the CPU the clock is this process's CPU time: with one thread it measures the work done
whatever else the machine runs (wall-clock figures on a shared machine swing by tens of
percent). On CUDA it is wall-clock time, each timed region ending with a synchronisation.
The wall-clock images/s that ``cnncalc train`` itself reports for the same run is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import cnncalc
from cnncalc.train.config import resolve_config
from cnncalc.train.data import load_digits, prepare_data

GOAL = 0.03
"""cnncalc train may be at most 3% slower than the hand-written loop."""


def digits_tensors(spec: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The training split cnncalc uses (seed 0), normalised as cnncalc normalises it."""
    loaded = cnncalc.load_spec(spec)
    config, _ = resolve_config({}, {"seed": 0})
    data = prepare_data(load_digits(), [int(d) for d in loaded.input], config)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    images = ((data.train.images.float() - mean) / std).to(device)
    return images, data.train.labels.to(device), len(data.classes)


def clock(device: torch.device) -> float:
    """CPU seconds of this process on the CPU (with one thread, the work done, whatever else
    the machine runs); wall seconds after a synchronisation on CUDA."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


def hand_loop(spec: str, epochs: int, batch: int, device: torch.device) -> float:
    """Images/s of the minimal loop (median over its epochs after the first)."""
    images, labels, _ = digits_tensors(spec, device)
    torch.manual_seed(0)
    model = cnncalc.build(spec).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    rates = []
    for epoch in range(epochs):
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(epoch))
        start = clock(device)
        for first in range(0, len(order), batch):
            chosen = order[first : first + batch].to(device)
            loss = criterion(model(images[chosen]), labels[chosen])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        rates.append(len(order) / (clock(device) - start))
    return statistics.median(rates[1:] or rates)


def cnncalc_loop(spec: str, epochs: int, batch: int, device: torch.device) -> float:
    """Images/s of cnncalc's training loop (``Trainer.train_epoch``: its batching,
    normalisation, running sums, non-finite check and step), built as ``cnncalc train``
    builds it, timed with the same clock as the hand loop."""
    from cnncalc.train.api import load_data
    from cnncalc.train.distributed import World
    from cnncalc.train.trainer import Interrupt, Trainer

    loaded = cnncalc.load_spec(spec)
    settings = {"seed": 0, "epochs": epochs, "batch": batch, "schedule": "none",
                "augment": "none", "device": device.type}  # fmt: skip
    config, _ = resolve_config({}, settings)
    data = load_data(config, loaded, spec)
    torch.manual_seed(0)
    model = cnncalc.build(spec).to(device)
    trainer = Trainer(config, data, model, None, {}, device, World(), None)
    rates = []
    with Interrupt() as interrupt:
        for _ in range(epochs):
            start = clock(device)
            trainer.train_epoch(interrupt, time.perf_counter())
            rates.append(len(data.train) / (clock(device) - start))
            trainer.position.epoch += 1
            trainer.position.micro_batch, trainer.position.epoch_sums = 0, {}
    return statistics.median(rates[1:] or rates)


def cnncalc_train(spec: str, epochs: int, batch: int, threads: int, device: str) -> float:
    """Images/s that ``cnncalc train`` itself reports (wall clock; median after epoch 1)."""
    with tempfile.TemporaryDirectory() as runs:
        result = cnncalc.train(
            spec, epochs=epochs, batch=batch, threads=threads, device=device, seed=0,
            schedule="none", augment="none", plots=False, runs_dir=runs, quiet=True,
        )  # fmt: skip
    rates = [row["images_per_second"] for row in result.history]
    return statistics.median(rates[1:] or rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(Path(__file__).parent.parent / "specs/lenet5.yaml"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    device = torch.device(options.device)
    if device.type == "cpu" and options.threads != 1:
        print("note: with several threads, CPU time counts every thread's work")
    hand_rates: list[float] = []
    loop_rates: list[float] = []
    for round_number in range(options.rounds):
        # alternate which side goes first, so a drift in load does not favour one
        sides = [(hand_loop, hand_rates), (cnncalc_loop, loop_rates)]
        for measure, rates in sides if round_number % 2 == 0 else sides[::-1]:
            rates.append(measure(options.spec, options.epochs, options.batch, device))
    reported = cnncalc_train(options.spec, options.epochs, options.batch, options.threads,
                             options.device)  # fmt: skip
    hand, ours = statistics.median(hand_rates), statistics.median(loop_rates)
    ratio = ours / hand
    unit = "CPU-time" if device.type == "cpu" else "wall-clock"
    print(f"spec {options.spec}, batch {options.batch}, {options.threads} thread(s), "
          f"{options.device}, torch {torch.__version__}, {options.rounds} rounds × "
          f"{options.epochs} epochs, {unit} images/s")  # fmt: skip
    print("| loop | images/s (median) | rounds |")
    print("|---|---:|---|")
    print(f"| hand-written PyTorch | {hand:,.0f} | {', '.join(f'{r:,.0f}' for r in hand_rates)} |")
    print(f"| cnncalc train's loop | {ours:,.0f} | {', '.join(f'{r:,.0f}' for r in loop_rates)} |")
    print(f"\n`cnncalc train` itself reported {reported:,.0f} images/s (wall clock, this load)")
    verdict = "meets" if ratio >= 1 - GOAL else "misses"
    print(
        f"\ncnncalc train's loop / hand loop = {ratio:.3f} ({verdict} the goal: within {GOAL:.0%})"
    )
    return 0 if ratio >= 1 - GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
