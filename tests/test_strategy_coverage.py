"""Every layer kind, drawn by its hypothesis strategy, agrees with PyTorch (on meta).

tests/test_torch.py's random specs mix all kinds, so a rare kind (or a rare combination of
its fields) could go unchecked for many runs; here each kind gets its own examples."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.layers import KINDS

from .conftest import examples
from .strategies import KIND_STRATEGIES, specs_with_kind

pytest.importorskip("torch")

from cnncalc.torch.verify import verify


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_each_kind_drawn_by_its_strategy_agrees_with_torch(kind, data):
    assert kind in KIND_STRATEGIES
    text, numeric = data.draw(specs_with_kind(kind), label="spec")
    analysis = cnncalc.analyse(cnncalc.parse_spec(text, "random.yaml"), list(numeric))
    assert any(row.kind == kind for row in analysis.rows), text
    result = verify(analysis, device="meta", peers=())
    assert result.ok, (text, result.failure, result.mismatches)
