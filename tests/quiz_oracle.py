"""PyTorch's answer to every quiz box: the question's specs built as real modules, and each
:class:`~cnncalc.quiz.Measure` re-derived from tensors (shapes, ``numel``, FlopCounterMode,
gradients), never from cnncalc's rules.

Used by tests/test_quiz.py; torch is imported by the caller's ``importorskip``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

import cnncalc


class Built:
    """A spec built in PyTorch, every layer's input and output recorded by a forward hook."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spec = cnncalc.parse_spec(text, "<question>")
        self.analysis = cnncalc.analyse(self.spec)
        # on the meta device: shapes, counts and FLOPs without memory or arithmetic
        device = "meta"
        torch.manual_seed(0)
        self.model = cnncalc.build(self.spec, device=device).eval()
        self.device = device
        self.inputs: dict[str, torch.Tensor] = {}
        self.outputs: dict[str, torch.Tensor] = {}
        hooks = []
        for row in self.analysis.layers:
            if not row.is_module:
                continue  # a merge (concat, add): a line of forward, no module
            module = self.model.get_submodule(row.path)
            hooks.append(module.register_forward_hook(self._record(row.path)))
        with torch.no_grad():
            self.model(self._image())
        for hook in hooks:
            hook.remove()

    def _image(self, batch: int = 1) -> torch.Tensor:
        shape = tuple(self.analysis.input_shape)
        return torch.rand(batch, *shape, device=self.device)

    def _record(self, path: str) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            self.inputs[path] = inputs[0]
            self.outputs[path] = output

        return hook

    def output(self, path: str) -> tuple[int, ...]:
        if path in self.outputs:
            return tuple(self.outputs[path].shape[1:])
        # a merge (concat, add) is a line of forward: its output is what the next module
        # in the network's order receives
        paths = [row.path for row in self.analysis.layers]
        following = next(p for p in paths[paths.index(path) + 1 :] if p in self.inputs)
        return tuple(self.inputs[following].shape[1:])

    def params(self, path: str) -> int:
        module = self.model.get_submodule(path) if path else self.model
        return sum(parameter.numel() for parameter in module.parameters())

    def weights(self, path: str) -> int:
        return int(self.model.get_submodule(path).weight.numel())

    def buffers(self, path: str) -> int:
        return sum(buffer.numel() for buffer in self.model.get_submodule(path).buffers())

    def flops(self, path: str) -> int:
        module = self.model.get_submodule(path) if path else self.model
        argument = self.inputs[path] if path else self._image()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(argument)
        return int(counter.get_total_flops())


@lru_cache(maxsize=256)
def built(text: str) -> Built:
    return Built(text)


def _positive(model: torch.nn.Module) -> torch.nn.Module:
    """Positive weights, max pools as average pools: every pixel a window covers gets a
    non-zero gradient (as tests/test_receptive_field_torch.py does)."""
    for parameter in model.parameters():
        parameter.data.uniform_(0.5, 1.0)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.MaxPool2d):
                pool = torch.nn.AvgPool2d(
                    child.kernel_size, child.stride, child.padding, child.ceil_mode
                )
                setattr(module, name, pool)
    return model


def _gradient(text: str, path: str, pixel: tuple[int, int] | None) -> torch.Tensor:
    """d(output of ``path`` at ``pixel``, summed over channels; all pixels if None)/d input."""
    spec = cnncalc.parse_spec(_thin(text), "<question>")
    analysis = cnncalc.analyse(spec)
    model = _positive(cnncalc.build(spec).double()).eval()
    captured: dict[str, torch.Tensor] = {}
    model.get_submodule(path).register_forward_hook(
        lambda module, inputs, output: captured.setdefault("out", output)
    )
    image = torch.rand(1, *analysis.input_shape, dtype=torch.double, requires_grad=True)
    model(image)
    out = captured["out"]
    chosen = out[0, :, pixel[0], pixel[1]] if pixel else out
    chosen.sum().backward()
    return image.grad[0].abs().sum(dim=0)  # H × W


def _thin(text: str) -> str:
    """The same geometry with one channel throughout: which input pixels an output sees
    does not depend on the channel counts, and one channel is fast."""
    data = yaml.safe_load(text)
    data["input"][0] = 1
    for layer in data["layers"]:
        if isinstance(layer, dict) and "conv" in layer:
            layer["conv"]["filters"] = 1
    return yaml.safe_dump(data)


def _support(gradient: torch.Tensor, axis: int) -> tuple[int, int]:
    seen = gradient.sum(dim=1 - axis)
    indices = seen.nonzero().flatten()
    return int(indices.min()), int(indices.max())


