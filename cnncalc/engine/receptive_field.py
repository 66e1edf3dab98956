"""Receptive fields: the per-layer recurrence and the merge of branches' fields.

Each layer kind states its window (k, s, p) per axis, or a gathered rule; here they become
(size, jump, start) per axis along the network, and merges combine their branches' fields.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .. import arith
from .field_merge import largest


def order_key(value: Any) -> Any:
    return value if isinstance(value, int) else 0


def keeps_size(branch: tuple[Any, ...], merged: tuple[Any, ...], axis: int) -> bool:
    """Whether a branch keeps the merged size along ``axis`` (H 0, W 1); one broadcast from 1
    along it (squeeze-and-excitation, strip pooling) has one value there, not a grid."""
    if len(branch) != 3 or len(merged) != 3:
        return True
    return arith.equal(branch[axis + 1], merged[axis + 1]) is not False


def merged_field(fields: list[tuple[Any, Any, Any]], full_size: list[bool]) -> tuple[Any, Any, Any]:
    """A merged pixel sees what all its branches see. Along an axis where branches keep the
    size, their windows slide together (one jump), so the merged window spans from the
    earliest start to the latest end: offset windows (padding 1 against TensorFlow's 0+1)
    see more together than either alone. A branch broadcast from 1 along the axis (a global
    pool) sees its whole extent for every output: it can set the size, but the jump and the
    start stay those of the sliding branches."""
    sliding = [field for field, full in zip(fields, full_size, strict=True) if full] or fields
    start = sliding[0][2]
    for _, _, first in sliding[1:]:
        start = arith.minimum(start, first)
    # one flat max of candidates (field_merge): nested maxima doubled at every SE block
    size = largest(
        [arith.normalize(first + size - start) for size, _, first in sliding]
        + [other for other, _, _ in fields]
    )
    jump = max(sliding, key=lambda item: order_key(item[0]))[1]
    return size, jump, start


def advance(
    field: tuple[tuple[Any, Any, Any], ...], window: tuple[Any, ...] | None
) -> tuple[tuple[Any, Any, Any], ...]:
    """Receptive-field recurrence (k is the effective kernel d·(k − 1) + 1):
    r_out = r_in + (k − 1)·j_in, j_out = j_in·s, start_out = start_in − p·j_in.
    A transposed conv's stride is a fraction 1/s (its outputs are closer than its inputs), so
    jumps and starts may be exact fractions; whole ones are turned back into ints."""
    if window is None:
        return field
    return tuple(
        (
            _pixels(arith.normalize(size + (kernel - 1) * jump)),
            _whole(arith.normalize(jump * stride)),
            _whole(arith.normalize(start - pad * jump)),
        )
        for (size, jump, start), (kernel, stride, pad) in zip(field, window, strict=True)
    )


def _pixels(value: Any) -> Any:
    """A receptive field is a whole number of pixels: after uneven adaptive windows (a mean,
    fractional jump, which that layer warns about) the partial pixel counts as one."""
    if isinstance(value, Fraction):
        return -(-value.numerator // value.denominator)
    if getattr(value, "is_Rational", False) and not value.is_Integer:  # sympy's, in a
        return -(-int(value.p) // int(value.q))  # symbolic analysis: the same rounding
    return value


def _whole(value: Any) -> Any:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value
