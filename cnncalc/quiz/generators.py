"""The question generators, one per topic, each on the engine's layer rules.

A generator draws a few layers with exam-friendly numbers for the difficulty, lets the engine
analyse them (:mod:`cnncalc.quiz.engine`), and reads the answers from the analysis and the
working from the layer explanations. Easy: one layer, square inputs, small round numbers,
divisions that come out exact. Medium: rectangular inputs, ``same`` padding, two or three
layers. Hard: dilation, rectangular kernels, TensorFlow's ``same_tf``, longer stacks, traps.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..engine.memory import memory_report
from ..engine.savings import (
    GLOBAL_POOLING,
    REDUCTION,
    SEPARABLE,
    STACKED,
    Saving,
    find_savings,
)
from ..errors import SpecError
from ..layers.geometry import lost_pixels
from ..report.text_report import equation_line
from .drafts import MAX_TRIES, Box, Draft, draw, pick
from .engine import Built, Layer, build, describe, exact, shown, try_build, work_lines
from .model import Measure, QuizError

Generator = Callable[[random.Random, str], Draft]

CHANNELS = {"easy": (1, 3, 8, 16), "medium": (3, 8, 16, 32, 64), "hard": (3, 16, 24, 48, 64, 96)}
FILTERS = {
    "easy": (8, 16, 32, 64),
    "medium": (16, 32, 48, 64, 96, 128),
    "hard": (24, 48, 64, 96, 128, 192, 256),
}
SIZES: dict[str, Any] = {
    # easy: the sizes of exam papers (powers of two, MNIST's 28, the odd sizes that stride 2
    # divides exactly); medium and hard: anything in range
    "easy": (7, 9, 11, 13, 15, 16, 17, 24, 25, 27, 28, 29, 31, 32, 33, 48, 55, 56, 57, 63, 64),
    "medium": range(12, 129),
    "hard": range(15, 228),
}
DIMENSIONS = (("H_out", 1), ("W_out", 2), ("D_out", 0))
MIB = 2**20
MAX_MACS = {"easy": 5 * 10**7, "medium": 10**9, "hard": 5 * 10**9}


def _square(rng: random.Random, level: str) -> bool:
    return level == "easy" or rng.random() < 0.3


def _input(rng: random.Random, level: str, channels: int | None = None) -> list[int]:
    height = pick(rng, SIZES[level])
    width = height if _square(rng, level) else pick(rng, SIZES[level])
    return [channels or pick(rng, CHANNELS[level]), height, width]


def _dimension_boxes(built: Built, path: str, spec: str = "network") -> list[Box]:
    """H_out, W_out and D_out of ``path``, one mark each."""
    row = built.row(path)
    return [
        Box(label, row.output_shape[axis], Measure("dim", spec, path, axis))
        for label, axis in DIMENSIONS
    ]


# ------------------------------------------------------------------ output volume


def _conv_fields(rng: random.Random, level: str) -> dict[str, Any]:
    kernel = pick(rng, {"easy": (1, 3, 5, 7), "medium": (1, 3, 5, 7, 11), "hard": (3, 5, 7)}[level])
    fields: dict[str, Any] = {"filters": pick(rng, FILTERS[level]), "kernel": kernel}
    fields["stride"] = pick(rng, {"easy": (1, 2), "medium": (1, 2, 4), "hard": (1, 2, 3)}[level])
    if level == "hard" and rng.random() < 0.4:
        fields["kernel"] = [kernel, pick(rng, (1, 3, 5))]
    if level == "hard" and rng.random() < 0.5:
        fields["dilation"] = pick(rng, (2, 3))
    paddings: tuple[Any, ...] = tuple(range(kernel // 2 + 1))
    if level != "easy":
        paddings += ("valid",) + (("same",) if fields["stride"] == 1 else ())
    if level == "hard":
        paddings += ("same_tf", "same_tf")
    fields["padding"] = pick(rng, paddings)
    return fields


def _pool_fields(rng: random.Random, level: str) -> tuple[str, dict[str, Any]]:
    kind = "maxpool" if level == "easy" else pick(rng, ("maxpool", "avgpool"))
    kernel = pick(rng, (2, 3) if level != "hard" else (2, 3, 4, 5))
    fields: dict[str, Any] = {"kernel": kernel, "stride": pick(rng, (1, 2, kernel))}
    if level != "easy":
        fields["padding"] = pick(rng, tuple(range(kernel // 2 + 1)))
    return kind, fields


def output_volume(rng: random.Random, level: str) -> Draft:
    def make(rng: random.Random) -> Draft | None:
        if rng.random() < 0.65:
            kind, fields = "conv", _conv_fields(rng, level)
        else:
            kind, fields = _pool_fields(rng, level)
        shape = _input(rng, level)
        built = try_build(shape, [{kind: fields}])
        if built is None or not (exact(built.last) or level == "hard"):
            return None
        if min(built.last.output_shape[1:]) < 2:
            return None
        row = built.last
        return Draft(
            "Output volume",
            [
                f"An input volume of {shown(shape)} goes through one layer: "
                f"{describe({kind: fields})}.",
                "What is the output volume H_out × W_out × D_out?",
            ],
            _dimension_boxes(built, row.path),
            work_lines([row]),
            {"network": built.text},
        )

    return draw(rng, make, "output volume")


# ------------------------------------------------------------------ padding


def padding(rng: random.Random, level: str) -> Draft:
    def make(rng: random.Random) -> Draft | None:
        if level == "hard" and rng.random() < 0.4:
            return _padding_tf(rng, level)
        kernel: Any = pick(rng, (3, 5, 7) if level == "easy" else (3, 5, 7, 9, 11))
        fields: dict[str, Any] = {"filters": pick(rng, FILTERS[level]), "kernel": kernel}
        if level != "easy" and rng.random() < 0.5:
            fields["dilation"] = pick(rng, (2, 3, 4))
        rectangular = level == "hard" and rng.random() < 0.5
        if rectangular:
            fields["kernel"] = [kernel, pick(rng, (1, 3, 5, 7))]
        fields["padding"] = "same"
        shape = _input(rng, level)
        built = try_build(shape, [{"conv": fields}])
        if built is None:
            return None
        row = built.last
        asked = {key: value for key, value in fields.items() if key != "padding"}
        unpadded = describe({"conv": {**asked, "padding": 0}}).replace(", padding 0", "")
        (top, _), (left, _) = row.padding
        boxes = [
            Box(
                "P (each side)" if not rectangular else "P_H (top and bottom)",
                top,
                Measure("padding", "network", row.path, 0),
            )
        ]
        if rectangular:
            boxes.append(
                Box("P_W (left and right)", left, Measure("padding", "network", row.path, 1))
            )
        return Draft(
            "Padding that keeps the size",
            [
                f"A stride-1 layer ({unpadded}) is applied to {shown(shape)}.",
                "How much zero padding on each side keeps the output's height and width equal to "
                "the input's?",
            ],
            boxes,
            [
                "PyTorch's padding='same' (stride 1) resolves to the padding below; the layer "
                "worked with it:",
                *work_lines([row]),
            ],
            {"network": built.text},
        )

    return draw(rng, make, "padding")


def _padding_tf(rng: random.Random, level: str) -> Draft | None:
    """TensorFlow's SAME with stride 2: an odd total padding, the extra pixel after."""
    kernel = pick(rng, (2, 3, 4, 5, 7))
    fields = {
        "filters": pick(rng, FILTERS[level]),
        "kernel": kernel,
        "stride": 2,
        "padding": "same_tf",
    }
    shape = _input(rng, level)
    built = try_build(shape, [{"conv": fields}])
    if built is None:
        return None
    row = built.last
    (_, _), (left, right) = row.padding
    if left == right:
        return None  # the question is about the uneven split
    return Draft(
        "TensorFlow's SAME padding",
        [
            f"A Keras Conv2D with {fields['filters']} filters {kernel}×{kernel}, strides=2 and "
            f"padding='same' is applied to {shown(shape)}.",
            "How many zero columns are padded on the left and on the right, and what is W_out?",
        ],
        [
            Box("padding left", left, Measure("pad_before", "network", row.path, 1)),
            Box("padding right", right, Measure("pad_after", "network", row.path, 1)),
            Box("W_out", row.output_shape[2], Measure("dim", "network", row.path, 2)),
        ],
        work_lines([row]),
        {"network": built.text},
    )


