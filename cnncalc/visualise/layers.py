"""Layers by spec path, exactly as ``cnncalc summary`` names them, and their outputs captured.

A layer that is a module is watched by a forward hook; a step the builder writes inline (a
residual ``add``, a ``concat``, a module followed by a reshape) is seen through the built
model's ``recorder``, which it calls with the layer's output. Both see the very tensor the
rest of the network uses, so gradients with respect to it are the layer's gradients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..engine import Analysis, Row
from ..errors import did_you_mean
from .source import VisualiseError


def resolve_layer(analysis: Analysis, name: str) -> Row:
    """The layer row named ``name`` (a spec path such as ``layer1.0.conv1``)."""
    for row in analysis.layers:
        if row.path == name:
            return row
    paths = [row.path for row in analysis.layers]
    raise VisualiseError(f"no layer '{name}' in {analysis.file}; {_suggestion(name, paths)}")


def _suggestion(name: str, paths: list[str]) -> str:
    import difflib

    hint = did_you_mean(name, paths)
    close = difflib.get_close_matches(name, paths, n=4, cutoff=0.4)
    if hint and len(close) > 1:
        return f"{hint} (close: {', '.join(close)})"
    if hint or close:
        return hint or f"close names: {', '.join(close)}"
    shown = ", ".join(paths[:8]) + (" …" if len(paths) > 8 else "")
    return f"the layers are {shown} (cnncalc summary lists them all)"


def is_spatial(row: Row) -> bool:
    return len(row.output_shape) == 3


def last_spatial_layer(analysis: Analysis) -> Row:
    """The last layer whose output is a C×H×W map larger than 1×1: Grad-CAM's default (a
    1×1 map would make the "localisation" a single number)."""
    for row in reversed(analysis.layers):
        if is_spatial(row) and int(row.output_shape[1]) * int(row.output_shape[2]) > 1:
            return row
    raise VisualiseError(f"{analysis.file} has no layer with a spatial (C×H×W) output")


def spatial_layer(analysis: Analysis, name: str | None, method: str) -> Row:
    """``name``'s row, which must have a C×H×W output; the last such layer when None."""
    if name is None:
        return last_spatial_layer(analysis)
    row = resolve_layer(analysis, name)
    if not is_spatial(row):
        default = last_spatial_layer(analysis).path
        raise VisualiseError(
            f"{method} needs a layer with a spatial output (C×H×W); '{name}' ({row.kind}) "
            f"outputs a vector of {'×'.join(map(str, row.output_shape))}; pick a conv or pool "
            f"layer, e.g. '{default}' (the default)"
        )
    return row


def module_at(model: Any, path: str) -> Any | None:
    try:
        return model.get_submodule(path)
    except AttributeError:
        return None


@contextmanager
def capture(model: Any, paths: list[str]) -> Iterator[dict[str, Any]]:
    """Within the block, each forward of ``model`` stores the outputs of the layers ``paths``
    in the yielded dict. Hooks and recorder are removed afterwards."""
    outputs: dict[str, Any] = {}
    wanted = set(paths)
    handles = []

    def hook_for(path: str) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            outputs[path] = output

        return hook

    for path in paths:
        module = module_at(model, path)
        if module is not None:
            handles.append(module.register_forward_hook(hook_for(path)))
    previous = model.recorder

    def record(path: str, tensor: Any) -> None:  # the layer's own output: it wins over a hook
        if path in wanted:
            outputs[path] = tensor

    model.recorder = record
    try:
        yield outputs
    finally:
        model.recorder = previous
        for handle in handles:
            handle.remove()
