"""Careful timing (imports torch; only :mod:`cnncalc.profile.api` imports this module).

The care ``torch.utils.benchmark.Timer`` takes, in a form that can interleave two models:
warm-up calls at the exact input shape before anything is timed (cuDNN autotuning, the
allocator, lazy initialisation happen there), a fixed thread count for the whole run, CUDA
events recorded around a block of calls and synchronised (never host clocks around
asynchronous launches), and enough calls per sample that one sample lasts ``min_sample_s``.
"""

from __future__ import annotations

import contextlib
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .. import __version__
from .result import Environment


class Sampler:
    """Times ``call`` on ``device``; each :meth:`sample` is seconds per call."""

    def __init__(self, call: Callable[[], Any], device: Any, min_sample_s: float) -> None:
        self.call = call
        self.device = device
        self.min_sample_s = min_sample_s
        self.runs = 1

    def warm_up(self, calls: int) -> None:
        """Run ``calls`` untimed calls, then choose the calls per sample from the last one."""
        for _ in range(max(calls, 1)):
            self.call()
        one = self.timed(1)
        self.runs = max(1, min(1000, int(self.min_sample_s / max(one, 1e-9))))

    def timed(self, runs: int) -> float:
        import torch

        if self.device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(self.device)
            start.record()
            for _ in range(runs):
                self.call()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000 / runs
        begin = time.perf_counter()
        for _ in range(runs):
            self.call()
        return (time.perf_counter() - begin) / runs

    def sample(self) -> float:
        return self.timed(self.runs)


def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def fixed_threads(threads: int | None) -> Iterator[int]:
    """Run with ``threads`` intra-op threads (the current count when ``None``), restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@contextmanager
def cudnn_benchmark(setting: bool | None) -> Iterator[None]:
    import torch

    before = torch.backends.cudnn.benchmark
    if setting is not None:
        torch.backends.cudnn.benchmark = setting
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def device_name(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return str(torch.cuda.get_device_name(device))
    return cpu_name()


def environment(device: Any, threads: int) -> Environment:
    import torch

    cuda = device.type == "cuda"
    versions = {
        "cnncalc": __version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }
    if cuda:
        versions["cuda"] = str(torch.version.cuda)
        versions["cudnn"] = str(torch.backends.cudnn.version())
    return Environment(
        device=str(device),
        device_name=device_name(device),
        threads=threads,
        cudnn_benchmark=bool(torch.backends.cudnn.benchmark) if cuda else None,
        cudnn_tf32=bool(torch.backends.cudnn.allow_tf32) if cuda else None,
        matmul_tf32=bool(torch.backends.cuda.matmul.allow_tf32) if cuda else None,
        versions=versions,
        platform=platform.platform(),
    )


# ------------------------------------------------------------------------- memory


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM), Linux ≥ 4.0; False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _trim_heap() -> None:
    """Hand the C heap's free memory back to the kernel (glibc's ``malloc_trim``), so that
    the call's tensors must touch fresh pages and show in the peak RSS; without it, memory
    freed after the warm-up is reused unseen."""
    import ctypes
    import ctypes.util

    # not glibc (no malloc_trim): the growth may undercount
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


def measure_memory(
    call: Callable[[], Any], device: Any
) -> tuple[int | None, int | None, int | None]:
    """(peak allocated, peak reserved, RSS growth) in bytes over one ``call``: the CUDA
    allocator's peaks (reset first) on CUDA, the peak resident-set growth on a CPU."""
    import torch

    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        call()
        synchronize(device)
        return (
            int(torch.cuda.max_memory_allocated(device)),
            int(torch.cuda.max_memory_reserved(device)),
            None,
        )
    _trim_heap()
    before = _status_kib("VmRSS")
    if before is None or not _reset_peak_rss():
        return None, None, None
    call()
    peak = _status_kib("VmHWM") or before
    return None, None, max(peak - before, 0) * 1024


def available_memory(device: Any) -> int | None:
    """Bytes free for new tensors: CUDA's free memory, or the kernel's MemAvailable."""
    import torch

    if device.type == "cuda":  # free on the device + what PyTorch's allocator holds unused
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(torch.cuda.mem_get_info(device)[0]) + cached
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
