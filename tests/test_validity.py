"""Where a symbolic analysis' formulas hold: the smallest input every layer accepts."""

from __future__ import annotations

import cnncalc
from cnncalc.engine.validity import SCAN, _smallest

from .conftest import analyse_text


def test_a_large_bound_on_one_axis_does_not_hide_the_other():
    """W must reach 5,000 for the kernel to fit; H only 3. With W held too small while H is
    searched, no H would look valid."""
    spec = "name: wide\ninput: [3, 32, 32]\nlayers:\n  - conv: {filters: 2, kernel: [3, 5000]}\n"
    analysis = cnncalc.analyse(cnncalc.parse_spec(spec), input_shape=[3, "H", "W"])
    assert analysis.valid_from == {"H": 3, "W": 5000}


def test_the_bisection_finds_the_first_size_of_a_valid_run():
    assert _smallest(lambda size: size >= 37) == 37
    # an odd size that fails just above the bisection's answer moves the answer up
    assert _smallest(lambda size: size >= 100 and size != 103) == 104


def test_sizes_valid_only_here_and_there_give_no_range_and_no_hang():
    calls = []

    def every_other(size: int) -> bool:
        calls.append(size)
        return size >= 100 and size % 2 == 0

    assert _smallest(every_other) is None
    assert len(calls) < 40 + SCAN * 2


def test_independent_symbols_each_get_their_bound():
    analysis = analyse_text("""
        name: lenet-like
        input: [1, H, W]
        layers:
          - conv: {filters: 2, kernel: [5, 3]}
          - maxpool: 2
    """)
    # H: (H − 4) must give a 2-window: H ≥ 6; W: (W − 2) ≥ 2: W ≥ 4
    assert analysis.valid_from == {"H": 6, "W": 4}
