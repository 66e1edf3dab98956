"""Where a symbolic analysis' formulas hold: the smallest input every layer accepts."""

from __future__ import annotations

from pathlib import Path

import cnncalc
from cnncalc import arith
from cnncalc.engine.validity import SCAN, _smallest, smallest_inputs

from .conftest import analyse_text

ROOT = Path(__file__).resolve().parent.parent


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


def test_a_known_valid_size_is_searched_down_from():
    """From a valid start the search steps down 1, 2, 4, … and bisects: the same answer as
    from scratch, and a single failed try below the start when the start is the answer."""
    for bound in (1, 2, 37, 75, 299):

        def valid(size: int, bound: int = bound) -> bool:
            return size >= bound

        assert _smallest(valid, start=299) == _smallest(valid) == bound
    calls: list[int] = []
    assert _smallest(lambda size: calls.append(size) or size >= 75, start=75) == 75
    assert calls == [74, *range(75, 84)]  # one step down, then the scan from 75
    assert _smallest(lambda size: size >= 100 and size != 103, start=200) == 104


def test_each_input_shape_is_analysed_once():
    """LeNet-5 in H and W: the search for both together and then for each symbol meets the
    same shapes again; each is analysed once (57 analyses of 52 shapes before), and above
    the joint answer the other symbol moves with the searched one, so a symmetric network
    re-uses the joint search's tries."""
    spec = cnncalc.load_spec(ROOT / "specs" / "lenet5.yaml")
    shapes: list[tuple[int, ...]] = []

    def analyse(shape):
        shapes.append(tuple(shape))
        return cnncalc.analyse(spec, input_shape=shape)

    found = smallest_inputs(analyse, (1, arith.symbol("H"), arith.symbol("W")))
    assert found == {"H": 32, "W": 32}
    assert len(shapes) == len(set(shapes)) <= 20
    # H from 32 to 40 with W at those sizes too: tried once, by the joint search
    assert {(1, size, size) for size in range(32, 41)} <= set(shapes)
    assert (1, 31, 32) in shapes and (1, 32, 31) in shapes  # each symbol's bound is its own
