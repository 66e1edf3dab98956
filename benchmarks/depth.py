"""Symbolic cost against depth: a residual + squeeze-and-excitation stack, doubled.

    python benchmarks/depth.py [--before REV] [--depths 1 2 4 8 16] [--timeout S]

The stack is RegNet-Y's blocks: a 3×3/2 stem, then ``n`` stages of a stride-2 block with a
projection shortcut and an identity block (so the sizes are ⌊…/4⌋, ⌊…/8⌋, … roundings that
no rule orders), each block 1×1 → grouped 3×3 → squeeze-and-excitation → 1×1 inside a
residual. Its receptive field mixes each block's sliding window with the SE branch's
whole-input extent, which is what made the merged field's max() terms nest. Each depth is one
``cnncalc summary --input 3xHxW`` process; the figure is its CPU time (see symbolic.py), with
``--before REV`` also for that commit's cnncalc. Prints a Markdown table: polynomial cost
shows as a roughly constant ratio from one doubling to the next, exponential as a growing one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from symbolic import REPOSITORY, WORK, export_commit, seconds_text, timed_summary

BLOCKS = """\
name: residual + SE stack of {n} blocks
input: [3, 224, 224]
defaults:
  conv: {{bias: false}}
blocks:
  se:
    args: [squeeze, channels: in_channels]
    multiply:
      - []
      - - adaptive_avgpool: {{output: 1}}
        - conv: {{filters: squeeze, kernel: 1, bias: true}}
        - relu
        - conv: {{filters: channels, kernel: 1, bias: true}}
        - sigmoid
  f:
    args: [width, stride: 1]
    layers:
      - conv: {{filters: width, kernel: 1}}
      - batchnorm
      - relu
      - conv: {{filters: width, kernel: 3, stride: stride, padding: 1, groups: width // 8}}
      - batchnorm
      - relu
      - se: {{squeeze: in_channels // 4}}
      - conv: {{filters: width, kernel: 1}}
      - batchnorm
  down:
    args: [width]
    residual:
      body: [f: {{width: width, stride: 2}}]
      shortcut: auto
    then: relu
  yblock:
    args: [width]
    residual:
      body: [f: {{width: width}}]
      shortcut: identity
    then: relu
  stage:
    args: [width]
    layers:
      - down: {{width: width}}
      - yblock: {{width: width}}
layers:
  - conv: {{filters: 32, kernel: 3, stride: 2, padding: 1}}
  - batchnorm
  - relu
  - repeat: {n}
    block: stage
    with: {{width: 48}}
  - global_avgpool
  - flatten
  - linear: 1000
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--before", metavar="REV", help="also time this commit's cnncalc")
    parser.add_argument("--timeout", type=float, default=60.0, help="CPU seconds per process")
    arguments = parser.parse_args()
    folder = WORK / "depth"
    folder.mkdir(parents=True, exist_ok=True)
    before_source = export_commit(arguments.before) if arguments.before else None
    header = ["stages", "after", "× per doubling"]
    if before_source is not None:
        header[1:1] = [f"before ({arguments.before})", "× per doubling"]
    lines = ["| " + " | ".join(header) + " |", "|---:" * len(header) + "|"]
    previous: dict[str, float | None] = {"before": None, "after": None}
    for depth in arguments.depths:
        spec = folder / f"stack{depth}.yaml"
        spec.write_text(BLOCKS.format(n=depth), encoding="utf-8")
        cells = [str(depth)]
        sources = [("after", REPOSITORY)]
        if before_source is not None:
            sources.insert(0, ("before", before_source))
        for label, source in sources:
            seconds = timed_summary(source, spec, arguments.timeout)
            last = previous[label]
            ratio = f"{seconds / last:.1f}×" if seconds is not None and last else "—"
            cells += [seconds_text(seconds, arguments.timeout), ratio]
            previous[label] = seconds
            print(f"{depth} {label} {seconds}", file=sys.stderr, flush=True)
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
