"""The visualisation methods: arrays and metadata, never pictures (``render`` draws them).

Every method works on a deep copy of the source's model in eval mode, so the user's model is
never changed (no hooks left behind, no ReLU swapped), and on any number of images at once.
The score explained is the target class's logit: the network's output, or the input of a
final ``softmax`` layer (the copy drops it), as Grad-CAM and Captum do; probabilities are the
softmax of the logits.

Targets: the image's label where known (``--samples`` digits), else the predicted class,
unless ``target`` names one class for all images.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine import Row
from .images import Batch, normalised
from .layers import capture, module_at, spatial_layer
from .source import Source, VisualiseError

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each forward pass of a long method."""


@dataclass(frozen=True)
class Explanation:
    """What a method found for each of N images.

    ``maps``: N×H×W at the input's size, what the pictures show; ``attributions``: the raw
    result (N×C×H×W in input space; N×1×h×w at the layer for Grad-CAM; N×h×w patch positions
    for occlusion, the target's probability with the patch there); ``pixels``: the images,
    N×C×H×W in [0, 1]; ``probabilities``: N×K softmax of the logits."""

    method: str
    maps: Any
    attributions: Any
    pixels: Any
    names: tuple[str, ...]
    targets: tuple[int, ...]
    predictions: tuple[int, ...]
    probabilities: Any
    classes: tuple[str, ...]
    layer: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    map_label: str = "attribution"
    origin: str = ""
    """The model's file, and whether its weights are trained or fresh."""


def working_copy(model: Any) -> Any:
    """A deep copy in eval mode, its parameters frozen, a final softmax dropped."""
    from torch import nn

    # the analysis (frozen data, large for a deep spec) is shared, not copied
    clone = copy.deepcopy(model, memo={id(model.analysis): model.analysis}).eval()
    for parameter in clone.parameters():
        parameter.requires_grad_(False)
    last = clone.analysis.layers[-1]
    if last.kind == "softmax" and module_at(clone, last.path) is not None:
        parent, _, name = last.path.rpartition(".")
        setattr(clone.get_submodule(parent) if parent else clone, name, nn.Identity())
    return clone


def choose_targets(
    source: Source, batch: Batch, logits: Any, target: int | str | None
) -> tuple[int, ...]:
    predicted = [int(index) for index in logits.argmax(dim=1)]
    if target is not None:
        chosen = class_index(source, target)
        return tuple(chosen for _ in predicted)
    return tuple(
        label if label is not None else guess
        for label, guess in zip(batch.labels, predicted, strict=True)
    )


def class_index(source: Source, target: int | str) -> int:
    """A class given by name or by index."""
    text = str(target)
    if text in source.classes:
        return source.classes.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(source.classes):
        return int(text)
    shown = ", ".join(source.classes[:12]) + (" …" if len(source.classes) > 12 else "")
    raise VisualiseError(
        f"--target '{target}' is not a class of this model: give a name or an index "
        f"0…{len(source.classes) - 1} (classes: {shown})"
    )


def explanation_of(
    method: str, source: Source, batch: Batch, logits: Any, targets: tuple[int, ...], **rest: Any
) -> Explanation:
    probabilities = logits.detach().softmax(dim=1)
    return Explanation(
        method=method,
        pixels=batch.pixels,
        names=batch.names,
        targets=targets,
        predictions=tuple(int(index) for index in probabilities.argmax(dim=1)),
        probabilities=probabilities.numpy(),
        classes=source.classes,
        origin=source.origin,
        **rest,
    )


def input_gradient(model: Any, source: Source, batch: Batch, target: Any) -> tuple[Any, ...]:
    """(d logit_target / d input, logits, targets) for every image at once: the images are
    independent in eval mode, so the gradient of the sum is each image's gradient."""
    import torch

    inputs = normalised(source, batch).requires_grad_(True)
    logits = model(inputs)
    targets = choose_targets(source, batch, logits, target)
    chosen = logits.gather(1, torch.tensor(targets).view(-1, 1)).sum()
    (gradient,) = torch.autograd.grad(chosen, inputs)
    return gradient, logits, targets


def channel_max(values: Any) -> Any:
    """The N×H×W map drawn for an input-space attribution: max |·| over the channels
    (Simonyan et al. 2014)."""
    return values.abs().amax(dim=1).numpy()


def saliency(source: Source, batch: Batch, target: int | str | None = None) -> Explanation:
    """|d logit / d pixel| (Simonyan et al. 2014; Captum's ``Saliency``, abs=True)."""
    gradient, logits, targets = input_gradient(working_copy(source.model), source, batch, target)
    return explanation_of(
        "saliency",
        source,
        batch,
        logits,
        targets,
        maps=channel_max(gradient),
        attributions=gradient.abs().numpy(),
        map_label="|∂ logit / ∂ pixel|, max over channels",
    )


