"""The roof a run is measured against: the GPU table, a calibration, or the user's figures.

``--calibrate`` (the default on a CPU, and on a GPU the table does not know) measures it:
a large square GEMM per math mode that can run (2·n³ FLOPs per call), a device-to-device
copy of a buffer larger than any cache (2 × its bytes moved: one read, one write), and the
cost of one near-empty op (the dispatch/launch floor under every op). Imports torch.
"""

from __future__ import annotations

from typing import Any

from ..errors import CnncalcError
from .measure import Sampler
from .peaks import GIGA, TERA, lookup, math_mode
from .result import Roof

TORCH_DTYPES = {"fp32": "float32", "tf32": "float32", "fp16": "float16", "bf16": "bfloat16"}


class ProfileError(CnncalcError):
    """A profile that cannot be measured as asked (bad device, batch, peak...)."""


def modes_used(dtype: str, cuda: bool, cudnn_tf32: bool, matmul_tf32: bool) -> set[str]:
    """The math modes a run at ``dtype`` can use (fp32 always: layers without MACs)."""
    modes = {"fp32"}
    for kind in ("conv", "linear"):
        modes.add(math_mode(dtype, kind, True, cudnn_tf32, matmul_tf32, cuda))
    return modes


def check_peaks(peak_tflops: float | None, peak_gbs: float | None) -> None:
    for value, option, unit in (
        (peak_tflops, "--peak-tflops", "TFLOP/s"),
        (peak_gbs, "--peak-gbs", "GB/s"),
    ):
        if value is not None and not value > 0:
            raise ProfileError(
                f"{option} {value:g} must be a positive number ({unit}); leave it out to use "
                "the peak table or the calibration"
            )


def _best(sampler: Sampler, samples: int) -> float:
    """The fastest of a few samples: a peak is what the hardware can do, not the median."""
    sampler.warm_up(2)
    return min(sampler.sample() for _ in range(samples))


def gemm_flops(device: Any, mode: str, size: int) -> float:
    """FLOP/s of ``size``³ GEMMs in ``mode``: the better of a matmul (cuBLAS, MKL) and the
    same GEMM as a 1×1 convolution (cuDNN, oneDNN), which on some CPUs is twice as fast.
    TF32 is switched on for the ``tf32`` mode alone."""
    import torch
    import torch.nn.functional as F

    dtype = getattr(torch, TORCH_DTYPES[mode])
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    side = int(size**0.5)  # size input channels × (side × side) pixels: M = side², K = N = size
    image = torch.randn(1, size, side, side, device=device, dtype=dtype)
    kernel = torch.randn(size, size, 1, 1, device=device, dtype=dtype)
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = mode == "tf32"
    try:
        with torch.inference_mode():
            matmul = _best(Sampler(lambda: torch.mm(a, b), device, 0.02), 7)
            conv = _best(Sampler(lambda: F.conv2d(image, kernel), device, 0.02), 7)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
    return max(2 * size**3 / matmul, 2 * size * size * side * side / conv)


def copy_bandwidth(device: Any, megabytes: int) -> float:
    """Bytes/s of a device copy (each byte read once and written once)."""
    import torch

    source = torch.empty(megabytes * 2**20 // 4, device=device, dtype=torch.float32).fill_(1)
    target = torch.empty_like(source)
    seconds = _best(Sampler(lambda: target.copy_(source), device, 0.05), 3)
    return 2 * source.numel() * 4 / seconds


def op_overhead(device: Any) -> float:
    """Seconds per near-empty op (a one-element add): dispatch, and launch on a GPU."""
    import torch

    a = torch.ones(1, device=device)
    out = torch.empty_like(a)
    sampler = Sampler(lambda: torch.add(a, a, out=out), device, 0.01)
    sampler.warm_up(10)
    return sorted(sampler.sample() for _ in range(5))[2]


def make_roof(
    device: Any,
    device_name: str,
    dtype: str,
    flags: tuple[bool, bool],
    calibrate: bool | None,
    peak_tflops: float | None,
    peak_gbs: float | None,
) -> tuple[Roof, tuple[str, ...]]:
    """The roof for this run, and notes on where it came from."""
    check_peaks(peak_tflops, peak_gbs)
    cuda = device.type == "cuda"
    cudnn_tf32, matmul_tf32 = flags
    modes = modes_used(dtype, cuda, cudnn_tf32, matmul_tf32)
    entry = lookup(device_name) if cuda else None
    notes: list[str] = []
    given = peak_tflops is not None and peak_gbs is not None
    if calibrate is None:
        calibrate = entry is None and not given
        if cuda and calibrate:
            notes.append(f"'{device_name}' is not in the peak table: the roof is calibrated")
    if calibrate:
        size, megabytes = (8192, 1024) if cuda else (512, 256)
        flops = {mode: gemm_flops(device, mode, size) for mode in sorted(modes)}
        bandwidth = copy_bandwidth(device, megabytes)
        source = (
            f"calibrated: {size}³ GEMM per math mode (matmul or 1×1 conv, the faster), "
            f"{megabytes} MiB device copy"
        )
    elif entry is not None:
        flops = {mode: entry.flops(mode) for mode in sorted(modes)}
        bandwidth = entry.bandwidth
        source = f"table: {entry.name} ({entry.source})"
    elif given:
        flops, bandwidth, source = dict.fromkeys(sorted(modes), 0.0), 0.0, "given"
    else:
        raise ProfileError(
            "no roof for a CPU without calibration: drop --no-calibrate, or give "
            "--peak-tflops and --peak-gbs"
        )
    flops, bandwidth, source = _overridden(flops, bandwidth, source, peak_tflops, peak_gbs)
    roof = Roof(device_name, flops, bandwidth, op_overhead(device), source, bool(calibrate))
    return roof, tuple(notes)


def _overridden(
    flops: dict[str, float],
    bandwidth: float,
    source: str,
    peak_tflops: float | None,
    peak_gbs: float | None,
) -> tuple[dict[str, float], float, str]:
    """The user's peaks replace the table's or the calibration's (one compute figure for
    every math mode of the run)."""
    if peak_tflops is not None:
        flops = {mode: peak_tflops * TERA for mode in flops}
        source += f"; compute peak {peak_tflops:g} TFLOP/s given"
    if peak_gbs is not None:
        bandwidth = peak_gbs * GIGA
        source += f"; bandwidth {peak_gbs:g} GB/s given"
    return flops, bandwidth, source.removeprefix("given; ")
