"""Look inside a spec's network: filters, activations, occlusion, saliency, guided backprop,
Grad-CAM, guided Grad-CAM, the deconvnet, and the model-randomisation sanity check.

Library first: every function returns frozen data with NumPy arrays
(:class:`~.methods.Explanation`, :class:`~.inside.Filters`, :class:`~.inside.Activations`,
:class:`~.sanity.SanityReport`); :mod:`.render` draws them. Layers are named by their spec
paths, as ``cnncalc summary`` prints them. torch is imported inside the functions.

>>> from cnncalc.visualise import load_source, digit_samples, grad_cam
>>> source = load_source("specs/lenet5.yaml")            # or a cnncalc train checkpoint
>>> result = grad_cam(source, digit_samples(source, 2))   # default layer: the last spatial one
>>> result.layer, result.maps.shape
('s4', (2, 32, 32))
"""

from __future__ import annotations

from collections.abc import Callable

from .deconvnet import deconvnet
from .gallery import gallery, run_gallery, validation_batches
from .images import Batch, digit_samples, load_images
from .inside import Activations, Filters, activations, filters
from .layers import last_spatial_layer, resolve_layer
from .methods import Explanation, grad_cam, guided_backprop, guided_grad_cam, saliency
from .occlusion import default_window, occlusion
from .sanity import SanityReport, sanity_check
from .source import Normalisation, Source, VisualiseError, load_source

ATTRIBUTION_METHODS: dict[str, Callable[..., Explanation]] = {
    "saliency": saliency,
    "guided-backprop": guided_backprop,
    "grad-cam": grad_cam,
    "guided-grad-cam": guided_grad_cam,
    "occlusion": occlusion,
    "deconvnet": deconvnet,
}
"""The methods that explain a class score on images, by their command-line names."""

METHODS = ("filters", "activations", *ATTRIBUTION_METHODS, "gallery")

__all__ = [
    "ATTRIBUTION_METHODS",
    "METHODS",
    "Activations",
    "Batch",
    "Explanation",
    "Filters",
    "Normalisation",
    "SanityReport",
    "Source",
    "VisualiseError",
    "activations",
    "deconvnet",
    "default_window",
    "digit_samples",
    "filters",
    "gallery",
    "grad_cam",
    "guided_backprop",
    "guided_grad_cam",
    "last_spatial_layer",
    "load_images",
    "load_source",
    "occlusion",
    "resolve_layer",
    "run_gallery",
    "saliency",
    "sanity_check",
    "validation_batches",
]
