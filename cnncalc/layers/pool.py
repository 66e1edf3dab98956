"""maxpool / avgpool — sliding-window pooling (``nn.MaxPool2d``, ``nn.AvgPool2d``).

Same output-size rule as conv (stride defaults to the kernel), with PyTorch's ceil_mode.
No parameters and no MACs; pooling ops = k_h·k_w per output element (each window reads
k_h·k_w values). fvcore counts pooling as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .. import arith
from .base import Bool, Cost, Field, LayerKind, Padding, Pair, TorchCode, Where, torch_args
from .explain import Equation, Explanation, no_parameters, text, volume
from .geometry import (
    axis_warnings,
    torch_padding,
    window_equations,
    window_geometry,
    window_given,
    windows,
)


class _Pool(LayerKind):
    receptive_field = "sliding"
    prefix = "pool"
    category = "pool"
    shorthand = "kernel"
    has_dilation: ClassVar[bool] = False

    def infer(self, values: Mapping[str, Any], shape: tuple[Any, ...], where: Where) -> Cost:
        C, H_in, W_in = self.spatial(shape, where)
        kernel = values["kernel"]
        stride = values["stride"] if values["stride"] is not None else kernel
        dilation = values.get("dilation", (1, 1))
        padding = values["padding"]
        if not isinstance(padding, str):
            self._check_padding(padding, kernel, where)
        axes = windows(H_in, W_in, kernel, stride, dilation, padding, where, values["ceil_mode"])
        if values["ceil_mode"] and isinstance(padding, str):
            self._check_padding((axes[0].pad_after, axes[1].pad_after), kernel, where)
        H_out, W_out = axes[0].size_out, axes[1].size_out
        output_elements = arith.normalize(C * H_out * W_out)
        return Cost(
            output=(C, H_out, W_out),
            ops={"pooling": arith.normalize(output_elements * kernel[0] * kernel[1])},
            details={"axes": axes, "stride": stride},
            warnings=axis_warnings(axes),
            window=window_geometry(axes),
        )

    def torch_code(
        self,
        values: Mapping[str, Any],
        shape: tuple[Any, ...],
        output: tuple[Any, ...],
        details: Mapping[str, Any],
    ) -> TorchCode:
        symmetric, pad = torch_padding(details["axes"])
        if symmetric is not None and not _module_accepts(symmetric, values["kernel"]):
            # 'same' with a dilated window pads more than ATen lets a pool module pad (the
            # engine refuses it with ceil_mode, whose last-window rule F.pad would change)
            height, width = symmetric
            symmetric, pad = None, (width, width, height, height)
        options: dict[str, Any] = {"kernel_size": values["kernel"], "stride": details["stride"]}
        if symmetric is not None and symmetric != (0, 0):
            options["padding"] = symmetric
        options.update(self.torch_options(values))
        if values["ceil_mode"]:
            options["ceil_mode"] = True
        return self.padded_code(torch_args(**options), pad, values)

    def torch_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def explain(self, row: Any, no_bias: bool = False) -> Explanation:
        axes = row.details["axes"]
        depth = text(row.input_shape[0])
        return Explanation(
            (("input", volume(row.input_shape)), *window_given(axes)),
            (
                *window_equations(axes),
                Equation("D_out", "D_in", depth, depth),
                no_parameters("pooling has no weights"),
            ),
        )

    def padded_code(
        self, arguments: str, pad: tuple[Any, ...], values: Mapping[str, Any]
    ) -> TorchCode:
        raise NotImplementedError

    def _check_padding(
        self, padding: tuple[Any, Any], kernel: tuple[Any, Any], where: Where
    ) -> None:
        for pad, size in zip(padding, kernel, strict=True):
            if _pads_over_half(pad, size):
                raise where.error(
                    f"padding {pad} is more than half the kernel {size}: PyTorch refuses it",
                    "padding",
                    hint=f"use padding ≤ {size // 2}, or 'same_tf' for Keras-style padding",
                )


def _pads_over_half(pad: Any, size: Any) -> bool:
    """ATen's pool2d_shape_check: a pool module pads at most half its (undilated) kernel."""
    return isinstance(pad, int) and isinstance(size, int) and pad > size // 2


def _module_accepts(padding: tuple[Any, Any], kernel: tuple[Any, Any]) -> bool:
    return not any(map(_pads_over_half, padding, kernel))


class MaxPool(_Pool):
    name = "maxpool"
    aliases = ("max_pool", "maxpool2d")
    summary = "max pooling (nn.MaxPool2d)"
    fields: ClassVar[tuple[Field, ...]] = (
        Pair("kernel", doc="window F"),
        Pair("stride", None, doc="stride S (default: the kernel)"),
        Padding("padding", 0),
        Pair("dilation", 1),
        Bool("ceil_mode", False, doc="round the output size up, as PyTorch's ceil_mode"),
    )

    def torch_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {"dilation": values["dilation"]} if values["dilation"] != (1, 1) else {}

    def padded_code(
        self, arguments: str, pad: tuple[Any, ...], values: Mapping[str, Any]
    ) -> TorchCode:
        module = f"nn.MaxPool2d({arguments})"
        if not pad:
            return TorchCode(module)
        # padding with -inf never wins a max: TensorFlow's SAME max pooling
        return TorchCode(module, f"{{m}}(F.pad({{x}}, {pad}, value=float('-inf')))")


class AvgPool(_Pool):
    name = "avgpool"
    aliases = ("avg_pool", "avgpool2d", "average_pool")
    summary = "average pooling (nn.AvgPool2d)"
    fields: ClassVar[tuple[Field, ...]] = (
        Pair("kernel", doc="window F"),
        Pair("stride", None, doc="stride S (default: the kernel)"),
        Padding("padding", 0),
        Bool("ceil_mode", False),
        Bool(
            "count_include_pad",
            True,
            doc="average over the padded window (Keras' 'same' does not: set false with same_tf)",
        ),
    )

    def torch_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {} if values["count_include_pad"] else {"count_include_pad": False}

    def padded_code(
        self, arguments: str, pad: tuple[Any, ...], values: Mapping[str, Any]
    ) -> TorchCode:
        module = f"nn.AvgPool2d({arguments})"
        if not pad:
            return TorchCode(module)
        if values["count_include_pad"]:
            return TorchCode(module, f"{{m}}(F.pad({{x}}, {pad}))")  # zeros count in the mean
        # explicit padding that does not count: divide by the real pixels in each window
        ones = "torch.ones_like({x}[:, :1])"
        return TorchCode(module, f"{{m}}(F.pad({{x}}, {pad})) / {{m}}(F.pad({ones}, {pad}))")
