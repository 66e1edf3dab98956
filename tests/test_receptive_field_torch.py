"""Receptive fields against PyTorch itself: the input pixels an output pixel depends on.

For the centre output pixel of every layer, autograd gives the input pixels with a non-zero
gradient; the engine's (size, jump, start) say the same window, clipped to the image. Max
pools are swapped for average pools of the same geometry (a max routes its gradient to one
pixel per window, so its support depends on the data); weights and inputs are positive, so
no gradient cancels.
"""

from __future__ import annotations

import pytest

import cnncalc

torch = pytest.importorskip("torch")

SPECS = {
    "adaptive pooling into even windows": """
input: [2, 40, 48]
layers:
  - conv: {filters: 3, kernel: 3, padding: 1}
  - adaptive_avgpool: [4, 6]
  - conv: {filters: 3, kernel: 3, padding: 1}
  - adaptive_maxpool: 2
""",
    "branches whose windows are offset (PyTorch's padding 1 against TensorFlow's 0+1)": """
input: [2, 16, 17]
layers:
  - concat:
      - [conv: {filters: 2, kernel: 3, stride: 2, padding: 1}]
      - [conv: {filters: 2, kernel: 3, stride: 2, padding: same_tf}]
      - [zeropad: [0, 2, 0, 2], conv: {filters: 2, kernel: 3, stride: 2}]
  - conv: {filters: 2, kernel: 3, padding: 1}
""",
    "branches of different kernels, dilation, pools": """
input: [3, 41, 41]
layers:
  - conv: {filters: 4, kernel: 5, stride: 2, padding: 2}
  - maxpool: {kernel: 3, stride: 2, padding: 1}
  - concat:
      - [conv: {filters: 2, kernel: 1}]
      - [conv: {filters: 2, kernel: 3, padding: 2, dilation: 2}]
      - [conv: {filters: 2, kernel: [1, 7], padding: [0, 3]},
         conv: {filters: 2, kernel: [7, 1], padding: [3, 0]}]
      - [avgpool: {kernel: 3, stride: 1, padding: 1}, conv: {filters: 2, kernel: 1}]
  - avgpool: {kernel: 2, ceil_mode: true}
  - conv: {filters: 2, kernel: 3, padding: same_tf, stride: 2}
""",
    "a skip read by name (from:) into an add, after a second head": """
input: [2, 24, 24]
layers:
  - conv: {name: stem, filters: 2, kernel: 3, padding: 1}
  - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
  - conv: {name: deep, filters: 2, kernel: 5, padding: 2}
  - conv: {name: head, filters: 2, kernel: 3, padding: 1, from: stem}
  - add:
      - {from: deep, layers: [conv: {filters: 2, kernel: 3, padding: 1}]}
      - [conv: {filters: 2, kernel: 3, stride: 2, padding: 1}]
  - conv: {filters: 2, kernel: 3, padding: 1}
""",
}


SIZED = {
    "a branch broadcast along one axis (strip pooling)": """
input: [2, 16, 16]
layers:
  - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
  - multiply:
      - [conv: {filters: 2, kernel: 3, padding: 1}]
      - [adaptive_avgpool: [8, 1], conv: {filters: 2, kernel: [5, 1], padding: [2, 0]}, sigmoid]
  - conv: {filters: 2, kernel: 3, padding: 1}
""",
    "squeeze-and-excitation in a residual block": """
input: [4, 20, 20]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1}
  - residual:
      body:
        - conv: {filters: 4, kernel: 3, padding: 1}
        - multiply:
            - []
            - [global_avgpool, conv: {filters: 2, kernel: 1}, relu,
               conv: {filters: 4, kernel: 1}, sigmoid]
  - conv: {filters: 4, kernel: 3, padding: 1}
""",
    "transposed convs after a strided conv": """
input: [2, 64, 64]
layers:
  - conv: {filters: 3, kernel: 3, stride: 2, padding: 1}
  - conv_transpose: {filters: 3, kernel: 4, stride: 2, padding: 1}
  - conv: {filters: 3, kernel: 3, padding: 1}
  - conv: {filters: 3, kernel: 3, stride: 4, padding: 1}
  - conv_transpose: {filters: 3, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - conv_transpose: {filters: 3, kernel: 5, stride: 2, padding: 2, dilation: 2}
  - conv: {filters: 3, kernel: 3}
""",
}
"""Where the field is no sliding window, only its size is checked: the most any output sees
(the widest support along a line through the centre, clipped to the image). Transposed convs
put their outputs on an uneven grid (output 2m gathers other inputs than 2m + 1), so a
field's start holds for the first output only; after a squeeze-and-excitation multiply every
output sees the whole map through the global pool, at no sliding position."""


