"""Every method on the same images, as one self-contained HTML page."""

from __future__ import annotations

from typing import Any

from .deconvnet import deconvnet
from .images import Batch
from .inside import activations, filters
from .layers import last_spatial_layer
from .methods import grad_cam, guided_backprop, guided_grad_cam, saliency
from .occlusion import occlusion
from .render import (
    activations_png,
    explanation_png,
    filters_png,
    gallery_html,
    heading,
)
from .source import Source, VisualiseError

Section = tuple[str, str, bytes | None]
"""One figure of the page: heading, caption, PNG (None where a method refuses the spec)."""


def gallery(source: Source, batch: Batch, progress: Any = None) -> str:
    """The HTML page: the first conv's filters, two layers' activations, then saliency,
    guided backprop, Grad-CAM, guided Grad-CAM, occlusion and the deconvnet on ``batch``."""
    sections = [*_filter_sections(source), *_method_sections(source, batch, progress)]
    title = f"cnncalc visualise: {source.analysis.name}"
    return gallery_html(title, f"{source.origin}; images: {', '.join(batch.names)}", sections)


def run_gallery(source: Source, per_class: int = 1, progress: Any = None) -> str:
    """The HTML page for a whole run: the first conv's filters, then every method on
    ``per_class`` validation images of each class, rebuilt from the run's resolved config
    (:func:`validation_batches`); each caption gives the predicted and the true class."""
    batches, where = validation_batches(source, per_class)
    sections = list(_filter_sections(source))
    for name, batch in batches:
        sections.extend(_method_sections(source, batch, progress, f"class {name}"))
    title = f"cnncalc visualise: {source.analysis.name}, every class"
    return gallery_html(title, f"{source.origin}; {where}", sections)


def validation_batches(source: Source, per_class: int) -> tuple[list[tuple[str, Batch]], str]:
    """The first ``per_class`` images of each class in the run's validation split, which the
    training package's data code rebuilds from the checkpoint's config exactly as training
    made it (same source, channels, size, seeded split and fraction), and a line saying so."""
    import numpy as np

    from ..train.config import config_from_dict
    from ..train.data import as_float, prepare_data, read_source

    if source.run_config is None:
        raise VisualiseError(
            f"{source.origin}: the checkpoint carries no training config, so its validation "
            "images cannot be rebuilt; give images or --samples"
        )
    if per_class < 1:
        raise VisualiseError("--per-class must be at least 1")
    config = config_from_dict(source.run_config)
    shape = source.input_shape
    splits = read_source(config.data, config.data_dir, False, shape[1:] if config.resize else None)
    val = prepare_data(splits, shape, config, None, config.data).val
    batches: list[tuple[str, Batch]] = []
    for label, name in enumerate(source.classes):
        chosen = [int(i) for i in (val.labels == label).nonzero().flatten()[:per_class]]
        if not chosen:
            continue  # a class the (small) validation split lacks: nothing to show
        pixels = np.ascontiguousarray(as_float(val.images[chosen]).numpy())
        names = tuple(f"val[{index}] (true {name})" for index in chosen)
        batches.append((name, Batch(pixels, tuple(label for _ in chosen), names)))
    where = (
        f"validation images of '{config.data}' (val fraction {config.val_fraction}, seed "
        f"{config.seed}): up to {per_class} per class, {len(val):,} in the split"
    )
    return batches, where


def _filter_sections(source: Source) -> list[Section]:
    convs = _convs(source)
    if not convs:
        return []
    found = filters(source, convs[0])
    return [(f"filters of {found.layer}", found.caption, filters_png(found))]


def _convs(source: Source) -> list[str]:
    return [row.path for row in source.analysis.layers if row.kind in ("conv", "depthwise")]


def _method_sections(
    source: Source, batch: Batch, progress: Any = None, group: str = ""
) -> list[Section]:
    """Two layers' activations and every attribution method on ``batch``; with a ``group``
    (a class), headings name it and captions give each image's predicted and true class."""
    suffix = f" — {group}" if group else ""
    sections: list[Section] = []
    for layer in dict.fromkeys([*_convs(source)[:1], last_spatial_layer(source.analysis).path]):
        maps = activations(source, batch, layer)
        sections.append((f"activations of {layer}{suffix}", maps.caption, activations_png(maps)))
    results = [method(source, batch) for method in METHODS]
    results.append(occlusion(source, batch, progress=progress))
    refusal = ""
    try:
        results.append(deconvnet(source, batch))
    except VisualiseError as refused:
        refusal = str(refused)
    for result in results:
        caption = heading(result) + (_verdicts(result) if group else "")
        sections.append((f"{result.method}{suffix}", caption, explanation_png(result)))
    if refusal:
        sections.append((f"deconvnet{suffix}", refusal, None))
    return sections


METHODS = (saliency, guided_backprop, grad_cam, guided_grad_cam)


def _verdicts(result: Any) -> str:
    """One line per image: what the network predicted and what the image is."""
    lines = []
    for index, name in enumerate(result.names):
        predicted = int(result.predictions[index])
        probability = float(result.probabilities[index][predicted])
        true = result.classes[int(result.targets[index])]
        lines.append(
            f"\n{name}: predicted {result.classes[predicted]} (p={probability:.3g}), true {true}"
        )
    return "".join(lines)
