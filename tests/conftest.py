"""Shared fixtures: the repository root and helpers to analyse inline specs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import cnncalc

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


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