def _positive(model):
    for parameter in model.parameters():
        # about 1/fan-in each, so no sigmoid saturates (a saturated one has no gradient)
        fan_in = parameter[0].numel() if parameter.dim() > 1 else 1
        parameter.data.uniform_(0.5, 1.0).div_(fan_in)
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.MaxPool2d):
                setattr(
                    module,
                    child_name,
                    torch.nn.AvgPool2d(
                        child.kernel_size, child.stride, child.padding, child.ceil_mode
                    ),
                )
            elif isinstance(child, torch.nn.AdaptiveMaxPool2d):
                setattr(module, child_name, torch.nn.AdaptiveAvgPool2d(child.output_size))
    return model


def _support(gradient, axis):
    """(first, last) input index with a non-zero gradient along H (0) or W (1)."""
    seen = gradient.abs().sum(dim=(0, 1))
    seen = seen.sum(dim=1 - axis) if axis == 0 else seen.sum(dim=0)
    indices = seen.nonzero().flatten()
    return int(indices.min()), int(indices.max())


def _spatial_rows(analysis):
    return [row for row in analysis.layers if row.is_module and len(row.output_shape) == 3]


def _instrumented(text):
    analysis = cnncalc.analyse(cnncalc.parse_spec(f"name: rf\n{text}"))
    model = _positive(cnncalc.build(analysis)).double().eval()
    outputs = {}
    for row in _spatial_rows(analysis):
        module = model.get_submodule(row.path)
        module.register_forward_hook(lambda m, i, o, path=row.path: outputs.__setitem__(path, o))
    return analysis, model, outputs


def _gradient(analysis, model, outputs, path, position):
    image = torch.rand(1, *analysis.input_shape, dtype=torch.double) + 0.5
    image.requires_grad_(True)
    model(image)
    output = outputs[path]
    (gradient,) = torch.autograd.grad(output[0, :, position[0], position[1]].sum(), image)
    return gradient, output.shape[2:]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_receptive_fields_are_the_pixels_torch_depends_on(name):
    analysis, model, outputs = _instrumented(SPECS[name])
    _, height, width = analysis.input_shape
    rows = _spatial_rows(analysis)
    for row in rows:
        _, (rows_out, columns_out) = _gradient(analysis, model, outputs, row.path, (0, 0))
        centre = (rows_out // 2, columns_out // 2)
        gradient, _ = _gradient(analysis, model, outputs, row.path, centre)
        for axis, limit in ((0, height), (1, width)):
            size, jump, start = row.receptive_field[axis]
            first = start + centre[axis] * jump
            expected = (max(0, first), min(limit - 1, first + size - 1))
            assert _support(gradient, axis) == expected, (row.path, "HW"[axis], row.receptive_field)
    assert len(rows) >= 4


def _exact_rows(analysis):
    """The rows whose field is exact: those up to and including the first transposed conv,
    whose own size is the most one output gathers. On its uneven grid the recurrence goes on
    as an estimate (docs/spec-language.md, "Receptive fields")."""
    rows = []
    for row in _spatial_rows(analysis):
        rows.append(row)
        if row.kind == "conv_transpose":
            break
    return rows


@pytest.mark.parametrize("name", sorted(SIZED))
def test_other_fields_are_the_most_any_output_sees(name):
    analysis, model, outputs = _instrumented(SIZED[name])
    _, height, width = analysis.input_shape
    for row in _exact_rows(analysis):
        _, (rows_out, columns_out) = _gradient(analysis, model, outputs, row.path, (0, 0))
        for axis, count, limit in ((0, rows_out, height), (1, columns_out, width)):
            widest = 0
            across = (columns_out if axis == 0 else rows_out) // 2
            # 8 outputs around the centre: every phase of a stride-2 or stride-4 grid, and
            # away from the borders
            for index in range(max(0, count // 2 - 4), min(count, count // 2 + 4)):
                for other in {across, min(across + 1, 2 * across)}:  # one not in a gap
                    position = (index, other) if axis == 0 else (other, index)
                    gradient, _ = _gradient(analysis, model, outputs, row.path, position)
                    if gradient.any():  # a strided, dilated transposed conv leaves gaps
                        first, last = _support(gradient, axis)
                        widest = max(widest, last - first + 1)
            expected = min(row.receptive_field[axis][0], limit)
            assert widest == expected, (row.path, "HW"[axis], row.receptive_field)
