"""Transfer learning, as the course notes teach it: start from a pre-trained model (its
weights), keep the layers that hold generic features (freeze them), give the network a new
head for the new task's classes, and fine-tune, the backbone with a smaller learning rate.

- :func:`load_weights`: a cnncalc checkpoint or a plain PyTorch ``state_dict`` file (for
  instance torchvision's weights saved on disk: a bundled spec's parameter names are
  torchvision's), read with ``torch.load(weights_only=True)``; a :class:`WeightReport` of
  what was loaded, missing, unexpected and of the wrong shape.
- :func:`replace_head`: the spec variant whose final linear layer has N outputs, made and
  checked by the engine, so every number of the analysis stays exact.
- :func:`freeze` by layer-path pattern or up to a named layer, with the trainable and
  frozen parameter counts taken from the engine's rows and checked against the module;
  :func:`keep_frozen_batchnorm_eval` for the training loop, after ``model.train()``.
- :func:`parameter_groups`: optimizer groups, the backbone at ``backbone_lr_scale`` × lr.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ..engine import Analysis, Row, analyse
from ..errors import CnncalcError
from ..spec import Spec, load_spec, parse_spec
from ..spec.nodes import LayerNode, Node, SequenceNode
from .contract import CHECKPOINT_FORMAT

LISTED = 8
"""The most names a report lists in one category before '… and N more'."""


class TransferError(CnncalcError):
    """Weights that cannot be loaded, a freeze or head that does not fit the spec (exit 2)."""


# ------------------------------------------------------------------ weights


@dataclass(frozen=True)
class ShapeMismatch:
    """An entry both the model and the file have, with different shapes (not loaded)."""

    name: str
    model_shape: tuple[int, ...]
    file_shape: tuple[int, ...]


@dataclass(frozen=True)
class WeightReport:
    """What :func:`load_weights` did, entry by entry of the model's ``state_dict``.

    ``loaded``: copied from the file; ``missing``: in the model, not in the file;
    ``mismatched``: in both, shapes differ; ``unexpected``: in the file, not in the model.
    Entries not loaded keep the values they had (a fresh model's initialisation).
    """

    path: str
    source: str
    """What the file was: 'cnncalc checkpoint (…)', 'PyTorch state_dict', …"""
    strict: bool
    loaded: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mismatched: tuple[ShapeMismatch, ...]
    loaded_values: int
    model_values: int

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def render(self) -> str:
        mode = "strict" if self.strict else "non-strict: entries not loaded keep their values"
        total = len(self.loaded) + len(self.missing) + len(self.mismatched)
        lines = [
            f"weights: {self.path} ({self.source}; {mode})",
            f"  loaded       {len(self.loaded):,} of {total:,} model entries "
            f"({self.loaded_values:,} of {self.model_values:,} values)",
            f"  wrong shape  {len(self.mismatched):,}",
        ]
        lines += [
            f"    {item.name}: model {_dims(item.model_shape)}, file {_dims(item.file_shape)}"
            for item in self.mismatched[:LISTED]
        ]
        lines += _more(self.mismatched)
        for label, names in (("missing", self.missing), ("unexpected", self.unexpected)):
            lines.append(f"  {label:<12} {len(names):,}" + (": " if names else ""))
            if names:
                lines[-1] += ", ".join(names[:LISTED]) + (" …" if len(names) > LISTED else "")
        return "\n".join(lines)


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(str(size) for size in shape) if shape else "scalar"


def _more(items: Sequence[Any]) -> list[str]:
    return [f"    … and {len(items) - LISTED} more"] if len(items) > LISTED else []


def load_weights(model: Any, path: str | os.PathLike[str], *, strict: bool = False) -> WeightReport:
    """Copy the weights in ``path`` into ``model`` by ``state_dict`` name.

    ``path``: a cnncalc checkpoint (its ``model`` entry), a plain ``state_dict``, or a dict
    holding one under ``state_dict``/``model``/``model_state_dict``; a ``module.`` prefix on
    every name (a DistributedDataParallel save) is removed. Read with
    ``torch.load(weights_only=True)``: tensors and plain types only, never code.

    Non-strict (default): every entry whose name and shape match is copied; the rest keep
    their values and are listed in the report; a file with no matching entry at all is an
    error. Strict: any missing, unexpected or wrongly shaped entry is an error and nothing
    is copied.
    """
    shown = os.fspath(path)
    state, source = _state_dict(_read(shown), shown)
    model = unwrap(model)
    ours = model.state_dict()
    loaded = [name for name in ours if name in state and _shape(state[name]) == _shape(ours[name])]
    mismatched = tuple(
        ShapeMismatch(name, _shape(ours[name]), _shape(state[name]))
        for name in ours
        if name in state and _shape(state[name]) != _shape(ours[name])
    )
    report = WeightReport(
        path=shown,
        source=source,
        strict=strict,
        loaded=tuple(loaded),
        missing=tuple(name for name in ours if name not in state),
        unexpected=tuple(name for name in state if name not in ours),
        mismatched=mismatched,
        loaded_values=sum(ours[name].numel() for name in loaded),
        model_values=sum(tensor.numel() for tensor in ours.values()),
    )
    _check(report, list(ours), list(state))
    model.load_state_dict({name: state[name] for name in loaded}, strict=False)
    return report


def _read(path: str) -> Any:
    import pickle

    import torch

    if not os.path.isfile(path):
        raise TransferError(f"weights file {path} not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "refused"
        raise TransferError(
            f"{path} holds more than tensors and plain values, so torch.load(weights_only=True) "
            f"refuses it ({first}). Save just the weights and load that file: "
            "torch.save(model.state_dict(), 'weights.pt')"
        ) from None
    except Exception as error:  # a truncated zip, not a PyTorch file at all, ...
        raise TransferError(
            f"cannot read {path} as PyTorch weights: {error}. The file is truncated or is not "
            "a torch.save file: save it again with torch.save(model.state_dict(), path)"
        ) from None


def _state_dict(content: Any, path: str) -> tuple[dict[str, Any], str]:
    """The name → tensor mapping in a loaded file, and what kind of file it was."""
    import torch

    if isinstance(content, dict) and "format" in content:
        found = content["format"]
        if found != CHECKPOINT_FORMAT:
            raise TransferError(
                f"{path} is a checkpoint of format '{found}'; this cnncalc reads "
                f"'{CHECKPOINT_FORMAT}': load it with the cnncalc version that wrote it"
            )
        content, source = content.get("model"), f"cnncalc checkpoint, {CHECKPOINT_FORMAT}"
    else:
        source = "PyTorch state_dict"
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(content, dict) and isinstance(content.get(key), dict):
                content, source = content[key], f"PyTorch state_dict (under '{key}')"
                break
    tensors = isinstance(content, dict) and all(
        isinstance(value, torch.Tensor) for value in content.values()
    )
    if not tensors or not content:
        raise TransferError(
            f"{path} holds no state_dict (a mapping of names to tensors): save one with "
            "torch.save(model.state_dict(), path)"
        )
    state = {str(name): value for name, value in content.items()}
    if all(name.startswith("module.") for name in state):  # saved from DDP
        state = {name.removeprefix("module."): value for name, value in state.items()}
        source += ", 'module.' prefix removed"
    return state, source


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(size) for size in tensor.shape)


def _check(report: WeightReport, ours: list[str], theirs: list[str]) -> None:
    if not report.loaded and not report.mismatched:
        raise TransferError(
            f"no entry of {report.path} has a name the model has: the file's names look like "
            f"{', '.join(theirs[:3])}, the model's like {', '.join(ours[:3])}. Load weights "
            "saved from the same spec (or from the torchvision model it mirrors)"
        )
    if report.strict and not report.complete:
        raise TransferError(
            "strict loading refused, nothing was loaded:\n"
            + report.render()
            + "\nLoad without strict to keep the entries that fit, or fix the spec or the file"
        )


# ------------------------------------------------------------------ a new head


@dataclass(frozen=True)
class HeadReplacement:
    """The spec variant whose final linear layer (``head``) has ``new_classes`` outputs.

    ``text`` is its YAML (the original with the one value changed and a comment, and
    without the ``published:`` totals, which were the original's), which a checkpoint
    carries so the model can be rebuilt; ``analysis`` is the engine's, from which
    ``cnncalc.build(replacement.analysis)`` builds the model.
    """

    spec: Spec
    text: str
    analysis: Analysis
    head: str
    features_in: int
    old_classes: int
    new_classes: int
    old_params: int
    new_params: int

    def render(self) -> str:
        weights = self.features_in * self.new_classes
        biases = self.new_params - weights
        parts = f"{self.features_in}·{self.new_classes} weights" + (
            f" + {biases} biases" if biases else ", no bias"
        )
        return (
            f"new head: {self.head} {self.features_in} → {self.new_classes} outputs (was "
            f"{self.old_classes}): {self.new_params:,} parameters ({parts}), was "
            f"{self.old_params:,}; model total {int(self.analysis.totals.params):,}"
        )


def replace_head(
    spec: Spec | str | os.PathLike[str],
    classes: int,
    input_shape: Sequence[Any] | None = None,
) -> HeadReplacement:
    """The spec with its final linear layer changed to ``classes`` outputs (the engine's
    analysis of the variant is checked: only the head's row changes)."""
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise TransferError(f"a new head needs a positive number of classes, got {classes!r}")
    original = spec if isinstance(spec, Spec) else load_spec(spec)
    before = analyse(original, input_shape)
    head = _head_row(before, original.file)
    node = _head_node(original, head)
    text = _patched_text(original, node, head, classes)
    variant = parse_spec(text, original.file)
    after = analyse(variant, input_shape)
    _check_variant(before, after, head, classes, original.file)
    new_head = next(row for row in after.rows if row.path == head.path)
    return HeadReplacement(
        spec=variant,
        text=text,
        analysis=after,
        head=head.path,
        features_in=int(head.input_shape[0]),
        old_classes=int(head.output_shape[0]),
        new_classes=classes,
        old_params=int(head.params),
        new_params=int(new_head.params),
    )


def build_with_new_head(
    spec: Spec | str | os.PathLike[str],
    classes: int,
    input_shape: Sequence[Any] | None = None,
    *,
    device: Any = None,
) -> tuple[Any, HeadReplacement]:
    """:func:`replace_head`, then the variant built as an ``nn.Module``."""
    from ..torch.build import build

    replacement = replace_head(spec, classes, input_shape)
    return build(replacement.analysis, device=device), replacement


def _leaves(analysis: Analysis) -> list[Row]:
    return [row for row in analysis.rows if not row.is_group]


def _head_row(analysis: Analysis, file: str) -> Row:
    weighted = [row for row in _leaves(analysis) if row.weight_layer]
    if not weighted or weighted[-1].kind != "linear":
        last = f"'{weighted[-1].path}' ({weighted[-1].kind})" if weighted else "none"
        raise TransferError(
            f"{file}: a new head replaces the final linear layer, but the last weight layer is "
            f"{last}. Edit the spec's last layer to have one output per class"
        )
    return weighted[-1]


def _linear_nodes(nodes: Sequence[Node]) -> Iterator[LayerNode]:
    """The linear layers written in the layer tree (not inside block definitions), in order."""
    for node in nodes:
        if isinstance(node, LayerNode) and node.kind == "linear":
            yield node
        if isinstance(node, SequenceNode):
            yield from _linear_nodes(node.items)
        yield from _linear_nodes(node.then)


def _head_node(spec: Spec, head: Row) -> LayerNode:
    written = list(_linear_nodes(spec.layers))
    if not written or "features" not in written[-1].value_locs or not spec.lines:
        raise TransferError(
            f"{spec.file}: the head '{head.path}' is made inside a block or repeat, so it "
            "cannot be changed alone. Give the spec a final '- linear: N' layer of its own"
        )
    return written[-1]


def _patched_text(spec: Spec, node: LayerNode, head: Row, classes: int) -> str:
    """The spec's YAML with the head's ``features`` value replaced, and a comment saying so."""
    lines = list(spec.lines)
    loc = node.value_locs["features"]
    line = lines[loc.line - 1]
    start = loc.column - 1
    match = re.match(r"[^,}\]#]*", line[start:])
    end = start + len(match.group(0).rstrip()) if match else start
    comment = f"  # new head: {head.output_shape[0]} → {classes} classes"
    lines[loc.line - 1] = line[:start] + str(classes) + line[end:] + comment
    return "\n".join(_without_published(lines, head)) + "\n"


def _without_published(lines: list[str], head: Row) -> list[str]:
    """The lines without the top-level ``published:`` mapping: its totals are the original
    head's, and reports would mark the variant's totals wrong against them."""
    start = next((i for i, line in enumerate(lines) if re.match(r"published\s*:", line)), None)
    if start is None:
        return lines
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
        end += 1
    note = f"# published: removed (its totals are for the {head.output_shape[0]}-class head)"
    return [*lines[:start], note, *lines[end:]]


def _check_variant(before: Analysis, after: Analysis, head: Row, classes: int, file: str) -> None:
    """Only the head's row may differ, and it must now give ``classes`` outputs."""
    old = {row.path: row for row in _leaves(before)}
    new = {row.path: row for row in _leaves(after)}
    if set(old) != set(new):
        changed = ["the list of layers"]
    else:
        changed = [
            path
            for path, row in new.items()
            if path != head.path and row.params != old[path].params
        ]
    result = new.get(head.path)
    if changed or result is None or tuple(result.output_shape) != (classes,):
        raise TransferError(
            f"{file}: changing the head '{head.path}' would also change {', '.join(changed[:3])}"
            " (the layer is shared, e.g. written in a repeat). Give the spec a final "
            "'- linear: N' layer of its own"
        )


# ------------------------------------------------------------------ freezing


@dataclass(frozen=True)
class FreezePart:
    """A top-level part of the network (``conv1``, ``layer1``, ``fc``…) and its counts."""

    path: str
    params: int
    frozen: int

    @property
    def trainable(self) -> int:
        return self.params - self.frozen


@dataclass(frozen=True)
class FreezeReport:
    """Which layers are frozen, with parameter counts from the engine's rows (per layer
    path), checked against the module's ``requires_grad`` flags."""

    frozen_layers: tuple[str, ...]
    parts: tuple[FreezePart, ...]
    trainable: int
    frozen: int

    @property
    def params(self) -> int:
        return self.trainable + self.frozen

    def render(self) -> str:
        rows = [(part.path, part.params, part.frozen, part.trainable) for part in self.parts]
        rows.append(("total", self.params, self.frozen, self.trainable))
        width = max(len(row[0]) for row in rows)
        numbers = [max(len(f"{row[column]:,}") for row in rows) for column in (1, 2, 3)]
        numbers = [max(size, len(title)) for size, title in zip(numbers, HEADINGS, strict=True)]
        head = f"{'part':<{width}}" + "".join(
            f"  {title:>{size}}" for title, size in zip(HEADINGS, numbers, strict=True)
        )
        lines = ["parameters (cnncalc's analysis, checked against the module)", head]
        for path, *counts in rows:
            lines.append(
                f"{path:<{width}}"
                + "".join(
                    f"  {value:>{size},}" for value, size in zip(counts, numbers, strict=True)
                )
            )
        return "\n".join(lines)


HEADINGS = ("params", "frozen", "trainable")


def freeze(model: Any, patterns: Sequence[str] = (), *, up_to: str | None = None) -> FreezeReport:
    """Freeze (``requires_grad=False``) the layers of a model built by :func:`cnncalc.build`.

    ``patterns``: layer paths as the engine names them, with shell wildcards (``fnmatch``:
    ``layer1.*``, ``*.bn?``); a group's path (``layer2``) means every layer inside it.
    ``up_to``: every layer from the input up to and including the named layer or group, in
    the engine's order. Layers frozen earlier stay frozen and are counted; with neither
    argument nothing changes and the report gives the counts as they are. Frozen batchnorm
    layers must also stay in eval mode while training: call
    :func:`keep_frozen_batchnorm_eval` after each ``model.train()``. Freeze before wrapping
    the model in DistributedDataParallel (a wrapped model is unwrapped here, as in every
    function of this module).
    """
    model = unwrap(model)
    analysis = _analysis_of(model)
    leaves = [row for row in _leaves(analysis) if row.is_module]
    chosen = _matching(leaves, analysis, patterns, up_to)
    chosen |= {row.path for row in leaves if _already_frozen(model, row.path)}
    frozen = [row for row in leaves if row.path in chosen]
    for row in frozen:
        for parameter in model.get_submodule(row.path).parameters():
            parameter.requires_grad_(False)
    model.frozen_layers = tuple(row.path for row in frozen)
    report = _freeze_report(leaves, chosen)
    _cross_check(model, report)
    return report


def unwrap(model: Any) -> Any:
    """The model inside a (Distributed)DataParallel wrapper, or the model itself."""
    from torch import nn

    wrappers = (nn.DataParallel, nn.parallel.DistributedDataParallel)
    return model.module if isinstance(model, wrappers) else model


def _analysis_of(model: Any) -> Analysis:
    analysis = getattr(unwrap(model), "analysis", None)
    if not isinstance(analysis, Analysis):
        raise TransferError(
            "freezing by layer path needs a model built by cnncalc.build (it carries the "
            "engine's analysis, whose layer paths the patterns name)"
        )
    return analysis


def _matching(
    leaves: list[Row], analysis: Analysis, patterns: Sequence[str], up_to: str | None
) -> set[str]:
    chosen: set[str] = set()
    for pattern in patterns:
        matched = {row.path for row in leaves if _within(row.path, pattern)}
        if not matched:
            raise TransferError(
                f"--freeze '{pattern}' matches no layer{_suggest(pattern, analysis)}"
            )
        chosen |= matched
    if up_to is not None:
        positions = [index for index, row in enumerate(leaves) if _within(row.path, up_to, False)]
        if not positions:
            raise TransferError(
                f"--freeze-up-to '{up_to}': no such layer{_suggest(up_to, analysis)}"
            )
        chosen |= {row.path for row in leaves[: positions[-1] + 1]}
    return chosen


def _within(path: str, pattern: str, wildcards: bool = True) -> bool:
    """``path`` is the layer ``pattern`` names, matches it, or lies inside that group."""
    if path == pattern or path.startswith(pattern + "."):
        return True
    return wildcards and fnmatchcase(path, pattern)


def _suggest(name: str, analysis: Analysis) -> str:
    paths = [row.path for row in analysis.rows]
    close = difflib.get_close_matches(name, paths, n=3, cutoff=0.5)
    if close:
        return f"; did you mean {', '.join(repr(path) for path in close)}?"
    tops = sorted({path.split(".")[0] for path in paths})
    return f"; the layers are named like {', '.join(tops[:6])} (cnncalc shape SPEC lists them)"


def _already_frozen(model: Any, path: str) -> bool:
    parameters = list(model.get_submodule(path).parameters())
    return bool(parameters) and not any(parameter.requires_grad for parameter in parameters)


def _freeze_report(leaves: list[Row], chosen: set[str]) -> FreezeReport:
    parts: dict[str, list[int]] = {}
    for row in leaves:
        counts = parts.setdefault(row.path.split(".")[0], [0, 0])
        counts[0] += int(row.params)
        counts[1] += int(row.params) if row.path in chosen else 0
    frozen = sum(counts[1] for counts in parts.values())
    return FreezeReport(
        frozen_layers=tuple(row.path for row in leaves if row.path in chosen),
        parts=tuple(FreezePart(path, *counts) for path, counts in parts.items() if counts[0]),
        trainable=sum(counts[0] for counts in parts.values()) - frozen,
        frozen=frozen,
    )


def _cross_check(model: Any, report: FreezeReport) -> None:
    """The engine's counts must be the module's: every parameter belongs to one row."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    if (trainable, frozen) != (report.trainable, report.frozen):
        raise TransferError(
            f"the engine counts {report.trainable:,} trainable and {report.frozen:,} frozen "
            f"parameters, the module {trainable:,} and {frozen:,}: some layer's parameters "
            "were frozen only in part (by hand?). Freeze whole layers, by path"
        )


def keep_frozen_batchnorm_eval(model: Any) -> int:
    """Put the frozen layers' batchnorm modules back in eval mode; the count of them.

    Call after every ``model.train()``: a frozen batchnorm in training mode would still
    normalise with the batch's statistics and overwrite its running mean and variance,
    changing the pre-trained features it is meant to keep. Accepts a DDP-wrapped model.
    """
    from torch.nn.modules.batchnorm import _BatchNorm

    inner = unwrap(model)
    count = 0
    for path in getattr(inner, "frozen_layers", ()):
        module = inner.get_submodule(path)
        if isinstance(module, _BatchNorm):
            module.eval()
            count += 1
    return count


def train_mode(model: Any) -> Any:
    """``model.train()``, then :func:`keep_frozen_batchnorm_eval`; the model."""
    model.train()
    keep_frozen_batchnorm_eval(model)
    return model


# ------------------------------------------------------------------ learning rates


def parameter_groups(
    model: Any,
    lr: float,
    backbone_lr_scale: float = 1.0,
    *,
    head: str | None = None,
) -> list[dict[str, Any]]:
    """Optimizer parameter groups: ``{"name": "backbone", "params": […], "lr": lr ×
    backbone_lr_scale}`` and ``{"name": "head", "params": […], "lr": lr}``.

    ``head``: the layer (or group) path of the head; by default the model's last weight
    layer in the engine's analysis. Only trainable parameters are listed (frozen ones need
    no optimizer state); a group with none is left out.
    """
    for name, value in (("learning rate", lr), ("backbone_lr_scale", backbone_lr_scale)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            hint = "; to keep the backbone fixed, freeze it instead" if value == 0 else ""
            raise TransferError(f"the {name} must be a positive number, got {value!r}{hint}")
    inner = unwrap(model)
    if head is None:
        head = _head_row(_analysis_of(inner), "the model").path
    backbone: list[Any] = []
    top: list[Any] = []
    for name, parameter in inner.named_parameters():
        if parameter.requires_grad:
            (top if _within(name.rsplit(".", 1)[0], head, False) else backbone).append(parameter)
    if not top and not any(_within(name, head, False) for name, _ in inner.named_parameters()):
        raise TransferError(f"the head '{head}' is not a layer of the model")
    groups = [
        {"name": "backbone", "params": backbone, "lr": lr * backbone_lr_scale},
        {"name": "head", "params": top, "lr": lr},
    ]
    return [group for group in groups if group["params"]]


__all__ = [
    "FreezePart",
    "FreezeReport",
    "HeadReplacement",
    "ShapeMismatch",
    "TransferError",
    "WeightReport",
    "build_with_new_head",
    "freeze",
    "keep_frozen_batchnorm_eval",
    "load_weights",
    "parameter_groups",
    "replace_head",
    "train_mode",
    "unwrap",
]