def relu_rule_model(source: Source, rule: str) -> tuple[Any, list[str]]:
    from torch import nn

    from .rules import RuleReLU, replace_modules

    model = working_copy(source.model)
    replaced = replace_modules(model, nn.ReLU, lambda module: RuleReLU(rule))
    return model, replaced


OTHER_NONLINEAR: tuple[str, ...] = (
    *("relu6", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "silu"),
    *("hardswish", "hardsigmoid", "softmax"),
)


def _other_activations(source: Source) -> list[Row]:
    rows = source.analysis.layers
    return [row for row in rows[:-1] if row.kind in OTHER_NONLINEAR] + [
        row for row in rows[-1:] if row.kind in OTHER_NONLINEAR and row.kind != "softmax"
    ]


def guided_backprop(source: Source, batch: Batch, target: int | str | None = None) -> Explanation:
    """The gradient with every ReLU passing back only positive signal where its input was
    positive (Springenberg et al. 2015; Captum's ``GuidedBackprop``)."""
    model, replaced = relu_rule_model(source, "guided")
    gradient, logits, targets = input_gradient(model, source, batch, target)
    notes = _guided_notes(source, replaced)
    return explanation_of(
        "guided-backprop",
        source,
        batch,
        logits,
        targets,
        maps=channel_max(gradient),
        attributions=gradient.numpy(),
        notes=notes,
        map_label="guided gradient, max |·| over channels",
    )


def _guided_notes(source: Source, replaced: list[str]) -> tuple[str, ...]:
    others = _other_activations(source)
    names = ", ".join(f"{row.path} ({row.kind})" for row in others[:6])
    names += f" and {len(others) - 6} more" if len(others) > 6 else ""
    if not replaced:
        return (
            f"no ReLU in the spec ({names or 'no activations'}): guided backprop is the "
            "plain gradient here",
        )
    if others:
        return (f"the guided rule applies to ReLU layers; plain gradient through {names}",)
    return ()


def grad_cam(
    source: Source, batch: Batch, layer: str | None = None, target: int | str | None = None
) -> Explanation:
    """Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k α_k A^k) with α_k the spatial mean of
    d logit / d A^k, at ``layer`` (default: the last layer with a C×H×W output larger than
    1×1), upsampled bilinearly to the input (Captum's ``LayerGradCam``, relu_attributions)."""
    row = spatial_layer(source.analysis, layer, "grad-cam")
    cam, upsampled, logits, targets = _grad_cam(
        working_copy(source.model), source, batch, row, target
    )
    return explanation_of(
        "grad-cam",
        source,
        batch,
        logits,
        targets,
        maps=upsampled[:, 0].numpy(),
        attributions=cam.numpy(),
        layer=row.path,
        settings={"layer": row.path, "layer_shape": list(row.output_shape)},
        map_label=f"Grad-CAM at {row.path} ({shape_text(row.output_shape)})",
    )


def _grad_cam(model: Any, source: Source, batch: Batch, row: Row, target: Any) -> tuple[Any, ...]:
    import torch
    import torch.nn.functional as F

    inputs = normalised(source, batch).requires_grad_(True)
    with capture(model, [row.path]) as outputs:
        logits = model(inputs)
    activation = outputs[row.path]
    targets = choose_targets(source, batch, logits, target)
    chosen = logits.gather(1, torch.tensor(targets).view(-1, 1)).sum()
    (gradient,) = torch.autograd.grad(chosen, activation)
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True)).detach()
    size = tuple(inputs.shape[2:])
    upsampled = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    return cam, upsampled, logits, targets


def guided_grad_cam(
    source: Source, batch: Batch, layer: str | None = None, target: int | str | None = None
) -> Explanation:
    """Guided backprop × the upsampled Grad-CAM map (Selvaraju et al. 2017; Captum's
    ``GuidedGradCam`` with bilinear interpolation)."""
    row = spatial_layer(source.analysis, layer, "guided-grad-cam")
    model, replaced = relu_rule_model(source, "guided")
    guided, logits, targets = input_gradient(model, source, batch, target)
    # the forward pass is the same with the guided rule, so the targets are the same
    _, upsampled, _, _ = _grad_cam(working_copy(source.model), source, batch, row, target)
    product = guided * upsampled
    return explanation_of(
        "guided-grad-cam",
        source,
        batch,
        logits,
        targets,
        maps=channel_max(product),
        attributions=product.numpy(),
        layer=row.path,
        settings={"layer": row.path},
        notes=_guided_notes(source, replaced),
        map_label=f"guided backprop × Grad-CAM at {row.path}, max |·| over channels",
    )


def shape_text(shape: tuple[Any, ...]) -> str:
    return "×".join(str(dim) for dim in shape)
