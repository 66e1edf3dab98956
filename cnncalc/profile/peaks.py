"""The roof: dense peak compute per math mode and memory bandwidth of common GPUs.

Figures are the vendors' published **dense** peaks (half the "with sparsity" figures the
datasheets headline), in FLOP/s, and peak memory bandwidth in bytes/s. For GeForce cards the
tensor-core figure is the one with FP32 accumulation, which is what PyTorch uses for fp16
and bf16 matmuls and convolutions (the FP16-accumulate figure is twice as high).

Which peak applies to a layer (:func:`math_mode`): fp16/bf16 layers with MACs run on the
tensor cores; an fp32 convolution runs as TF32 on the tensor cores when
``torch.backends.cudnn.allow_tf32`` is on (PyTorch's default), an fp32 matmul only when
``torch.backends.cuda.matmul.allow_tf32`` is on (off by default); layers without MACs
(activations, pooling, merges) run on the ordinary FP32 units. Nothing here imports torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TERA = 1e12
GIGA = 1e9

MATH_MODES = ("fp32", "tf32", "fp16", "bf16")
"""How a layer's multiply-accumulates are executed."""


@dataclass(frozen=True)
class DevicePeaks:
    """One GPU's dense peaks (FLOP/s per math mode; ``None``: the mode is not supported in
    hardware) and memory bandwidth (bytes/s), with where the figures come from."""

    name: str
    fp32: float
    tf32: float | None
    fp16: float
    bf16: float | None
    bandwidth: float
    source: str

    def flops(self, mode: str) -> float:
        """The peak for ``mode``; a mode the hardware lacks runs at the FP32 rate."""
        value = getattr(self, mode)
        return float(value) if value is not None else self.fp32


def _peaks(
    name: str,
    fp32: float,
    tf32: float | None,
    fp16: float,
    bf16: float | None,
    gbs: float,
    source: str,
) -> DevicePeaks:
    """Figures in TFLOP/s and GB/s, as the datasheets print them."""
    return DevicePeaks(
        name,
        fp32 * TERA,
        None if tf32 is None else tf32 * TERA,
        fp16 * TERA,
        None if bf16 is None else bf16 * TERA,
        gbs * GIGA,
        source,
    )


HOPPER = "NVIDIA H100 Tensor Core GPU datasheet (2023), dense figures"
AMPERE = "NVIDIA A100 Tensor Core GPU datasheet (2021), dense figures"
GA102 = "NVIDIA Ampere GA102 GPU architecture whitepaper, appendix A (FP32 accumulate)"
ADA = "NVIDIA Ada GPU architecture whitepaper, appendix A (FP32 accumulate)"

TABLE: tuple[tuple[str, DevicePeaks], ...] = (
    # (pattern matched against torch.cuda.get_device_name(), peaks); first match wins
    ("H200", _peaks("NVIDIA H200 SXM", 67, 494.7, 989.4, 989.4, 4800,
                    "NVIDIA H200 Tensor Core GPU datasheet (2024), dense figures")),
    ("H100.*NVL", _peaks("NVIDIA H100 NVL", 60, 417.5, 835, 835, 3900, HOPPER)),
    ("H100.*PCI", _peaks("NVIDIA H100 PCIe", 51, 378, 756, 756, 2000, HOPPER)),
    ("H100", _peaks("NVIDIA H100 SXM5", 67, 494.7, 989.4, 989.4, 3350, HOPPER)),
    ("A100.*80GB.*PCI|A100.*PCI.*80GB",
     _peaks("NVIDIA A100 80GB PCIe", 19.5, 156, 312, 312, 1935, AMPERE)),
    ("A100.*80GB", _peaks("NVIDIA A100 80GB SXM4", 19.5, 156, 312, 312, 2039, AMPERE)),
    ("A100", _peaks("NVIDIA A100 40GB", 19.5, 156, 312, 312, 1555, AMPERE)),
    ("A10\\b", _peaks("NVIDIA A10", 31.2, 62.5, 125, 125, 600, "NVIDIA A10 datasheet (2021)")),
    ("L40S", _peaks("NVIDIA L40S", 91.6, 183, 366, 366, 864, "NVIDIA L40S datasheet (2023)")),
    ("L4\\b", _peaks("NVIDIA L4", 30.3, 60, 121, 121, 300, "NVIDIA L4 datasheet (2023)")),
    ("T4\\b", _peaks("NVIDIA T4", 8.1, None, 65, None, 320, "NVIDIA T4 datasheet (2019)")),
    ("V100", _peaks("NVIDIA V100 SXM2", 15.7, None, 125, None, 900,
                    "NVIDIA V100 datasheet (2020)")),
    ("RTX 3090", _peaks("NVIDIA GeForce RTX 3090", 35.6, 35.6, 71, 71, 936, GA102)),
    ("RTX 3080", _peaks("NVIDIA GeForce RTX 3080", 29.8, 29.8, 59.5, 59.5, 760, GA102)),
    ("RTX 4090", _peaks("NVIDIA GeForce RTX 4090", 82.6, 82.6, 165.2, 165.2, 1008, ADA)),
    ("RTX 4080", _peaks("NVIDIA GeForce RTX 4080", 48.7, 48.7, 97.5, 97.5, 717, ADA)),
)  # fmt: skip


def lookup(device_name: str) -> DevicePeaks | None:
    """The table's entry for a device name (``NVIDIA H100 80GB HBM3``), or ``None``."""
    for pattern, peaks in TABLE:
        if re.search(pattern, device_name, flags=re.IGNORECASE):
            return peaks
    return None


def math_mode(
    dtype: str, kind: str, has_macs: bool, cudnn_tf32: bool, matmul_tf32: bool, cuda: bool
) -> str:
    """How a layer's arithmetic runs: ``fp32``, ``tf32``, ``fp16`` or ``bf16``.

    Layers without MACs always count at the fp32 (non-tensor-core) rate. On a CPU there are no
    TF32 units: fp32 stays fp32."""
    if not has_macs:
        return "fp32"
    if dtype == "float16":
        return "fp16"
    if dtype == "bfloat16":
        return "bf16"
    if not cuda:
        return "fp32"
    if kind == "linear":
        return "tf32" if matmul_tf32 else "fp32"
    return "tf32" if cudnn_tf32 else "fp32"
