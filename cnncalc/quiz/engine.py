"""The quiz's only way to a number: a small spec, analysed by the engine.

A question is a spec (a few layers, as the YAML language writes them); its answers are read
from the :class:`~cnncalc.engine.Analysis`, its working from the layer explanations that
``cnncalc report`` prints. Nothing here computes an output size, a parameter count or a
receptive field by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import yaml

from ..engine import Analysis, Row, analyse
from ..errors import SpecError
from ..layers.explain import volume
from ..report.text_report import layer_lines
from ..report.worked import LayerWork, layer_explanation, report_warnings, worked_report
from ..spec import parse_spec

Layer = dict[str, Any]
"""One layer as the spec language writes it: ``{"conv": {"filters": 16, "kernel": 5}}``."""


@dataclass(frozen=True)
class Built:
    """A question's spec: its YAML text and the engine's analysis of it."""

    text: str
    analysis: Analysis

    def row(self, path: str) -> Row:
        return self.analysis.row(path)

    @cached_property
    def worked(self) -> dict[str, LayerWork]:
        """The worked report's working of every layer and merge, by path: a concat's
        D = D₁ + D₂ + … as ``cnncalc report`` writes it."""
        report = worked_report(self.analysis)
        return {work.row.path: work for work in report.work if not work.row.is_group}

    def work_lines(self, rows: Iterable[Row]) -> list[str]:
        lines: list[str] = []
        for row in rows:
            work = self.worked[row.path]
            lines += layer_lines(replace(work, title=f"{row.path} ({row.kind})", level=0), False)
        return lines

    @property
    def last(self) -> Row:
        return self.analysis.layers[-1]


def spec_text(input_shape: Sequence[int], layers: Sequence[Layer | str], name: str = "quiz") -> str:
    return yaml.safe_dump(
        {"name": name, "input": list(input_shape), "layers": list(layers)},
        sort_keys=False,
        default_flow_style=None,
        width=100,
    )


def build(input_shape: Sequence[int], layers: Sequence[Layer | str], batch: int = 1) -> Built:
    """Analyse ``layers`` applied to ``input_shape`` (C, H, W); a SpecError when they cannot
    work (the generators catch it and draw again, or ask about it)."""
    text = spec_text(input_shape, layers)
    return Built(text, analyse(parse_spec(text, "<quiz>"), batch=batch))


def try_build(input_shape: Sequence[int], layers: Sequence[Layer | str]) -> Built | None:
    try:
        return build(input_shape, layers)
    except SpecError:
        return None


def work_lines(rows: Iterable[Row], no_bias: bool = False) -> list[str]:
    """The worked explanation of each row, exactly as the text report prints it."""
    lines: list[str] = []
    for row in rows:
        work = LayerWork(
            row,
            f"{row.name} ({row.kind})",
            layer_explanation(row, no_bias),
            0,
            report_warnings(row),
        )
        lines += layer_lines(work, answers_only=False)
    return lines


def exact(row: Row) -> bool:
    """Whether every window division of ``row`` is exact: no pixel, not even a padded one,
    is left out by the floor (the engine's ``uncovered`` count of each axis is 0)."""
    axes = row.details.get("axes", ())
    return not row.warnings and all(axis.uncovered == 0 for axis in axes)


def shown(shape: Sequence[Any]) -> str:
    """A volume as the notes write it: H×W×D, or N for a flat vector."""
    return volume(tuple(shape))


def _pair(value: Any) -> str:
    if isinstance(value, list | tuple):
        first, second = value
        return f"{first}" if first == second else f"{first}×{second}"
    return f"{value}"


def _window(fields: dict[str, Any], pool: bool = False) -> list[str]:
    """Stride (a pool's defaults to its kernel, as in PyTorch), padding, dilation."""
    parts = [f"stride {_pair(fields.get('stride', fields.get('kernel') if pool else 1))}"]
    padding = fields.get("padding", 0)
    if isinstance(padding, str):
        parts.append(f"padding '{padding}'")
    else:
        parts.append(f"padding {_pair(padding)}")
    if fields.get("dilation", 1) not in (1, (1, 1), [1, 1]):
        parts.append(f"dilation {_pair(fields['dilation'])}")
    return parts


def describe(layer: Layer | str) -> str:
    """One layer in the words of an exam question: ``conv, 16 filters 5×5, stride 1,
    padding 2``."""
    if isinstance(layer, str):
        return {"flatten": "flatten", "relu": "ReLU"}.get(layer, layer)
    ((kind, fields),) = layer.items()
    fields = fields if isinstance(fields, dict) else {}
    kernel = _pair(fields.get("kernel", 1))
    kernel = kernel if "×" in kernel else f"{kernel}×{kernel}"
    if kind == "conv":
        parts = [f"conv, {fields['filters']} filters {kernel}", *_window(fields)]
        if fields.get("groups", 1) != 1:
            parts.append(f"{fields['groups']} groups")
    elif kind == "depthwise":
        parts = [f"depthwise conv {kernel}", *_window(fields)]
        if fields.get("multiplier", 1) != 1:
            parts.append(f"depth multiplier {fields['multiplier']}")
    elif kind == "conv_transpose":
        parts = [f"transposed conv, {fields['filters']} filters {kernel}", *_window(fields)]
        if fields.get("output_padding", 0):
            parts.append(f"output_padding {fields['output_padding']}")
    elif kind in ("maxpool", "avgpool"):
        name = "max pool" if kind == "maxpool" else "average pool"
        parts = [f"{name} {kernel}", *_window(fields, pool=True)]
        if fields.get("ceil_mode"):
            parts.append("ceil_mode=True")
    elif kind == "linear":
        parts = [f"fully connected, {fields['features']} outputs"]
    elif kind == "batchnorm":
        parts = ["batchnorm"]
    elif kind == "global_avgpool":
        parts = ["global average pooling"]
    elif kind == "lrn":
        parts = ["local response normalisation"]
    else:
        parts = [kind.replace("_", " ")]  # merges (concat, add) and the rest: their kind
    if fields.get("bias") is False:
        parts.append("no bias")
    return ", ".join(parts)


def describe_row(row: Row) -> str:
    """A layer of a given network (``--from``) in the same words, from its resolved values."""
    fields = {key: value for key, value in row.values.items() if value is not None}
    if "stride" in fields and fields["stride"] is None:
        del fields["stride"]
    return describe({row.kind: fields})
