"""ZFNet's deconvnet (Zeiler & Fergus 2014, section 2.1), where it can be done honestly.

The deconvnet maps a signal back to the pixels by *unpooling* (max-pool switches), *rectifying*
(a ReLU applied to the signal itself) and *filtering* (the conv's transposed filters). The
first and third are exactly what autograd does through a max-pool and a conv, so the deconvnet
is the gradient with each ReLU's backward replaced by ReLU of the signal (Captum's
``Deconvolution`` applies the same rule). Layers that are linear at inference (linear,
batchnorm, average pooling, dropout, flatten, add, concat, padding) are reversed by their
transpose, which is their gradient too. Contrast normalisation (``lrn``) is passed through
unchanged: ZFNet's reverse pass does not invert it.

It cannot be done honestly through another nonlinearity (tanh, sigmoid, GELU, leaky ReLU…)
or a product of two signals (SE ``multiply``): ZFNet defines no reverse for them, and
substituting the local gradient would be a different method. Those specs are refused, naming
the layers.

With ``layer`` given the projection starts, as in ZFNet, from one activation: the largest
value of the strongest feature map of that layer, all others set to zero; otherwise from the
target class's logit.
"""

from __future__ import annotations

from typing import Any

from .images import Batch, normalised
from .layers import capture, spatial_layer
from .methods import (
    OTHER_NONLINEAR,
    Explanation,
    channel_max,
    choose_targets,
    explanation_of,
    input_gradient,
    relu_rule_model,
)
from .source import Source, VisualiseError

NO_REVERSE = (*OTHER_NONLINEAR, "multiply", "layernorm")


def check_deconvnet(source: Source) -> list[str]:
    """The layers the deconvnet passes straight through (``lrn``); raises for a spec it
    cannot reverse honestly."""
    layers = list(source.analysis.layers)
    if layers and layers[-1].kind == "softmax":
        layers = layers[:-1]  # the logit is explained: a final softmax is not reversed
    refused = [row for row in layers if row.kind in NO_REVERSE]
    if refused:
        names = ", ".join(f"{row.path} ({row.kind})" for row in refused[:6])
        more = f" and {len(refused) - 6} more" if len(refused) > 6 else ""
        raise VisualiseError(
            f"deconvnet cannot be done honestly for {source.analysis.file}: ZFNet reverses "
            f"conv, ReLU and max-pool layers, and has no reverse for {names}{more}; "
            "use guided-backprop or saliency for this spec"
        )
    return [row.path for row in layers if row.kind == "lrn"]


def deconvnet(
    source: Source, batch: Batch, target: int | str | None = None, layer: str | None = None
) -> Explanation:
    from torch import nn

    from .rules import PassThrough, replace_modules

    passed = check_deconvnet(source)
    model, _ = relu_rule_model(source, "deconvnet")
    replace_modules(model, nn.LocalResponseNorm, PassThrough)
    notes = (
        [f"contrast normalisation passed through unchanged: {', '.join(passed)}"] if passed else []
    )
    if layer is None:
        signal, logits, targets = input_gradient(model, source, batch, target)
        start = "the target class's logit"
    else:
        signal, logits, targets, start = _from_activation(model, source, batch, layer, target)
    return explanation_of(
        "deconvnet",
        source,
        batch,
        logits,
        targets,
        maps=channel_max(signal),
        attributions=signal.numpy(),
        layer=layer,
        settings={"from": start},
        notes=tuple(notes),
        map_label=f"deconvnet projection of {start}, max |·| over channels",
    )


def _from_activation(
    model: Any, source: Source, batch: Batch, layer: str, target: Any
) -> tuple[Any, Any, tuple[int, ...], str]:
    import torch

    row = spatial_layer(source.analysis, layer, "deconvnet from a layer")
    inputs = normalised(source, batch).requires_grad_(True)
    with capture(model, [row.path]) as outputs:
        logits = model(inputs)
    activation = outputs[row.path]
    count = activation.shape[0]
    flat = activation.reshape(count, -1)
    strongest = flat.argmax(dim=1)  # the largest activation: its map is the strongest
    chosen = flat.gather(1, strongest.view(-1, 1)).sum()
    (signal,) = torch.autograd.grad(chosen, inputs)
    channels = [int(index) // (activation.shape[2] * activation.shape[3]) for index in strongest]
    start = f"the strongest activation of {row.path} (map {', '.join(map(str, channels))})"
    return signal, logits, choose_targets(source, batch, logits, target), start
