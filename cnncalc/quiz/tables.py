"""Questions about a whole network: fill in its layer table, find the mistake in one, spot the
configuration that cannot work, and the per-layer questions of ``cnncalc quiz --from SPEC``.

The tables are the lecture notes' AlexNet / ZFNet / Fashion-MNIST tables: one row per layer
(activations, dropout and flatten left out, as the notes do), its output volume and its
parameters, read from the engine's rows. A blank cell holds ``[[n]]``, the n-th answer box;
the paper puts the box's key there when it numbers the question.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ..engine import Row, analyse
from ..engine.memory import memory_report
from ..layers import KINDS
from ..spec import parse_spec
from .drafts import Box, Draft, draw, pick
from .engine import (
    Built,
    Layer,
    build,
    describe,
    describe_row,
    shown,
    spec_text,
    try_build,
    work_lines,
)
from .generators import MIB, failing_network, register
from .model import Measure, QuizError

SPECS = Path(__file__).resolve().parents[2] / "specs"
"""The bundled networks (the notes' tables): used when cnncalc runs from its repository."""
BUNDLED = {"easy": ("fashion_mnist_cnn",), "medium": (), "hard": ("alexnet", "zfnet")}
HEADERS = ("#", "layer", "configuration", "output H×W×D", "parameters")
MAX_ROWS = 30
BLANKS = {"easy": 4, "medium": 6, "hard": 8}


def table_rows(built: Built) -> list[Row]:
    """The rows a table shows: the layers that change the volume or hold parameters."""
    rows = [
        row
        for row in built.analysis.layers
        if row.kind not in KINDS  # a merge: concat, add, multiply
        or (
            KINDS[row.kind].category not in ("activation", "regularization")
            and row.kind not in ("flatten", "identity")
        )
    ]
    return rows[:MAX_ROWS]


def _cell(row: Row, column: str) -> str:
    return shown(row.output_shape) if column == "volume" else f"{row.params:,}"


def _table(rows: list[Row], blanks: dict[tuple[str, str], str]) -> list[tuple[str, ...]]:
    table: list[tuple[str, ...]] = [HEADERS]
    for number, row in enumerate(rows, 1):
        table.append(
            (
                str(number),
                row.path,
                describe_row(row),
                blanks.get((row.path, "volume"), _cell(row, "volume")),
                blanks.get((row.path, "params"), _cell(row, "params")),
            )
        )
    return table


def _box(row: Row, column: str, spec: str = "network") -> Box:
    if column == "volume":
        return Box(
            f"{row.path}: output volume",
            tuple(_volume_value(row)),
            Measure("volume", spec, row.path),
        )
    return Box(f"{row.path}: parameters", row.params, Measure("params", spec, row.path))


def _volume_value(row: Row) -> tuple[int, ...]:
    shape = row.output_shape
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else tuple(shape)


def _candidates(rows: list[Row]) -> list[tuple[Row, str]]:
    """The cells worth asking, in reading order: volumes a layer changes, and parameters."""
    cells = []
    for row in rows:
        if not row.is_module:
            continue  # a concat or add: shown, for the depths, but not asked
        if tuple(row.output_shape) != tuple(row.input_shape):
            cells.append((row, "volume"))
        if row.params:
            cells.append((row, "params"))
    return cells


def _random_network(rng: random.Random, level: str) -> Built | None:
    """conv → (bn) → ReLU → pool, twice or three times, then a classifier: the notes'
    Fashion-MNIST design with other numbers."""
    shape = pick(rng, ([1, 28, 28], [3, 32, 32], [3, 64, 64], [1, 32, 32]))
    if level == "hard":
        shape = [3, pick(rng, (48, 64, 96)), pick(rng, (64, 80, 96))]
    layers: list[Layer | str] = []
    for _ in range(2 if level != "hard" else 3):
        kernel = pick(rng, (3, 5))
        layers.append(
            {
                "conv": {
                    "filters": pick(rng, (8, 16, 32, 64)),
                    "kernel": kernel,
                    "padding": pick(rng, (0, kernel // 2)),
                }
            }
        )
        if rng.random() < 0.5:
            layers.append({"batchnorm": {}})
        layers += ["relu", {"maxpool": {"kernel": 2, "stride": 2}}]
    layers += ["flatten", {"linear": {"features": pick(rng, (10, 100))}}]
    built = try_build(shape, layers)
    if built is None or any(row.warnings for row in built.analysis.layers):
        return None
    return built


def _network(rng: random.Random, level: str) -> tuple[Built, str]:
    names = [name for name in BUNDLED[level] if (SPECS / f"{name}.yaml").is_file()]
    if names and rng.random() < 0.5:
        name = pick(rng, tuple(names))
        text = (SPECS / f"{name}.yaml").read_text(encoding="utf-8")
        analysis = analyse(parse_spec(text, f"specs/{name}.yaml"))
        return Built(text, analysis), analysis.name
    return draw(rng, lambda rng: _random_network(rng, level), "network"), "a small CNN"


def layer_table(rng: random.Random, level: str, given: Built | None = None) -> Draft:
    built, name = (given, given.analysis.name) if given else _network(rng, level)
    rows = table_rows(built)
    cells = _candidates(rows)
    chosen = sorted(rng.sample(range(len(cells)), min(BLANKS[level], len(cells))))
    boxes = [_box(*cells[index]) for index in chosen]
    blanks = {
        (cells[index][0].path, cells[index][1]): f"[[{number}]]"
        for number, index in enumerate(chosen)
    }
    blanked = {cells[index][0].path for index in chosen}
    return Draft(
        "Fill in the layer table",
        [
            f"The table below lists the layers of {name} (input "
            f"{shown(built.analysis.input_shape)}; ReLU, dropout and flatten rows left out). "
            "Fill in the blank cells: output volumes as H×W×D (a flat output as one number), "
            "parameters as weights + biases.",
        ],
        boxes,
        built.work_lines(row for row in rows if row.path in blanked),
        {"network": built.text},
        _table(rows, blanks),
    )


def _wrong(rng: random.Random, row: Row, column: str) -> tuple[str, str] | None:
    """A plausible wrong entry and the slip behind it (for the working)."""
    if column == "params":
        slips = [(f"{row.weights:,}", "the biases were forgotten")] if row.biases else []
        slips.append(
            (f"{row.params + row.biases:,}", "the biases were counted twice")
            if row.biases
            else (f"{2 * row.params:,}", "a doubled count")
        )
        return pick(rng, tuple(slips))
    shape = row.output_shape
    if len(shape) != 3:
        return None
    channels, height, width = shape
    slips = [
        (
            shown((channels, height + 1, width + 1)),
            "the division was rounded up, where PyTorch floors",
        ),
        (shown((row.input_shape[0], height, width)), "the depth was copied from the input"),
    ]
    if height > 2:
        slips.append((shown((channels, height - 1, width - 1)), "an off-by-one in the size"))
    text, slip = pick(rng, tuple(slips))
    return (text, slip) if text != shown(shape) else None


def find_mistake(rng: random.Random, level: str, given: Built | None = None) -> Draft:
    if given is None and level != "easy" and rng.random() < 0.4:
        return cannot_work(rng, level)
    built, name = (given, given.analysis.name) if given else _network(rng, level)
    rows = table_rows(built)
    cells = _candidates(rows)

    def make(rng: random.Random) -> tuple[Row, str, str, str] | None:
        row, column = cells[rng.randrange(len(cells))]
        wrong = _wrong(rng, row, column)
        return (row, column, *wrong) if wrong else None

    row, column, wrong, slip = draw(rng, make, "find-the-mistake")
    table = _table(rows, {(row.path, column): wrong})
    number = rows.index(row) + 1
    return Draft(
        "Find the mistake",
        [
            f"A student filled in the layer table of {name} (input "
            f"{shown(built.analysis.input_shape)}). Exactly one entry is wrong.",
            "Which row holds it, and what should the entry be?",
        ],
        [
            Box("row number", number, Measure("row", "network", row.path, of=column)),
            _box(row, column),
        ],
        [
            f"Row {number} ({row.path}): {wrong} is wrong ({slip}); the engine's working:",
            *built.work_lines([row]),
        ],
        {"network": built.text},
        table,
    )


def cannot_work(rng: random.Random, level: str) -> Draft:
    shape, layers, failing, error = failing_network(rng, level)
    prefix = build(shape, layers[: failing - 1])
    last = prefix.last
    listed = "; ".join(f"({index}) {describe(layer)}" for index, layer in enumerate(layers, 1))
    hint = f" ({error.hint})" if error.hint else ""
    return Draft(
        "A configuration that cannot work",
        [
            f"A student proposes this network for {shown(shape)} inputs: {listed}.",
            "It cannot be built: which layer (number) fails, and what volume reaches it?",
        ],
        [
            Box("failing layer", failing, Measure("fails_at")),
            Box(
                "volume reaching it",
                tuple(_volume_value(last)),
                Measure("volume", "prefix", last.path),
            ),
        ],
        [
            *work_lines(row for row in prefix.analysis.layers if "axes" in row.details),
            f"layer {failing}: {error.message}{hint}",
        ],
        {"network": spec_text(shape, layers), "prefix": prefix.text},
    )


# ------------------------------------------------------------------ --from SPEC


def _windowed(built: Built) -> list[Row]:
    return [row for row in built.analysis.layers if "axes" in row.details]


def _weighted(built: Built) -> list[Row]:
    return [row for row in built.analysis.layers if row.params]


def _about(built: Built, row: Row) -> str:
    return (
        f"In {built.analysis.name}, layer {row.path} ({describe_row(row)}) receives "
        f"{shown(row.input_shape)}."
    )


def about_output(built: Built) -> Any:
    def generate(rng: random.Random, level: str) -> Draft:
        rows = _windowed(built)
        if not rows:
            raise QuizError("the network has no conv or pool layer to ask an output volume of")
        row = rows[rng.randrange(len(rows))]
        return Draft(
            "Output volume",
            [_about(built, row), "What is its output volume?"],
            [_box(row, "volume")],
            built.work_lines([row]),
            {"network": built.text},
        )

    return generate


def about_parameters(built: Built) -> Any:
    def generate(rng: random.Random, level: str) -> Draft:
        rows = _weighted(built)
        if not rows:
            raise QuizError("the network has no layer with parameters")
        row = rows[rng.randrange(len(rows))]
        boxes = [
            Box("parameters (weights + biases)", row.params, Measure("params", "network", row.path))
        ]
        if row.biases:
            boxes.append(Box("weights only", row.weights, Measure("weights", "network", row.path)))
        return Draft(
            "Parameters",
            [_about(built, row), "How many parameters has it?"],
            boxes,
            built.work_lines([row]),
            {"network": built.text},
        )

    return generate


def about_flops(built: Built) -> Any:
    def generate(rng: random.Random, level: str) -> Draft:
        rows = [row for row in built.analysis.layers if row.macs]
        if not rows:
            raise QuizError("the network has no layer with multiply-accumulates")
        row = rows[rng.randrange(len(rows))]
        return Draft(
            "MACs and FLOPs",
            [
                _about(built, row),
                "How many MACs and FLOPs does it cost for one image "
                "(no bias additions; FLOPs = 2 × MACs)?",
            ],
            [
                Box("MACs", row.macs, Measure("macs", "network", row.path)),
                Box("FLOPs", row.flops, Measure("flops", "network", row.path)),
            ],
            built.work_lines([row]),
            {"network": built.text},
        )

    return generate


def _field_chain(built: Built, row: Row) -> list[Row]:
    """The windows whose recurrence leads to ``row``'s field: every one before it in a
    straight network; in one with branches, ``row``'s own (its r_in and j_in are given)."""
    layers = list(built.analysis.layers)
    if any(layer.kind not in KINDS for layer in layers):
        return [row]
    return [layer for layer in layers[: layers.index(row) + 1] if "axes" in layer.details]


def about_field(built: Built) -> Any:
    def generate(rng: random.Random, level: str) -> Draft:
        rows = [row for row in _windowed(built) if row.receptive_field_in]
        if not rows:
            raise QuizError("the network has no sliding window to ask a receptive field of")
        row = rows[rng.randrange(len(rows))]
        size, jump, _ = row.receptive_field[1]
        return Draft(
            "Receptive field",
            [
                f"In {built.analysis.name}, how wide (in input pixels) is the receptive field of "
                f"one output of layer {row.path}, and what is its jump?"
            ],
            [
                Box("receptive field r", size, Measure("field", "network", row.path, 1)),
                Box("jump j", jump, Measure("jump", "network", row.path, 1)),
            ],
            built.work_lines(_field_chain(built, row)),
            {"network": built.text},
        )

    return generate


def about_memory(built: Built) -> Any:
    def generate(rng: random.Random, level: str) -> Draft:
        rows = _windowed(built) + _weighted(built) or list(built.analysis.layers)
        row = rows[rng.randrange(len(rows))]
        batch = pick(rng, (1, 8, 32))
        activations = memory_report(built.analysis, batch=batch).training.activations
        mib = round(activations / MIB, 2)
        return Draft(
            "Activation memory",
            [
                f"In {built.analysis.name}, how many values does layer {row.path} output for one "
                f"image, and how many MiB do all the layers' outputs take for a batch of {batch} "
                "in float32 (to 2 decimals)?"
            ],
            [
                Box("values", row.activation_elements, Measure("elements", "network", row.path)),
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
                f"{row.path}: {shown(row.output_shape)} = {row.activation_elements:,} values",
                f"all layers: {activations:,} bytes for {batch} image(s) ≈ {mib:.2f} MiB",
            ],
            {"network": built.text},
        )

    return generate


def network_topics(built: Built) -> dict[str, Any]:
    """The topics ``--from SPEC`` can ask about a given network."""
    return {
        "output-volume": about_output(built),
        "parameters": about_parameters(built),
        "flops": about_flops(built),
        "receptive-field": about_field(built),
        "memory": about_memory(built),
        "layer-table": lambda rng, level: layer_table(rng, level, built),
        "find-the-mistake": lambda rng, level: find_mistake(rng, level, built),
    }


register(
    "layer-table", "fill in the layer table of a small network (the notes' tables)", layer_table
)
register(
    "find-the-mistake",
    "a layer table with one wrong entry, or a network that cannot work",
    find_mistake,
)
