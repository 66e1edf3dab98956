"""Backward rules that replace a layer's gradient, for guided backprop and the deconvnet
(imports torch: load it only inside the functions that need it).

Guided backprop (Springenberg et al. 2015) and the deconvnet (Zeiler & Fergus 2014) differ
from the gradient only at a ReLU. With f the ReLU's input and R the signal from above:

- gradient:        R_in = (f > 0) · R
- deconvnet:       R_in = (R > 0) · R          (ZFNet: the reconstruction is rectified)
- guided backprop: R_in = (f > 0) · (R > 0) · R (the lecture notes' formula)

These are the rules Captum's ``GuidedBackprop`` and ``Deconvolution`` apply to ``nn.ReLU``
modules. Here the ReLU modules of a *copy* of the model are replaced, so the user's model
is never touched.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, values: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(values)
        return values.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, signal: torch.Tensor) -> torch.Tensor:
        (values,) = ctx.saved_tensors
        return signal.clamp(min=0) * (values > 0).to(signal.dtype)


class _DeconvReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, values: torch.Tensor) -> torch.Tensor:
        return values.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, signal: torch.Tensor) -> torch.Tensor:
        return signal.clamp(min=0)


class RuleReLU(nn.Module):
    """A ReLU whose backward pass is the ``guided`` or the ``deconvnet`` rule."""

    def __init__(self, rule: str) -> None:
        super().__init__()
        self.rule = rule

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        function = _GuidedReLU if self.rule == "guided" else _DeconvReLU
        return function.apply(values)


class PassThrough(nn.Module):
    """The wrapped layer forward, the identity backward (ZFNet does not invert contrast
    normalisation: its deconvnet is unpooling, rectification and filtering only)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return values + (self.layer(values) - values).detach()


def replace_modules(model: nn.Module, kind: type, make: Any) -> list[str]:
    """Replace every submodule of exactly type ``kind`` by ``make(module)``, in place on
    ``model`` (a copy); returns the replaced paths."""
    replaced = []
    for path, module in list(model.named_modules()):
        if type(module) is kind and path:
            parent_path, _, name = path.rpartition(".")
            parent = model.get_submodule(parent_path) if parent_path else model
            setattr(parent, name, make(module))
            replaced.append(path)
    return replaced
