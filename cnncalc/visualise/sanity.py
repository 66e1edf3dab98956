"""The model-randomisation test of Adebayo et al. 2018 ("Sanity checks for saliency maps").

The layers with weights are re-initialised one at a time from the output down, cascading (each
step keeps the layers randomised before it), and the method is run again with the same images
and targets. A map that stays the same while the weights it explains are destroyed does not
depend on what the network learned.

Similarity of each step's map to the original, per image, then averaged over the images:

- ``spearman``: Spearman rank correlation of the absolute maps (the paper's main measure);
- ``ssim``: structural similarity computed over the whole map as one window (a global
  SSIM, not the paper's windowed one), each map scaled by its largest |value| to [0, 1],
  with C1 = 0.01², C2 = 0.03².

Re-initialisation is each module's own ``reset_parameters()`` (PyTorch's default init: Kaiming
uniform for conv and linear; batchnorm back to γ = 1, β = 0, running mean 0, variance 1),
seeded per step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .images import Batch
from .layers import module_at
from .methods import Explanation
from .source import Source, VisualiseError


@dataclass(frozen=True)
class SanityStep:
    """After randomising ``layer`` (and every layer above it)."""

    layer: str
    spearman: float
    ssim: float
    maps: Any


@dataclass(frozen=True)
class SanityReport:
    method: str
    original: Explanation
    steps: tuple[SanityStep, ...]
    measures: str = (
        "Spearman rank correlation of |map| with the original; global SSIM of the maps scaled "
        "to [0, 1]; means over the images"
    )


Method = Callable[[Source, Batch, Any], Explanation]


def sanity_check(
    method: Callable[..., Explanation],
    source: Source,
    batch: Batch,
    seed: int = 0,
    **options: Any,
) -> SanityReport:
    """Run ``method(source, batch, target=…, **options)`` on the model, then after each
    cascading randomisation step (see the module)."""
    import torch

    original = method(source, batch, **options)
    options = {**options, "target": None}
    fixed = replace(batch, labels=original.targets)  # the same targets at every step
    model = copy.deepcopy(source.model, memo={id(source.analysis): source.analysis})
    layers = [row.path for row in source.analysis.layers if _has_weights(model, row.path)]
    if not layers:
        raise VisualiseError("--sanity needs layers with weights to randomise; this spec has none")
    steps = []
    for index, path in enumerate(reversed(layers)):
        with torch.random.fork_rng():
            torch.manual_seed(seed + index)
            model.get_submodule(path).reset_parameters()
        result = method(replace(source, model=model), fixed, **options)
        spearman, ssim = similarity(original.maps, result.maps)
        steps.append(SanityStep(path, spearman, ssim, result.maps))
    return SanityReport(original.method, original, tuple(steps))


def _has_weights(model: Any, path: str) -> bool:
    module = module_at(model, path)
    return (
        module is not None
        and hasattr(module, "reset_parameters")
        and any(True for _ in module.parameters(recurse=False))
    )


def similarity(first: Any, second: Any) -> tuple[float, float]:
    """(mean Spearman of |maps|, mean global SSIM) over the images. An image whose map is
    constant has no rank correlation (undefined) and is left out of the mean; NaN if all are."""
    import numpy as np
    from scipy.stats import spearmanr

    spearmans, ssims = [], []
    for one, other in zip(first, second, strict=True):
        a, b = np.abs(one).ravel(), np.abs(other).ravel()
        constant = a.max() == a.min() or b.max() == b.min()
        spearmans.append(float("nan") if constant else float(spearmanr(a, b).statistic))
        ssims.append(global_ssim(a, b))
    return _mean(spearmans), _mean(ssims)


def _mean(values: list[float]) -> float:
    """The mean over the images that have a value; NaN when none has."""
    import math

    present = [value for value in values if not math.isnan(value)]
    return sum(present) / len(present) if present else float("nan")


def global_ssim(first: Any, second: Any) -> float:
    import numpy as np

    x = first / first.max() if first.max() > 0 else first
    y = second / second.max() if second.max() > 0 else second
    c1, c2 = 0.01**2, 0.03**2
    mean_x, mean_y = x.mean(), y.mean()
    covariance = ((x - mean_x) * (y - mean_y)).mean()
    numerator = (2 * mean_x * mean_y + c1) * (2 * covariance + c2)
    denominator = (mean_x**2 + mean_y**2 + c1) * (x.var() + y.var() + c2)
    return float(numerator / denominator) if np.isfinite(numerator) else float("nan")
