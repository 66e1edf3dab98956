"""Shared fixtures: the repository root and helpers to analyse inline specs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

import cnncalc

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))

BASE_EXAMPLES = 100
"""Hypothesis's own default budget: a test asking for ``examples(120)`` runs 120 under it."""

# `pytest --hypothesis-profile thorough` (`make thorough`): ten times the examples of every
# property test, for a nightly or pre-release run; the default suite stays sized for CI
# time on 2 cores. Random rather than derandomized, so each thorough run explores anew.
settings.register_profile(
    "thorough", max_examples=10 * BASE_EXAMPLES, derandomize=False, print_blob=True
)


def examples(count: int, profile: settings | None = None) -> int:
    """``count`` examples under the default budget, scaled by the loaded profile's (or the
    given one's), so one flag makes every property test search harder in proportion."""
    budget = (profile or settings.default).max_examples
    return max(1, count * budget // BASE_EXAMPLES)


def analyse_text(text: str, input_shape=None, batch: int = 1) -> cnncalc.Analysis:
    """Analyse a spec given as (indented) YAML text."""
    spec = cnncalc.parse_spec(textwrap.dedent(text), "inline.yaml")
    return cnncalc.analyse(spec, input_shape, batch)


def one_layer(layer: str, input_shape: str) -> cnncalc.Row:
    """The row of a one-layer spec: ``one_layer("conv: {filters: 8, kernel: 3}", "[3, 8, 8]")``."""
    analysis = analyse_text(f"name: one\ninput: {input_shape}\nlayers:\n  - {layer}\n")
    return analysis.layers[0]


@pytest.fixture
def root() -> Path:
    return ROOT
