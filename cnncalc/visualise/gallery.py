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


def gallery(source: Source, batch: Batch, progress: Any = None) -> str:
    """The HTML page: the first conv's filters, two layers' activations, then saliency,
    guided backprop, Grad-CAM, guided Grad-CAM, occlusion and the deconvnet on ``batch``."""
    sections: list[tuple[str, str, bytes | None]] = []
    convs = [row.path for row in source.analysis.layers if row.kind in ("conv", "depthwise")]
    if convs:
        found = filters(source, convs[0])
        sections.append((f"filters of {found.layer}", found.caption, filters_png(found)))
    for layer in dict.fromkeys([*convs[:1], last_spatial_layer(source.analysis).path]):
        maps = activations(source, batch, layer)
        sections.append((f"activations of {layer}", maps.caption, activations_png(maps)))
    for method in (saliency, guided_backprop, grad_cam, guided_grad_cam):
        result = method(source, batch)
        sections.append((result.method, heading(result), explanation_png(result)))
    result = occlusion(source, batch, progress=progress)
    sections.append(("occlusion", heading(result), explanation_png(result)))
    try:
        result = deconvnet(source, batch)
        sections.append(("deconvnet", heading(result), explanation_png(result)))
    except VisualiseError as refused:
        sections.append(("deconvnet", str(refused), None))
    title = f"cnncalc visualise: {source.analysis.name}"
    return gallery_html(title, f"{source.origin}; images: {', '.join(batch.names)}", sections)
