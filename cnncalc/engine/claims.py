"""Answer checking: ``expect:`` claims on layers and totals, judged right or wrong.

A claim is what a worked solution states: ``expect: {output: 55x55x96, params: 34944}``.
Numbers are exact (``34944`` or ``"34,944"``) or rounded (``"27.55M"``: right when the true
value rounds to it). Shapes are written as the notes write them, H×W×D (``55x55x96``), or
as a list in cnncalc's C×H×W order (``[96, 55, 55]``), or a number for a flat vector.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from .. import arith
from ..errors import Loc, SpecError
from .result import Row, Totals, field_sizes

LAYER_KEYS = ("output", "params", "weights", "macs", "flops", "receptive_field")
TOTAL_KEYS = ("output", "params", "weights", "macs", "flops", "depth", "receptive_field")
_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}
_NUMBER = re.compile(r"^\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*([KMGBT]?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Claim:
    path: str
    """The layer path, or '' for the totals."""
    key: str
    claimed: str
    actual: str
    ok: bool
    loc: Loc | None = None
    note: str = ""
    """What explains the verdict: the true value at the claim's precision, or a hint."""


def check_keys(
    expect: Mapping[str, Any], locs: Mapping[str, Loc], allowed: tuple[str, ...], layer: str | None
) -> None:
    for key in expect:
        if key not in allowed:
            from ..errors import did_you_mean

            raise SpecError(
                f"unknown claim '{key}' in expect",
                locs.get(key),
                layer=layer,
                key=key,
                hint=did_you_mean(key, allowed) or f"expect accepts: {', '.join(allowed)}",
            )


def judge_row(row: Row, expect: Mapping[str, Any], locs: Mapping[str, Loc]) -> list[Claim]:
    """Claims about one layer (or a block: its subtotals)."""
    check_keys(expect, locs, LAYER_KEYS, row.path)
    actual = {
        "output": row.output_shape,
        "params": row.params,
        "weights": row.weights,
        "macs": row.macs,
        "flops": row.flops,
        "receptive_field": field_sizes(row),
    }
    return [_judge(row.path, key, expect[key], actual[key], locs.get(key)) for key in expect]


def judge_totals(
    totals: Totals,
    output: tuple[Any, ...],
    expect: Mapping[str, Any],
    locs: Mapping[str, Loc],
    field: tuple[Any, ...] = (),
) -> list[Claim]:
    """Claims about the whole network; ``field`` is its receptive field (the last spatial
    layer's, per axis), empty for a network without one."""
    check_keys(expect, locs, TOTAL_KEYS, None)
    actual = {
        "output": output,
        "params": totals.params,
        "weights": totals.weights,
        "macs": totals.macs,
        "flops": totals.flops,
        "depth": totals.depth,
        "receptive_field": field,
    }
    return [_judge("", key, expect[key], actual[key], locs.get(key)) for key in expect]


def _judge(path: str, key: str, claimed: Any, actual: Any, loc: Loc | None) -> Claim:
    if key == "output":
        ok, shown = _judge_shape(claimed, actual, path, loc)
        return Claim(
            path,
            key,
            _claim_text(claimed),
            shown,
            ok,
            loc,
            "" if ok else _order_hint(claimed, actual),
        )
    if key == "receptive_field":
        sizes = _receptive_field(claimed, path, loc)
        ok = sizes == tuple(actual)
        shown = "×".join(arith.as_text(size) for size in actual) or "none (a flat output)"
        return Claim(path, key, _claim_text(claimed), shown, ok, loc)
    low, high = _number_range(claimed, path, key, loc)
    ok = isinstance(actual, int) and low <= actual <= high
    note = "" if ok or low == high else f"≈ {_at_precision(actual, claimed)}"
    return Claim(
        path, key, _claim_text(claimed), arith.as_text(actual, thousands=True), ok, loc, note
    )


def _at_precision(actual: Any, claimed: Any) -> str:
    """The true value written like a rounded claim: 62,378,344 as '62.4M' for '62.3M'."""
    if not isinstance(actual, int):
        return arith.as_text(actual)
    match = _NUMBER.match(str(claimed)) if isinstance(claimed, str) else None
    if match is None:
        value = Decimal(repr(claimed)).normalize() if isinstance(claimed, float) else None
        if value is None:
            return f"{actual:,}"
        exponent = int(value.as_tuple().exponent)
        with localcontext() as context:  # 1.0e-300: quantizing needs 300 more digits
            context.prec = len(str(abs(actual))) + abs(exponent) + 8
            rounded = Decimal(actual).quantize(Decimal(1).scaleb(exponent))
        return f"{rounded:.4E}".replace("E+", "e")
    digits, suffix = match.group(1), match.group(2).upper()
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return f"{Decimal(actual) / _SUFFIXES[suffix]:.{decimals}f}{suffix}"


