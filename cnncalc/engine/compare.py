"""Two analyses side by side: per stage and in total, with exact ratios (second / first).

A stage is a run of consecutive top-level steps with the same output resolution (H×W, or
``flat`` for vectors): ResNet's ``layer2`` is one stage, VGG's conv-conv-pool blocks are
stages, the classifier head is the ``flat`` stage. A top-level group whose own steps end at
different resolutions (VGG's ``features``, a container of every block) is looked into
rather than taken whole. Stages are matched by their resolution where both networks have it
(VGG-16's 56×56 stage with ResNet-50's 56×56 stage), and by order in between.

Per stage and in total: parameters (weights + biases), MACs (no bias adds, whole batch),
activation memory (output elements × 4 bytes, float32), depth (weight layers on the longest
path from the input to the stage's output) and the receptive field at the stage's output
(the last spatial layer's for the whole network: a flat vector has none).

Training-only heads (GoogLeNet's auxiliary classifiers) follow the totals' conventions: their
parameters count, in the stage they branch from, while MACs and memory are inference's and
leave them out; a head is never a stage of its own, nor does it cut the stage it sits in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property
from itertools import zip_longest
from typing import Any

from .. import arith
from .plan import GroupStep, LayerStep, MergeStep, ReadStep, Step
from .result import Analysis, Row, field_sizes, final_field
from .savings import exact_ratio

BYTES_PER_ELEMENT = 4
"""Activations are counted as float32."""

MEASURES = ("params", "macs", "activation_bytes", "depth", "receptive_field")


@dataclass(frozen=True)
class Measures:
    params: Any
    macs: Any
    activation_bytes: Any
    depth: int
    receptive_field: tuple[Any, ...]
    """The receptive-field size per spatial axis (empty for a network without one)."""

    def value(self, measure: str) -> Any:
        """The number a ratio is taken of (the receptive field's first axis)."""
        if measure == "receptive_field":
            return self.receptive_field[0] if self.receptive_field else None
        return getattr(self, measure)


@dataclass(frozen=True)
class Stage:
    resolution: str
    """The output resolution: ``56×56``, or ``flat``."""
    names: tuple[str, ...]
    """The top-level steps (paths) it is made of."""
    output_shape: tuple[Any, ...]
    measures: Measures
    heads: tuple[str, ...] = ()
    """The training-only heads that branch from it (their parameters are in its measures)."""

    @property
    def label(self) -> str:
        names = self.names
        span = names[0] if len(names) == 1 else f"{names[0]}…{names[-1]}"
        return f"{self.resolution} {span}"


@dataclass(frozen=True)
class StagePair:
    """Matched stages: either side may be missing."""

    first: Stage | None
    second: Stage | None

    @cached_property
    def ratios(self) -> dict[str, Any]:
        first = self.first.measures if self.first else None
        second = self.second.measures if self.second else None
        return measure_ratios(first, second)


@dataclass(frozen=True)
class Comparison:
    first: Analysis
    second: Analysis
    stages: tuple[StagePair, ...]
    first_totals: Measures
    second_totals: Measures

    @cached_property
    def ratios(self) -> dict[str, Any]:
        """second / first for each total (exact Fractions; None when undefined)."""
        return measure_ratios(self.first_totals, self.second_totals)


def measure_ratios(first: Measures | None, second: Measures | None) -> dict[str, Any]:
    if first is None or second is None:
        return dict.fromkeys(MEASURES)
    ratios: dict[str, Any] = {}
    for measure in MEASURES:
        numerator, denominator = second.value(measure), first.value(measure)
        missing = numerator is None or denominator is None
        ratios[measure] = None if missing else exact_ratio(numerator, denominator)
    return ratios


def compare(first: Analysis, second: Analysis) -> Comparison:
    """``first`` and ``second`` side by side; every ratio is second / first."""
    return Comparison(
        first,
        second,
        match_stages(stages(first), stages(second)),
        total_measures(first),
        total_measures(second),
    )


def total_measures(analysis: Analysis) -> Measures:
    totals = analysis.totals
    return Measures(
        params=totals.params,
        macs=totals.macs,
        activation_bytes=arith.normalize(BYTES_PER_ELEMENT * totals.activation_elements),
        depth=totals.depth,
        receptive_field=final_field(analysis.layers),
    )


# ------------------------------------------------------------------------ stages


def stages(analysis: Analysis) -> tuple[Stage, ...]:
    """The network cut into stages: runs of top-level steps ending at one resolution.

    A read of an earlier output (``from:``) costs nothing and cuts no stage; a training-only
    head joins the run it branches from (the run holding what it reads, else the run it is
    declared in), whatever its own resolution."""
    runs: list[list[Step]] = []
    source: list[Step] | None = None
    for step in top_level(analysis.steps):
        if isinstance(step, ReadStep):
            source = _run_holding(runs, step.path)
        elif step.row.training_only and runs:
            (source or runs[-1]).append(step)
        else:
            source = None
            if runs and resolution(_last(runs[-1]).row) == resolution(step.row):
                runs[-1].append(step)
            else:
                runs.append([step])
    return tuple(_stage(run) for run in runs)


def _run_holding(runs: Sequence[list[Step]], path: str) -> list[Step] | None:
    """The run whose steps made the output at ``path`` (a step's own path or one inside it)."""
    for run in reversed(runs):
        for step in run:
            if not isinstance(step, ReadStep) and (
                path == step.row.path or path.startswith(step.row.path + ".")
            ):
                return run
    return None


def _last(run: Sequence[Step]) -> Step:
    """The run's last inference step (a training-only head's output is no stage's output)."""
    return next((step for step in reversed(run) if not step.row.training_only), run[-1])


def top_level(steps: Sequence[Step]) -> Iterator[Step]:
    """The top-level steps, looking into groups whose steps end at several resolutions
    (not into a training-only head: it is taken whole)."""
    for step in steps:
        if (
            isinstance(step, GroupStep)
            and not step.row.training_only
            and len({resolution(s.row) for s in step.steps}) > 1
        ):
            yield from top_level(step.steps)
        else:
            yield step


def resolution(row: Row) -> str:
    shape = row.output_shape
    if len(shape) == 3:
        return f"{arith.as_factor(shape[1])}×{arith.as_factor(shape[2])}"
    return "flat"


def leaf_rows(step: Step) -> Iterator[Row]:
    """The layer and merge rows of a step (what the totals are summed over)."""
    if isinstance(step, LayerStep):
        yield step.row
    elif isinstance(step, GroupStep):
        for child in step.steps:
            yield from leaf_rows(child)
    elif isinstance(step, MergeStep):
        for branch in step.branches:
            for child in branch:
                yield from leaf_rows(child)
        yield step.row


def _sum(values: Iterator[Any]) -> Any:
    total: Any = 0
    for value in values:
        total = total + value
    return arith.normalize(total)


def _stage(run: list[Step]) -> Stage:
    """A run's measures, as the totals count them (:func:`.result.summarize`): parameters of
    every layer, training-only heads included; MACs and memory of inference only."""
    rows = [row for step in run for row in leaf_rows(step)]
    inference = [row for row in rows if not row.training_only]
    last = _last(run).row
    measures = Measures(
        params=_sum(row.params for row in rows),
        macs=_sum(row.macs for row in inference),
        activation_bytes=arith.normalize(
            BYTES_PER_ELEMENT * _sum(row.activation_elements for row in inference)
        ),
        depth=last.depth,
        receptive_field=field_sizes(last),
    )
    names = tuple(step.row.path for step in run if not step.row.training_only)
    heads = tuple(step.row.path for step in run if step.row.training_only)
    return Stage(resolution(last), names or heads, last.output_shape, measures, heads)


def match_stages(first: Sequence[Stage], second: Sequence[Stage]) -> tuple[StagePair, ...]:
    """Pair stages of equal resolution (in order); the stages in between pair by order."""
    keys = SequenceMatcher(
        None, [stage.resolution for stage in first], [stage.resolution for stage in second]
    )
    pairs: list[StagePair] = []
    for _tag, first_start, first_end, second_start, second_end in keys.get_opcodes():
        pairs += [
            StagePair(one, other)
            for one, other in zip_longest(
                first[first_start:first_end], second[second_start:second_end]
            )
        ]
    return tuple(pairs)