@lru_cache(maxsize=64)
def field_and_jump(text: str, path: str, axis: int) -> tuple[int, int]:
    shape = built(text).output(path)
    centre = [shape[1] // 2, shape[2] // 2]
    first = _support(_gradient(text, path, tuple(centre)), axis)
    centre[axis] += 1
    second = _support(_gradient(text, path, tuple(centre)), axis)
    return first[1] - first[0] + 1, second[0] - first[0]


def uncovered(text: str, path: str, axis: int) -> int:
    gradient = _gradient(text, path, None)
    seen = gradient.sum(dim=1 - axis)
    return int(len(seen) - 1 - int(seen.nonzero().flatten().max()))


def _conv_fields(text: str) -> tuple[list[int], dict[str, Any]]:
    data = yaml.safe_load(text)
    ((kind, fields),) = data["layers"][0].items()
    assert kind == "conv"
    return data["input"], fields


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def keeps_size(text: str, axis: int, padding: int) -> bool:
    """A stride-1 conv with ``padding`` on each side along ``axis`` keeps that size, and one
    less padding would not."""
    shape, fields = _conv_fields(text)
    kernel, dilation = _pair(fields["kernel"]), _pair(fields.get("dilation", 1))

    def size(pad: int) -> int:
        pads = [dilation[0] * kernel[0], dilation[1] * kernel[1]]  # the other axis: room enough
        pads[axis] = pad
        weight = torch.ones(1, shape[0], *kernel)
        try:
            out = torch.nn.functional.conv2d(
                torch.ones(1, *shape), weight, padding=tuple(pads), dilation=dilation
            )
        except RuntimeError:  # the window no longer fits at all
            return 0
        return int(out.shape[2 + axis])

    return size(padding) == shape[1 + axis] and (
        padding == 0 or size(padding - 1) < shape[1 + axis]
    )


def tf_same_split(text: str) -> tuple[int, int, int]:
    """(left, right, W_out) of TensorFlow's SAME along W: W_out = ⌈W/S⌉ with the least total
    padding, the odd pixel on the right (the TensorFlow documentation's rule), found by trying
    paddings in PyTorch."""
    shape, fields = _conv_fields(text)
    kernel, stride = _pair(fields["kernel"])[1], _pair(fields.get("stride", 1))[1]
    width = shape[2]
    target = math.ceil(width / stride)
    for total in range(0, kernel + stride):
        left, right = total // 2, total - total // 2
        image = torch.nn.functional.pad(torch.ones(1, 1, 1, width), (left, right))
        out = torch.nn.functional.conv2d(image, torch.ones(1, 1, 1, kernel), stride=(1, stride))
        if out.shape[3] == target:
            return left, right, target
    raise AssertionError("no TensorFlow SAME padding found")


def fails_in_torch(text: str, prefix_text: str, failing: int) -> bool:
    """The prefix runs; the next layer, built directly in torch, raises."""
    data = yaml.safe_load(text)
    prefix = built(prefix_text)
    out_shape = prefix.output(prefix.analysis.layers[-1].path)
    ((kind, fields),) = data["layers"][failing - 1].items()
    if kind == "conv":
        module: torch.nn.Module = torch.nn.Conv2d(
            out_shape[0], fields["filters"], fields["kernel"], fields.get("stride", 1)
        )
    else:
        module = torch.nn.MaxPool2d(fields["kernel"], fields.get("stride"))
    try:
        module(torch.rand(1, *out_shape))
    except RuntimeError:
        return True
    return False


def _volume(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else shape


def _parse_cell(text: str) -> Any:
    if "×" in text:
        return tuple(int(part) for part in text.split("×"))
    return int(text.replace(",", ""))


def answer(question: Any, box: Any) -> Any:
    """PyTorch's value for one box of ``question``."""
    measure = box.measure
    text = question.specs.get(measure.spec, "")
    quantity = measure.quantity
    if quantity == "fails_at":
        assert fails_in_torch(text, question.specs["prefix"], box.value)
        assert cnncalc.build is not None
        return box.value
    model = built(text)
    if quantity == "dim":
        return model.output(measure.layer)[measure.axis]
    if quantity == "volume":
        return _volume(model.output(measure.layer))
    if quantity in ("params", "weights", "buffers"):
        return getattr(model, quantity)(measure.layer)
    if quantity == "flops":
        return model.flops(measure.layer)
    if quantity == "macs":
        return model.flops(measure.layer) // 2
    if quantity == "elements":
        return math.prod(model.output(measure.layer))
    if quantity == "mib":
        values = sum(math.prod(model.output(row.path)) for row in model.analysis.layers)
        return round(values * measure.batch * 4 / 2**20, 2)
    if quantity == "ratio":
        network = built(question.specs["network"])
        if measure.of == "params":
            return round(model.params("") / network.params(""), 2)
        return round(model.flops("") / network.flops(""), 2)
    if quantity in ("field", "jump"):
        size, jump = field_and_jump(text, measure.layer, measure.axis)
        return size if quantity == "field" else jump
    if quantity == "uncovered":
        return uncovered(text, measure.layer, measure.axis)
    if quantity == "padding":
        assert keeps_size(text, measure.axis, box.value)
        return box.value
    if quantity in ("pad_before", "pad_after"):
        left, right, _ = tf_same_split(text)
        return left if quantity == "pad_before" else right
    if quantity == "row":
        return _wrong_row(question, model, measure)
    raise AssertionError(f"no oracle for {quantity}")


def _wrong_row(question: Any, model: Built, measure: Any) -> int:
    """The one table row whose shown cell disagrees with PyTorch (every other agrees)."""
    headers, *rows = question.table
    column = headers.index("output H×W×D" if measure.of == "volume" else "parameters")
    paths = {row.path: row.path for row in model.analysis.layers}
    wrong = []
    for row in rows:
        path = paths[row[1]]
        if path not in model.outputs:
            continue  # a merge, never asked
        shown_volume, shown_params = _parse_cell(row[3]), _parse_cell(row[4])
        volume = _volume(model.output(path))
        volume_ok = shown_volume == (volume if len(volume) > 1 else volume[0])
        params_ok = shown_params == model.params(path)
        if not (volume_ok and params_ok):
            wrong.append((int(row[0]), column, volume_ok, params_ok))
    assert len(wrong) == 1, wrong
    return wrong[0][0]