def _order_hint(claimed: Any, actual: tuple[Any, ...]) -> str:
    """A volume written channels first (480x14x14) is read as H×W×D: say so when that is
    the only thing wrong."""
    if not isinstance(claimed, str) or len(actual) != 3:
        return ""
    parts = re.split(r"\s*[x×]\s*", claimed.strip())
    if all(part.isdigit() for part in parts) and tuple(int(p) for p in parts) == tuple(actual):
        return "read as H×W×D; as C×H×W it is right: write it [C, H, W] as a list"
    return ""


def _claim_text(claimed: Any) -> str:
    if isinstance(claimed, list):
        return "[" + ", ".join(str(item) for item in claimed) + "]"
    if isinstance(claimed, int) and not isinstance(claimed, bool):
        return f"{claimed:,}"
    return str(claimed)


def _number_range(claimed: Any, path: str, key: str, loc: Loc | None) -> tuple[Decimal, Decimal]:
    """The values a claim allows: exact for integers, ± half a unit of the last digit shown
    for rounded figures such as 27.55M."""
    if isinstance(claimed, int) and not isinstance(claimed, bool):
        return Decimal(claimed), Decimal(claimed)
    scientific = _scientific(claimed)
    if scientific is not None:
        return scientific
    match = _NUMBER.match(str(claimed)) if isinstance(claimed, str) else None
    if match is None:
        raise SpecError(
            f"claim {key} = {claimed!r} is not a number",
            loc,
            layer=path or None,
            key=key,
            hint="write 34944, '34,944' or a rounded figure such as '27.55M'",
        )
    digits, suffix = match.group(1).replace(",", "").replace("_", ""), match.group(2).upper()
    scale = Decimal(_SUFFIXES[suffix])
    value = Decimal(digits) * scale
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    if decimals == 0 and not suffix:
        return value, value
    unit = scale / Decimal(10) ** decimals
    # at the precision it was written in: rounded (102.76M as 103M) or cut (as 102M, the way
    # the notes often write it), so anything from half a unit below to a unit above
    return value - unit / 2, value + unit - 1


def _scientific(claimed: Any) -> tuple[Decimal, Decimal] | None:
    """4.49e10 (a YAML float or text): right within half a unit of its last digit."""
    if isinstance(claimed, bool) or not isinstance(claimed, float | str):
        return None
    text = repr(claimed) if isinstance(claimed, float) else claimed.strip().replace(" ", "")
    text = re.sub(r"[x×]10\^", "e", text)
    if isinstance(claimed, str) and "e" not in text.lower():
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        return None
    if isinstance(claimed, float):
        value = value.normalize()
    half = Decimal(5).scaleb(int(value.as_tuple().exponent) - 1)
    return value - half, value + half


def _judge_shape(
    claimed: Any, actual: tuple[Any, ...], path: str, loc: Loc | None
) -> tuple[bool, str]:
    """(right?, the true shape written the way the claim was)."""
    if isinstance(claimed, list):
        return list(actual) == claimed, "[" + ", ".join(arith.as_text(d) for d in actual) + "]"
    if isinstance(claimed, int) and not isinstance(claimed, bool):
        return actual == (claimed,), arith.as_text(actual[0])
    parts = re.split(r"\s*[x×]\s*", str(claimed).strip()) if isinstance(claimed, str) else []
    if len(parts) not in (1, 3) or not all(part.isdigit() for part in parts):
        raise SpecError(
            f"claimed output {claimed!r} is not a shape",
            loc,
            layer=path or None,
            key="output",
            hint="write it as the notes do, H×W×D: 55x55x96 (or [C, H, W], or N if flat)",
        )
    numbers = tuple(int(part) for part in parts)
    if len(actual) == 3:
        notes_order = (actual[1], actual[2], actual[0])
        shown = "×".join(arith.as_text(dim) for dim in notes_order)
        return numbers == notes_order, shown
    return numbers == actual, arith.as_text(actual[0])


def _receptive_field(claimed: Any, path: str, loc: Loc | None) -> tuple[int, ...]:
    if isinstance(claimed, int) and not isinstance(claimed, bool):
        return (claimed, claimed)
    parts = re.split(r"\s*[x×]\s*", str(claimed).strip())
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        return (int(parts[0]), int(parts[1]))
    raise SpecError(
        f"claimed receptive_field {claimed!r} is not a size",
        loc,
        layer=path or None,
        key="receptive_field",
        hint="write 11 or 11x11",
    )
