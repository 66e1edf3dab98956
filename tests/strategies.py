"""Hypothesis strategies for random valid specs: every layer kind and every structure.

Specs grow one item at a time; after each item the partial spec is analysed so the next
item is drawn for the real current shape. An item the engine rejects (a SpecError: kernel
larger than the input, branches that disagree...) is dropped, so what remains is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis
import yaml
from hypothesis import strategies as st

import cnncalc

Shape = tuple[int, ...]
Draw = Callable[[st.SearchStrategy[Any]], Any]

PADDING_WORDS = ["valid", "same", "same_tf", "full"]
PADDINGS = st.one_of(st.integers(0, 2), st.sampled_from(PADDING_WORDS))


def _pair(draw: Draw, low: int, high: int) -> Any:
    if draw(st.booleans()):
        return draw(st.integers(low, high))
    return [draw(st.integers(low, high)), draw(st.integers(low, high))]


def _divisor(draw: Draw, count: int) -> int:
    return draw(st.sampled_from([d for d in range(1, min(count, 4) + 1) if count % d == 0]))


def conv(draw: Draw, shape: Shape) -> Any:
    groups = _divisor(draw, shape[0])
    padding = draw(PADDINGS)
    stride = 1 if padding == "same" else _pair(draw, 1, 3)
    fields = {
        "filters": groups * draw(st.integers(1, 4)),
        "kernel": _pair(draw, 1, 5),
        "stride": stride,
        "padding": padding,
        "dilation": _pair(draw, 1, 2),
        "groups": groups,
        "bias": draw(st.booleans()),
    }
    if draw(st.booleans()):
        fields["in_channels"] = shape[0]  # declared as it arrives (optional)
    return {"conv": fields}


def depthwise(draw: Draw, shape: Shape) -> Any:
    padding = draw(PADDINGS)
    return {
        "depthwise": {
            "kernel": _pair(draw, 1, 3),
            "stride": 1 if padding == "same" else draw(st.integers(1, 2)),
            "padding": padding,
            "dilation": _pair(draw, 1, 2),
            "multiplier": draw(st.integers(1, 2)),
            "bias": draw(st.booleans()),
        }
    }


def conv_transpose(draw: Draw, shape: Shape) -> Any:
    groups = _divisor(draw, shape[0])
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    return {
        "conv_transpose": {
            "filters": groups * draw(st.integers(1, 3)),
            "kernel": _pair(draw, 1, 4),
            "stride": stride,
            "padding": draw(st.integers(0, 1)),
            "output_padding": draw(st.integers(0, max(stride, dilation) - 1)),
            "dilation": dilation,
            "groups": groups,
            "bias": draw(st.booleans()),
        }
    }


def pool(kind: str) -> Callable[[Draw, Shape], Any]:
    """Every padding word, with ceil_mode drawn freely: a combination the engine refuses
    (ceil_mode with a word that pads past half the kernel) is dropped by random_specs."""

    def strategy(draw: Draw, shape: Shape) -> Any:
        kernel = draw(st.integers(1, 4))
        padding = draw(st.one_of(st.integers(0, kernel // 2), st.sampled_from(PADDING_WORDS)))
        fields: dict[str, Any] = {"kernel": kernel, "ceil_mode": draw(st.booleans())}
        if padding == "same":
            fields["stride"] = 1  # 'same' needs stride 1 (and the default stride is the kernel)
        elif draw(st.booleans()):
            fields["stride"] = draw(st.integers(1, 3))
        fields["padding"] = padding
        if kind == "avgpool":
            fields["count_include_pad"] = draw(st.booleans())
        elif draw(st.booleans()):
            fields["dilation"] = draw(st.integers(1, 2))
        return {kind: fields}

    return strategy


def adaptive(kind: str) -> Callable[[Draw, Shape], Any]:
    return lambda draw, shape: {kind: _pair(draw, 1, 4)}


def linear(draw: Draw, shape: Shape) -> Any:
    return {"linear": {"features": draw(st.integers(1, 16)), "bias": draw(st.booleans())}}


def simple(item: Any) -> Callable[[Draw, Shape], Any]:
    return lambda draw, shape: item


def activation(kind: str) -> Callable[[Draw, Shape], Any]:
    options = {
        "leaky_relu": {"leaky_relu": 0.2},
        "elu": {"elu": {"alpha": 0.5}},
        "gelu": {"gelu": {"approximate": "tanh"}},
    }
    return simple(options.get(kind, kind))


def zeropad(draw: Draw, shape: Shape) -> Any:
    form = draw(st.sampled_from(["list", "sides", "pairs"]))
    if form == "sides":
        sides = draw(st.sets(st.sampled_from(["top", "bottom", "left", "right"]), min_size=1))
        return {"zeropad": {side: draw(st.integers(0, 2)) for side in sorted(sides)}}
    if form == "pairs":
        return {"zeropad": [[draw(st.integers(0, 2)) for _ in range(2)] for _ in range(2)]}
    size = draw(st.sampled_from([1, 2, 4]))
    return {
        "zeropad": [draw(st.integers(0, 2)) for _ in range(size)]
        if size > 1
        else draw(st.integers(0, 2))
    }


def channel_shuffle(draw: Draw, shape: Shape) -> Any:
    return {"channel_shuffle": _divisor(draw, shape[0])}


def channel_split(draw: Draw, shape: Shape) -> Any:
    channels = shape[0]
    if channels > 1 and draw(st.booleans()):
        first = draw(st.integers(1, channels - 1))
        return {
            "channel_split": {
                "sections": [first, channels - first],
                "index": draw(st.integers(0, 1)),
            }
        }
    parts = _divisor(draw, channels)
    return {"channel_split": {"sections": parts, "index": draw(st.integers(0, parts - 1))}}


def upsample(draw: Draw, shape: Shape) -> Any:
    mode = draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))
    fields: dict[str, Any] = {"mode": mode}
    if draw(st.booleans()):
        fields["scale"] = _pair(draw, 1, 3)
    else:
        fields["size"] = _pair(draw, 1, 30)
    if mode != "nearest":
        fields["align_corners"] = draw(st.booleans())
    return {"upsample": fields}


def crop(draw: Draw, shape: Shape) -> Any:
    if len(shape) != 3:  # after a mean: refused, and dropped
        return {"crop": 1}
    return {"crop": [draw(st.integers(1, shape[1])), draw(st.integers(1, shape[2]))]}


def pixel_shuffle(draw: Draw, shape: Shape) -> Any:
    factors = [r for r in (1, 2) if shape[0] % (r * r) == 0]
    return {"pixel_shuffle": draw(st.sampled_from(factors))}


def pixel_unshuffle(draw: Draw, shape: Shape) -> Any:
    if len(shape) != 3:
        return {"pixel_unshuffle": 1}
    factors = [r for r in (1, 2, 3) if shape[1] % r == 0 and shape[2] % r == 0]
    return {"pixel_unshuffle": draw(st.sampled_from(factors))}


KIND_STRATEGIES: dict[str, Callable[[Draw, Shape], Any]] = {
    "conv": conv,
    "depthwise": depthwise,
    "conv_transpose": conv_transpose,
    "linear": linear,
    "maxpool": pool("maxpool"),
    "avgpool": pool("avgpool"),
    "global_avgpool": simple("global_avgpool"),
    "global_maxpool": simple("global_maxpool"),
    "adaptive_avgpool": adaptive("adaptive_avgpool"),
    "adaptive_maxpool": adaptive("adaptive_maxpool"),
    "batchnorm": lambda draw, shape: {"batchnorm": {"affine": draw(st.booleans())}},
    "layernorm": lambda draw, shape: {"layernorm": {"affine": draw(st.booleans())}},
    "lrn": lambda draw, shape: {"lrn": draw(st.integers(1, 5))},
    **{
        kind: activation(kind)
        for kind in (
            "relu",
            "relu6",
            "leaky_relu",
            "elu",
            "tanh",
            "sigmoid",
            "gelu",
            "silu",
            "hardswish",
            "hardsigmoid",
            "softmax",
        )
    },
    "dropout": lambda draw, shape: {"dropout": draw(st.sampled_from([0.0, 0.5]))},
    "flatten": simple("flatten"),
    "identity": simple("identity"),
    "zeropad": zeropad,
    "channel_shuffle": channel_shuffle,
    "channel_split": channel_split,
    "upsample": upsample,
    "crop": crop,
    "pixel_shuffle": pixel_shuffle,
    "pixel_unshuffle": pixel_unshuffle,
    "scale": lambda draw, shape: {"scale": draw(st.sampled_from([1e-6, 1.0]))},
    "mean": lambda draw, shape: {"mean": {"keepdim": draw(st.booleans())}},
}
"""One strategy per registered kind (a registry test checks none is missing)."""

FLAT_KINDS = (
    "linear",
    "batchnorm",
    "layernorm",
    "relu",
    "tanh",
    "sigmoid",
    "gelu",
    "softmax",
    "dropout",
    "identity",
    "elu",
    "silu",
    "hardswish",
    "relu6",
    "leaky_relu",
    "hardsigmoid",
    "channel_split",
    "scale",
)


def residual(draw: Draw, shape: Shape) -> Any:
    filters = draw(st.sampled_from([shape[0], shape[0] + 2]))
    stride = draw(st.integers(1, 2))
    body = [
        {"conv": {"filters": filters, "kernel": 3, "stride": stride, "padding": 1, "bias": False}},
        "batchnorm",
        "relu",
        {"conv": {"filters": filters, "kernel": 3, "padding": 1}},
    ]
    return {
        "residual": {"body": body, "shortcut": draw(st.sampled_from(["auto", "projection"]))},
        "then": "relu",
    }


def branches(merge: str) -> Callable[[Draw, Shape], Any]:
    def strategy(draw: Draw, shape: Shape) -> Any:
        count = draw(st.integers(2, 3))
        options = []
        for _ in range(count):
            if merge == "concat":
                options.append(
                    draw(
                        st.sampled_from(
                            [
                                [],
                                [{"conv": {"filters": draw(st.integers(1, 5)), "kernel": 1}}],
                                [{"conv": {"filters": 3, "kernel": 3, "padding": "same"}}, "relu"],
                                [{"maxpool": {"kernel": 3, "stride": 1, "padding": 1}}],
                                [{"channel_split": {"sections": 1, "index": 0}}],
                            ]
                        )
                    )
                )
            else:
                options.append(
                    draw(
                        st.sampled_from(
                            [
                                [],
                                [{"conv": {"filters": shape[0], "kernel": 3, "padding": 1}}],
                                [
                                    "global_avgpool",
                                    {"conv": {"filters": shape[0], "kernel": 1}},
                                    "sigmoid",
                                ],
                            ]
                        )
                    )
                )
        return {merge: options}

    return strategy


def dense_block(draw: Draw, shape: Shape) -> Any:
    return {
        "dense_block": {
            "count": draw(st.integers(1, 3)),
            "growth": draw(st.integers(1, 4)),
            "layer": [
                "batchnorm",
                "relu",
                {"conv": {"filters": "growth", "kernel": 3, "padding": 1}},
            ],
        }
    }


def repeat_block(draw: Draw, shape: Shape) -> Any:
    item: dict[str, Any] = {
        "repeat": draw(st.integers(1, 2)),
        "block": "unit",
        "with": {"width": draw(st.integers(1, 6))},
    }
    if draw(st.booleans()):
        item["first"] = {"stride": 2}
    if draw(st.booleans()):
        item["name"] = "stage"
    return item


STRUCTURE_STRATEGIES: dict[str, Callable[[Draw, Shape], Any]] = {
    "residual": residual,
    "concat": branches("concat"),
    "add": branches("add"),
    "multiply": branches("multiply"),
    "dense_block": dense_block,
    "repeat": repeat_block,
    "sequence": lambda draw, shape: {"sequence": [conv(draw, shape), "relu"]},
}

BLOCKS = {
    "unit": {
        "args": ["width", {"stride": 1}],
        "layers": [
            {
                "conv": {
                    "filters": "in_channels + width",
                    "kernel": 3,
                    "stride": "stride",
                    "padding": 1,
                }
            },
            "relu",
        ],
    }
}


def spec_text(input_shape: list[Any], layers: list[Any]) -> str:
    return yaml.safe_dump(
        {"name": "random", "input": input_shape, "blocks": BLOCKS, "layers": layers},
        sort_keys=False,
    )


def try_analyse(input_shape: list[Any], layers: list[Any], numeric: Shape) -> Any:
    try:
        spec = cnncalc.parse_spec(spec_text(input_shape, layers), "random.yaml")
        return cnncalc.analyse(spec, list(numeric))
    except cnncalc.SpecError:
        return None


@st.composite
def random_specs(draw: Draw, max_items: int = 6) -> tuple[str, Shape]:
    """(spec text, numeric input): a random valid network. The spec's input is often
    symbolic ([C, H, W]) and the numbers are substituted at analysis time."""
    input_shape, numeric = _input(draw)
    layers: list[Any] = []
    shape: Shape = numeric
    for _ in range(draw(st.integers(1, max_items))):
        shape = _grow(input_shape, layers, numeric, shape, _items(draw, shape))
    if not layers:
        layers = ["identity"]
    return spec_text(input_shape, layers), numeric


STEM = {"conv": {"filters": 4, "kernel": 3, "padding": 1}}
"""A small conv stem: the kind under test then sees 4 channels and a real spatial shape."""


@st.composite
def specs_with_kind(draw: Draw, kind: str, tries: int = 8) -> tuple[str, Shape]:
    """(spec text, numeric input): a valid network that always holds a layer of `kind`:
    stem, a few random items, the kind (after a flatten for linear), a few more items."""
    input_shape, numeric = _input(draw)
    layers: list[Any] = [STEM]
    shape = try_analyse(input_shape, layers, numeric).output_shape
    for _ in range(draw(st.integers(0, 2))):
        items = _items(draw, shape)
        if kind in FLAT_KINDS or not {"flatten", "mean"} & set(map(_kind_of, items)):
            # a kind random_specs never draws on a flat input does not get one here either
            # (lrn needs C×H×W: after a flatten or a mean every draw of it would be refused)
            shape = _grow(input_shape, layers, numeric, shape, items)
    needs_flat = kind == "linear" and len(shape) > 1
    for _ in range(tries):
        candidate = [KIND_STRATEGIES[kind](draw, shape)]
        grown = _grow(input_shape, layers, numeric, shape, ["flatten"] * needs_flat + candidate)
        if grown is not shape:
            shape = grown
            break
    else:
        hypothesis.assume(False)
    for _ in range(draw(st.integers(0, 2))):
        shape = _grow(input_shape, layers, numeric, shape, _items(draw, shape))
    return spec_text(input_shape, layers), numeric


def _input(draw: Draw) -> tuple[list[Any], Shape]:
    numeric = (draw(st.integers(1, 6)), draw(st.integers(6, 24)), draw(st.integers(6, 24)))
    symbolic = draw(st.booleans())
    return ([numeric[0], "H", "W"] if symbolic else list(numeric)), numeric


def _grow(
    input_shape: list[Any], layers: list[Any], numeric: Shape, shape: Shape, items: list[Any]
) -> Shape:
    """Append `items` to `layers` if the engine accepts them; return the new output shape
    (or `shape` itself, unchanged, when they are refused and dropped)."""
    analysis = try_analyse(input_shape, [*layers, *items], numeric)
    if analysis is None:
        return shape
    layers.extend(items)
    hypothesis.event(f"accepted {', '.join(_kind_of(item) for item in items)}")
    return analysis.output_shape


def _kind_of(item: Any) -> str:
    return item if isinstance(item, str) else next(iter(item))


def _items(draw: Draw, shape: Shape) -> list[Any]:
    """One drawn item, or for a linear on a spatial shape a flatten then the linear: a
    linear needs a flat input, and without this it would almost never be accepted."""
    if len(shape) == 1:
        return [KIND_STRATEGIES[draw(st.sampled_from(FLAT_KINDS))](draw, shape)]
    if draw(st.integers(0, 3)) == 0:
        structure = draw(st.sampled_from(sorted(STRUCTURE_STRATEGIES)))
        return [STRUCTURE_STRATEGIES[structure](draw, shape)]
    kind = draw(st.sampled_from(sorted(KIND_STRATEGIES)))
    item = KIND_STRATEGIES[kind](draw, shape)
    return ["flatten", item] if kind == "linear" else [item]