# ------------------------------------------------------------------ transposed conv


def transposed(rng: random.Random, level: str) -> Draft:
    def make(rng: random.Random) -> Draft | None:
        kernel = pick(rng, (2, 3, 4) if level == "easy" else (2, 3, 4, 5))
        stride = pick(rng, (1, 2) if level == "easy" else (1, 2, 3))
        fields: dict[str, Any] = {
            "filters": pick(rng, FILTERS[level]),
            "kernel": kernel,
            "stride": stride,
            "padding": pick(rng, range(kernel // 2 + 1)),
        }
        if level == "hard":
            fields["output_padding"] = pick(rng, range(stride))
            if rng.random() < 0.4:
                fields["dilation"] = 2
        height = pick(rng, range(3, 33))
        width = height if _square(rng, level) else pick(rng, range(3, 33))
        shape = [pick(rng, CHANNELS[level]), height, width]
        built = try_build(shape, [{"conv_transpose": fields}])
        if built is None or built.last.output_shape[1] < height:
            return None  # a transposed conv upsamples (or keeps): the question says so
        row = built.last
        boxes = _dimension_boxes(built, row.path)
        if level != "easy":
            boxes.append(Box("parameters", row.params, Measure("params", "network", row.path)))
        return Draft(
            "Transposed convolution",
            [
                f"A {describe({'conv_transpose': fields})} upsamples {shown(shape)}.",
                "What is the output volume"
                + (" and how many parameters has the layer?" if level != "easy" else "?"),
            ],
            boxes,
            work_lines([row]),
            {"network": built.text},
        )

    return draw(rng, make, "transposed convolution")


# ------------------------------------------------------------------ parameters


def parameters(rng: random.Random, level: str) -> Draft:
    choices = {
        "easy": ("conv", "linear"),
        "medium": ("conv", "linear", "depthwise", "batchnorm"),
        "hard": ("conv", "grouped", "depthwise", "batchnorm", "linear"),
    }[level]

    def make(rng: random.Random) -> Draft | None:
        which = pick(rng, choices)
        shape = _input(rng, level)
        layers: list[Layer | str]
        if which == "linear":
            shape = [pick(rng, FILTERS[level]), *([pick(rng, (4, 5, 6, 7))] * 2)]
            layers = ["flatten", {"linear": {"features": pick(rng, (10, 64, 100, 128, 256))}}]
        elif which == "batchnorm":
            layers = [{"batchnorm": {}}]
        elif which == "depthwise":
            fields: dict[str, Any] = {"kernel": pick(rng, (3, 5)), "padding": 1}
            if level == "hard":
                fields["multiplier"] = pick(rng, (1, 2, 4))
            layers = [{"depthwise": fields}]
        elif which == "grouped":
            groups = pick(rng, (2, 4, 8))
            shape[0] = groups * pick(rng, (2, 4, 8, 16))
            layers = [
                {
                    "conv": {
                        "filters": groups * pick(rng, (4, 8, 16)),
                        "kernel": 3,
                        "padding": 1,
                        "groups": groups,
                    }
                }
            ]
        else:
            layers = [
                {
                    "conv": {
                        "filters": pick(rng, FILTERS[level]),
                        "kernel": pick(rng, (1, 3, 5, 7, 11)),
                    }
                }
            ]
        built = try_build(shape, layers)
        if built is None:
            return None
        row = built.last
        if which == "batchnorm":
            boxes = [
                Box("trainable parameters", row.params, Measure("params", "network", row.path))
            ]
            if level == "hard":
                boxes.append(
                    Box(
                        "buffer values (running statistics)",
                        row.buffers,
                        Measure("buffers", "network", row.path),
                    )
                )
        else:
            boxes = [
                Box(
                    "parameters (weights + biases)",
                    row.params,
                    Measure("params", "network", row.path),
                ),
                Box(
                    "weights only (biases ignored)",
                    row.weights,
                    Measure("weights", "network", row.path),
                ),
            ]
        words = " then ".join(describe(layer) for layer in layers)
        return Draft(
            "Parameters",
            [
                f"An input of {shown(shape)} goes through: {words}.",
                "How many "
                + ("parameters" if which != "batchnorm" else "learnable parameters")
                + " has the layer"
                + (
                    "?"
                    if which != "batchnorm" or level != "hard"
                    else ", and how many values does it keep as buffers?"
                ),
            ],
            boxes,
            work_lines([row]),
            {"network": built.text},
        )

    return draw(rng, make, "parameters")


# ------------------------------------------------------------------ MACs / FLOPs


def _stack(rng: random.Random, level: str, length: int) -> list[Layer | str]:
    """A small conv/pool stack with exam numbers."""
    layers: list[Layer | str] = []
    for index in range(length):
        if index % 2 == 1 and rng.random() < 0.6:
            layers.append({"maxpool": {"kernel": 2, "stride": 2}})
            continue
        kernel = pick(rng, (1, 3, 5))
        fields: dict[str, Any] = {
            "filters": pick(rng, FILTERS[level]),
            "kernel": kernel,
            "padding": "same" if kernel > 1 else 0,
        }
        if level == "hard" and kernel > 1 and rng.random() < 0.3:
            fields["stride"], fields["padding"] = 2, kernel // 2
        layers += [{"conv": fields}, "relu"]
    return layers


def flops(rng: random.Random, level: str) -> Draft:
    def make(rng: random.Random) -> Draft | None:
        shape = _input(rng, level)
        if level == "easy":
            layers: list[Layer | str] = [
                {"conv": {"filters": pick(rng, FILTERS[level]), "kernel": pick(rng, (1, 3, 5))}}
            ]
        else:
            layers = _stack(rng, level, 2 if level == "medium" else 3)
            if level == "hard":
                layers += ["flatten", {"linear": {"features": pick(rng, (10, 100))}}]
            shape[1:] = [size // 2 * 2 for size in shape[1:]]
        built = try_build(shape, layers)
        if built is None or not all(exact(row) for row in built.analysis.layers):
            return None
        totals = built.analysis.totals
        if totals.macs > MAX_MACS[level]:
            return None
        words = "; ".join(describe(layer) for layer in layers)
        return Draft(
            "MACs and FLOPs",
            [
                f"Input {shown(shape)}; layers: {words}.",
                "How many multiply-accumulates (MACs) does one image cost, and how many FLOPs? "
                "(Count MACs of convolutions and fully connected layers only, no bias additions; "
                "FLOPs = 2 × MACs.)",
            ],
            [
                Box("MACs", totals.macs, Measure("macs")),
                Box("FLOPs", totals.flops, Measure("flops")),
            ],
            work_lines(row for row in built.analysis.layers if row.macs),
            {"network": built.text},
        )

    return draw(rng, make, "MACs/FLOPs")


# ------------------------------------------------------------------ receptive field


def receptive_field(rng: random.Random, level: str) -> Draft:
    length = {"easy": 2, "medium": 3, "hard": 4}[level]

    def make(rng: random.Random) -> Draft | None:
        layers: list[Layer | str] = []
        for _ in range(length):
            if rng.random() < 0.35 and level != "easy":
                kernel = pick(rng, (2, 3))
                layers.append({"maxpool": {"kernel": kernel, "stride": pick(rng, (kernel, 2))}})
            else:
                fields: dict[str, Any] = {
                    "filters": 8,
                    "kernel": pick(rng, (3, 5) if level != "hard" else (3, 5, 7)),
                }
                fields["stride"] = 1 if level == "easy" else pick(rng, (1, 1, 2))
                if level == "hard" and rng.random() < 0.4:
                    fields["dilation"] = 2
                layers.append({"conv": fields})
        built = try_build([3, 96, 96], layers)
        if built is None:
            return None
        row = built.last
        size, jump, _ = row.receptive_field[1]
        if size > 48 or min(row.output_shape[1:]) < 3:
            return None
        words = "; ".join(f"({index}) {describe(layer)}" for index, layer in enumerate(layers, 1))
        return Draft(
            "Receptive field",
            [
                f"A stack of layers, no padding: {words}.",
                "How many input pixels wide is the receptive field of one output of the last "
                "layer, and what is the jump (effective stride) between neighbouring outputs, in "
                "input pixels?",
            ],
            [
                Box("receptive field r", size, Measure("field", "network", row.path, 1)),
                Box("jump j", jump, Measure("jump", "network", row.path, 1)),
            ],
            [
                "r_out = r_in + (k − 1)·d·j_in and j_out = j_in·s, from r = 1, j = 1 at the input:",
                *work_lines(r for r in built.analysis.layers if "axes" in r.details),
            ],
            {"network": built.text},
        )

    return draw(rng, make, "receptive field")


# ------------------------------------------------------------------ savings


def _saving_case(rng: random.Random, level: str) -> tuple[str, list[int], list[Any], list[Any]]:
    """(kind, input, network layers, baseline layers): the design and what it replaces."""
    case = pick(rng, (REDUCTION, GLOBAL_POOLING, STACKED, SEPARABLE))
    if case == REDUCTION:
        channels = pick(rng, (128, 192, 256, 480, 512))
        shape = [channels, *[pick(rng, (7, 14, 28))] * 2]
        kernel, filters = pick(rng, (3, 5)), pick(rng, (32, 64, 96, 128))
        big = {"conv": {"filters": filters, "kernel": kernel, "padding": "same"}}
        return (
            case,
            shape,
            [{"conv": {"filters": pick(rng, (16, 24, 32, 48)), "kernel": 1}}, "relu", big],
            [big],
        )
    if case == GLOBAL_POOLING:
        shape = [pick(rng, (256, 512, 1024, 2048)), *[pick(rng, (4, 6, 7, 8))] * 2]
        head = {"linear": {"features": pick(rng, (10, 100, 1000))}}
        return case, shape, ["global_avgpool", "flatten", head], ["flatten", head]
    if case == STACKED:
        count = 3 if level == "hard" and rng.random() < 0.5 else 2
        channels = pick(rng, (32, 64, 128, 256))
        shape = [channels, *[pick(rng, (14, 28, 56))] * 2]
        three = {"conv": {"filters": channels, "kernel": 3, "padding": 1}}
        network: list[Any] = [three, "relu"] * count
        return (
            case,
            shape,
            network[:-1],
            [{"conv": {"filters": channels, "kernel": 2 * count + 1, "padding": count}}],
        )
    channels = pick(rng, (32, 64, 128, 256))
    shape = [channels, *[pick(rng, (14, 28, 56))] * 2]
    filters = pick(rng, (64, 128, 256))
    stride = pick(rng, (1, 2)) if level == "hard" else 1
    return (
        case,
        shape,
        [
            {"depthwise": {"kernel": 3, "stride": stride, "padding": 1, "bias": False}},
            {"conv": {"filters": filters, "kernel": 1, "bias": False}},
        ],
        [
            {
                "conv": {
                    "filters": filters,
                    "kernel": 3,
                    "stride": stride,
                    "padding": 1,
                    "bias": False,
                }
            }
        ],
    )


SAVING_QUESTIONS = {
    REDUCTION: "B puts a 1×1 reduction in front of A's convolution",
    GLOBAL_POOLING: "B pools globally before the classifier; A flattens the whole volume into it",
    STACKED: "B stacks 3×3 convolutions (ReLU between) for the receptive field of A's one "
    "larger convolution",
    SEPARABLE: "B is the depthwise-separable version of A's standard convolution",
}


def savings(rng: random.Random, level: str) -> Draft:
    def make(rng: random.Random) -> Draft | None:
        case, shape, network_layers, baseline_layers = _saving_case(rng, level)
        network, baseline = try_build(shape, network_layers), try_build(shape, baseline_layers)
        if network is None or baseline is None:
            return None
        found: list[Saving] = [s for s in find_savings(network.analysis) if s.kind == case]
        if not found:
            return None
        saving = found[0]
        quantity = "params" if saving.measure == "params" else "macs"
        noun = "parameters" if quantity == "params" else "MACs"
        value_of = (lambda alt: alt.params) if quantity == "params" else (lambda alt: alt.macs)
        ratio = round(float(saving.ratio), 2)
        return Draft(
            "Savings",
            [
                f"Input {shown(shape)}. Design A: {describe_all(baseline_layers)}. "
                f"Design B: {describe_all(network_layers)}.",
                f"{SAVING_QUESTIONS[case]}. How many {noun} has each design"
                + (
                    " (MACs per image, no bias additions)"
                    if quantity == "macs"
                    else " (weights + biases of the conv and linear layers)"
                )
                + ", and how many times fewer has B (to 2 decimals)?",
            ],
            [
                Box(f"{noun} of A", value_of(saving.baseline), Measure(quantity, "baseline")),
                Box(f"{noun} of B", value_of(saving.network), Measure(quantity, "network")),
                Box(
                    "A / B",
                    ratio,
                    Measure("ratio", "baseline", of=quantity),
                    decimals=2,
                    tolerance=0.01,
                ),
            ],
            [saving.description + ":", *(equation_line(equation) for equation in saving.equations)],
            {"network": network.text, "baseline": baseline.text},
        )

    return draw(rng, make, "savings")


# ------------------------------------------------------------------ memory


def memory(rng: random.Random, level: str) -> Draft:
    def make(rng: random.Random) -> Draft | None:
        shape = _input(rng, level, channels=3)
        layers = _stack(rng, level, {"easy": 1, "medium": 2, "hard": 3}[level])
        built = try_build(shape, layers)
        if built is None or not all(exact(row) for row in built.analysis.layers):
            return None
        batch = 1 if level == "easy" else pick(rng, (8, 16, 32, 64))
        report = memory_report(built.analysis, batch=batch)
        first = built.analysis.layers[0]
        activations = report.training.activations  # bytes for the batch, float32
        mib = round(activations / MIB, 2)
        if mib < 0.01:
            return None
        words = "; ".join(describe(layer) for layer in layers)
        return Draft(
            "Activation memory",
            [
                f"Input {shown(shape)}; layers: {words}. Every layer (ReLU included) keeps its "
                "output, in float32.",
                f"How many values does the first layer output for one image, and how many MiB "
                f"do all the layers' outputs take for a batch of {batch} (to 2 decimals)?",
            ],
            [
                Box(
                    "values out of the first layer",
                    first.activation_elements,
                    Measure("elements", "network", first.path),
                ),
                Box(
                    f"MiB for a batch of {batch}",
                    mib,
                    Measure("mib", batch=batch),
                    unit="MiB",
                    decimals=2,
                    tolerance=0.01,
                ),
            ],
            [
                *(
                    f"{row.name}: {shown(row.output_shape)} = {row.activation_elements:,} values"
                    for row in built.analysis.layers
                ),
                f"per image {report.per_image:,} values × {batch} images × 4 bytes = "
                f"{activations:,} bytes = {activations:,}/2^20 MiB ≈ {mib:.2f} MiB",
            ],
            {"network": built.text},
        )

    return draw(rng, make, "memory")


# ------------------------------------------------------------------ floor traps


def floor_trap(rng: random.Random, level: str) -> Draft:
    def make(rng: random.Random) -> Draft | None:
        if rng.random() < 0.5:
            kind, fields = (
                "conv",
                {
                    "filters": pick(rng, FILTERS[level]),
                    "kernel": pick(rng, (3, 5, 7, 11)),
                    "stride": pick(rng, (2, 3, 4)),
                },
            )
        else:
            kind, fields = "maxpool", {"kernel": 3, "stride": 2}
        size = pick(rng, SIZES[level])
        shape = [pick(rng, CHANNELS[level]), size, size]
        built = try_build(shape, [{kind: fields}])
        if built is None or exact(built.last):
            return None
        row = built.last
        lost = lost_pixels(row.details["axes"][1])
        if not lost:
            return None
        boxes = [
            Box("W_out", row.output_shape[2], Measure("dim", "network", row.path, 2)),
            Box("input columns never covered", lost, Measure("uncovered", "network", row.path, 1)),
        ]
        specs = {"network": built.text}
        working = work_lines([row])
        prompt = [
            f"PyTorch applies {describe({kind: fields})} to {shown(shape)}.",
            "What is W_out, and how many columns at the right edge of the input does no "
            "window ever reach?",
        ]
        if kind == "maxpool" and level == "hard":
            ceil = try_build(shape, [{kind: {**fields, "ceil_mode": True}}])
            if ceil is None:
                return None
            boxes.append(
                Box(
                    "W_out with ceil_mode=True",
                    ceil.last.output_shape[2],
                    Measure("dim", "ceil", ceil.last.path, 2),
                )
            )
            specs["ceil"] = ceil.text
            working += work_lines([ceil.last])
            prompt.append("And W_out if the pool is built with ceil_mode=True?")
        working.append(
            "PyTorch floors the division: nn.Conv2d and nn.MaxPool2d drop the last partial "
            "window without an error, so the rightmost columns never influence the output."
        )
        return Draft("Stride that does not divide", prompt, boxes, working, specs)

    return draw(rng, make, "floor trap")


def describe_all(layers: list[Any]) -> str:
    return "; ".join(describe(layer) for layer in layers)


def failing_network(rng: random.Random, level: str) -> tuple[list[int], list[Any], int, SpecError]:
    """A stack that cannot work: a window larger than what reaches it (the notes' tables with
    wrong strides end like this). Returns input, layers, the 1-based failing layer, the error."""
    for _ in range(MAX_TRIES):
        size = pick(rng, (16, 24, 28, 32))
        layers: list[Any] = []
        for _ in range(pick(rng, (3, 4, 5))):
            layers.append(
                pick(
                    rng,
                    (
                        {
                            "conv": {
                                "filters": pick(rng, (8, 16, 32)),
                                "kernel": pick(rng, (3, 5, 7)),
                            }
                        },
                        {"maxpool": {"kernel": 2, "stride": 2}},
                        {"conv": {"filters": pick(rng, (16, 32)), "kernel": 5, "stride": 2}},
                    ),
                )
            )
        shape = [pick(rng, (1, 3)), size, size]
        try:
            build(shape, layers)
        except SpecError as error:
            for index in range(1, len(layers) + 1):
                if try_build(shape, layers[:index]) is None:
                    if index >= 2:
                        return shape, layers, index, error
                    break
    raise QuizError("could not draw a network that cannot work")  # pragma: no cover


# ------------------------------------------------------------------ the registry

TOPICS: dict[str, tuple[str, Generator]] = {}
"""name → (what it asks, generator); the tables (fill-in, find-the-mistake) register in
:mod:`cnncalc.quiz.tables`."""


def register(name: str, description: str, generator: Generator) -> None:
    if name in TOPICS:
        raise QuizError(f"topic '{name}' registered twice")  # pragma: no cover
    TOPICS[name] = (description, generator)


register(
    "output-volume", "output volume of a conv or pool (padding, stride, dilation)", output_volume
)
register("padding", "padding that keeps the size; TensorFlow's SAME split", padding)
register("transposed", "output size of a transposed convolution", transposed)
register(
    "parameters",
    "parameters with and without biases: conv, depthwise, grouped, linear, batchnorm",
    parameters,
)
register("flops", "MACs and FLOPs, with the convention stated", flops)
register("receptive-field", "receptive field and jump after a stack", receptive_field)
register("savings", "1×1 reduction, GAP vs flatten+FC, stacked 3×3, depthwise separable", savings)
register("memory", "activation memory in values and MiB", memory)
register("floor-trap", "a stride that does not divide: what PyTorch does", floor_trap)
