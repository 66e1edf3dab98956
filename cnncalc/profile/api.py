"""``cnncalc.profile``: measured latency, throughput, memory and per-layer time beside the
engine's exact counts (imports torch, inside the function).

One run: a batch sweep of end-to-end timings (two specs interleaved sample by sample, so
their ratio holds on a noisy machine), the peak memory of one call per batch, then one
profiled run at the largest batch attributing time to every spec layer, read against the
roof (:mod:`.roof`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .. import arith
from ..engine import Analysis, analyse
from ..engine.memory import DTYPE_BYTES, OPTIMIZER_STATES, memory_report
from ..engine.plan import GroupStep, MergeStep, Step
from ..spec import Spec, load_spec
from .layers import attribute, run_profiled
from .measure import (
    Sampler,
    available_memory,
    cudnn_benchmark,
    environment,
    fixed_threads,
    measure_memory,
    synchronize,
)
from .peaks import math_mode
from .result import Environment, LayerProfile, Memory, Profile, Roof, Settings, SpecProfile, Timing
from .roof import ProfileError, check_peaks, make_roof

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
"""Short names → the engine's dtype names (which are accepted as well)."""

SpecLike = str | os.PathLike[str] | Spec


def profile(
    specs: SpecLike | Sequence[SpecLike],
    *,
    batch: int | Iterable[int] = 1,
    device: str = "cpu",
    dtype: str = "fp32",
    train: bool = False,
    optimizer: str = "adam",
    channels_last: bool = False,
    compile: str | None = None,
    threads: int | None = None,
    repeats: int = 7,
    warmup: int = 3,
    layer_repeats: int = 3,
    min_sample_s: float = 0.005,
    calibrate: bool | None = None,
    peak_tflops: float | None = None,
    peak_gbs: float | None = None,
    cudnn_benchmark_on: bool | None = None,
    trace: str | os.PathLike[str] | None = None,
    input_shape: Sequence[int] | None = None,
    seed: int = 0,
) -> Profile:
    """Measure one spec, or two compared (interleaved), on ``device``.

    ``batch``: one size or a sweep; the per-layer profile runs at the largest. ``train``: time
    a full step (forward, backward, ``optimizer``) instead of inference. ``compile``: a
    ``torch.compile`` backend for the end-to-end timings (``"inductor"``); the per-layer
    profile is always of the eager model, whose regions name the spec layers.
    ``calibrate``: measure the roof (default: on a CPU, or a GPU missing from the table).
    """
    subjects_in = [specs] if isinstance(specs, str | os.PathLike | Spec) else list(specs)
    run = _settings(
        len(subjects_in), batch, dtype, train, optimizer, channels_last, compile,
        (repeats, warmup, layer_repeats),
    )  # fmt: skip
    check_peaks(peak_tflops, peak_gbs)
    if trace is not None:
        check_writable(trace, "--trace")
    target = _device(device)
    import torch

    torch.manual_seed(seed)
    loaded = [item if isinstance(item, Spec) else load_spec(item) for item in subjects_in]
    with fixed_threads(threads) as count, cudnn_benchmark(cudnn_benchmark_on):
        env = environment(target, count)
        flags = (bool(env.cudnn_tf32), bool(env.matmul_tf32))
        roof, notes = make_roof(
            target, env.device_name, run.dtype, flags, calibrate, peak_tflops, peak_gbs
        )
        subjects = [_Subject(spec, input_shape, target, run) for spec in loaded]
        timings, memories = _sweep(subjects, run.batches, repeats, warmup, min_sample_s)
        profiles = tuple(
            subject.result(timings[index], memories[index], trace_path(trace, index), roof, env)
            for index, subject in enumerate(subjects)
        )
    return Profile(env, run, roof, profiles, notes + _run_notes(compile))


def check_writable(path: str | os.PathLike[str], option: str) -> None:
    """Refuse, before measuring anything, a file that cannot be written."""
    folder = Path(path).parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ProfileError(
            f"{option} {path}: the folder '{folder}' does not exist or is not writable"
        )


def _run_notes(compile: str | None) -> tuple[str, ...]:
    if compile:
        return (
            f"end-to-end timings are of torch.compile(backend={compile!r}); per-layer times "
            "are of the eager model",
        )
    return ()


def _settings(
    count: int, batch: int | Iterable[int], dtype: str, train: bool, optimizer: str,
    channels_last: bool, compile: str | None, repeats: tuple[int, int, int],
) -> Settings:  # fmt: skip
    """The run's settings, checked before torch is imported."""
    if not 1 <= count <= 2:
        raise ProfileError(f"profile takes one spec, or two to compare; got {count}")
    batches = (batch,) if isinstance(batch, int) else tuple(batch)
    if not batches or any(not isinstance(size, int) or size < 1 for size in batches):
        raise ProfileError(f"batch sizes must be positive integers, got {batches}")
    name = DTYPES.get(dtype, dtype)
    if name not in DTYPE_BYTES:
        raise ProfileError(f"unknown dtype '{dtype}' (choose from {', '.join(DTYPES)})")
    if optimizer not in OPTIMIZER_STATES:
        choices = ", ".join(OPTIMIZER_STATES)
        raise ProfileError(f"unknown optimizer '{optimizer}' (choose from {choices})")
    samples, warmup, layer_repeats = repeats
    if samples < 1 or layer_repeats < 1 or warmup < 0:
        raise ProfileError("repeats and layer repeats must be at least 1, warm-up at least 0")
    batches = tuple(dict.fromkeys(batches))
    return Settings(
        dtype=name, train=train, optimizer=optimizer, channels_last=channels_last,
        compile=compile, batches=batches, repeats=samples, warmup=warmup,
        layer_repeats=layer_repeats, layer_batch=max(batches),
    )  # fmt: skip


def _device(device: str) -> Any:
    import torch

    from ..torch.build import check_device

    try:
        target = torch.device(device)
    except RuntimeError:
        raise ProfileError(f"unknown device '{device}': use cpu, cuda or cuda:N") from None
    if target.type not in ("cpu", "cuda"):
        raise ProfileError(f"cannot profile on device '{device}': use cpu, cuda or cuda:N")
    check_device(target)
    if target.type == "cuda":
        index = target.index or 0
        if index >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise ProfileError(f"device '{device}' does not exist: this machine has {count} GPU(s)")
        target = torch.device("cuda", index)
    return target


def trace_path(trace: str | os.PathLike[str] | None, index: int) -> str | None:
    """The Chrome trace for spec ``index``: the file given, then ``name-2.json`` for a second."""
    if trace is None:
        return None
    path = Path(trace)
    return str(path if index == 0 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}"))


def _sweep(
    subjects: list[_Subject],
    batches: tuple[int, ...],
    repeats: int,
    warmup: int,
    min_sample_s: float,
) -> tuple[list[list[Timing]], list[list[Memory]]]:
    """Every batch size: the specs' samples interleaved, then one call each for memory."""
    timings: list[list[Timing]] = [[] for _ in subjects]
    memories: list[list[Memory]] = [[] for _ in subjects]
    for size in batches:
        samplers = []
        for subject in subjects:
            subject.check_fits(size)
            samplers.append(
                subject.guard(size, partial(subject.sampler, size, warmup, min_sample_s))
            )
        samples: list[list[float]] = [[] for _ in subjects]
        for _ in range(repeats):
            for index, sampler in enumerate(samplers):
                samples[index].append(sampler.sample())
        for index, (subject, sampler) in enumerate(zip(subjects, samplers, strict=True)):
            timings[index].append(Timing(size, tuple(samples[index]), sampler.runs))
            memories[index].append(subject.memory(size, sampler.call))
        del samplers
    return timings, memories


def merge_inputs(steps: Iterable[Step]) -> dict[str, int]:
    """How many tensors each merge reads (its branches), by path."""
    counts: dict[str, int] = {}
    for step in steps:
        if isinstance(step, MergeStep):
            counts[step.row.path] = len(step.branches)
            for branch in step.branches:
                counts.update(merge_inputs(branch))
        elif isinstance(step, GroupStep):
            counts.update(merge_inputs(step.steps))
    return counts


def estimate_parts(
    analysis: Analysis, batch: int, dtype: str, train: bool, optimizer: str
) -> dict[str, int]:
    """The engine's memory estimate (cnncalc.engine.memory), in bytes, by part."""
    training = memory_report(analysis, batch, dtype, optimizer).training
    parts = {
        "parameters": int(training.parameters),
        "buffers": int(analysis.totals.buffers) * DTYPE_BYTES[dtype],
        "inputs": int(training.inputs),
        "activations": int(training.activations),
    }
    if train:
        parts["gradients"] = int(training.gradients)
        parts["optimizer_state"] = int(training.optimizer_state)
    return parts


class _Subject:
    """One spec in torch: the plain model (timed end to end), the same built with layer
    regions (profiled per layer), their optimizers, and the input at each batch."""

    def __init__(
        self, spec: Spec, input_shape: Sequence[int] | None, device: Any, run: Settings
    ) -> None:
        import torch

        from ..torch.build import build

        self.spec = spec
        self.run = run
        self.analysis = analyse(spec, input_shape, 1)
        self.device = device
        self.dtype = run.dtype
        self.torch_dtype = getattr(torch, run.dtype)
        self.train = run.train
        self.optimizer_name = run.optimizer
        self.channels_last = run.channels_last
        self.plain = self._model(build(self.analysis, device=device))
        self.plain_optimizer = self._optimizer(self.plain)
        compiled = torch.compile(self.plain, backend=run.compile) if run.compile else None
        self.timed = compiled or self.plain
        self.regions = self._model(build(self.analysis, device=device, regions=True))
        self.regions_optimizer = self._optimizer(self.regions)

    def _model(self, model: Any) -> Any:
        import torch

        model = model.to(dtype=self.torch_dtype)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model.train(self.train)

    def _optimizer(self, model: Any) -> Any:
        import torch

        if not self.train:
            return None
        parameters = list(model.parameters())
        if self.optimizer_name in ("sgd", "momentum"):
            return torch.optim.SGD(
                parameters, lr=1e-3, momentum=0.9 if self.optimizer_name == "momentum" else 0.0
            )
        classes = {
            "rmsprop": torch.optim.RMSprop,
            "adagrad": torch.optim.Adagrad,
            "adam": torch.optim.Adam,
            "adamw": torch.optim.AdamW,
        }
        return classes[self.optimizer_name](parameters, lr=1e-3)

    def inputs(self, batch: int) -> Any:
        import torch

        shape = (batch, *(int(dim) for dim in self.analysis.input_shape))
        tensor = torch.randn(shape, device=self.device, dtype=self.torch_dtype)
        if self.channels_last and tensor.dim() == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def step(self, batch: int, regions: bool = False) -> Callable[[], Any]:
        """One inference call, or one full training step, at ``batch``."""
        import torch

        model = self.regions if regions else self.timed
        optimizer = self.regions_optimizer if regions else self.plain_optimizer
        inputs = self.inputs(batch)
        if not self.train:

            def infer() -> Any:
                with torch.inference_mode():
                    return model(inputs)

            return infer

        def train_step() -> Any:
            optimizer.zero_grad(set_to_none=True)
            loss = model(inputs).float().mean()
            loss.backward()
            optimizer.step()
            return loss

        return train_step

    # ------------------------------------------------------------------ memory

    def check_fits(self, batch: int) -> None:
        """Refuse, before allocating, a batch the engine's estimate says cannot fit."""
        free = available_memory(self.device)
        if free is None:
            return
        fixed, per_image = self._footprint()
        if fixed + per_image * batch <= free:
            return
        largest = max((free - fixed) // per_image, 0) if per_image else 0
        self._too_big(batch, largest, "by the engine's estimate")

    def _footprint(self) -> tuple[int, int]:
        """(bytes that do not grow with the batch, bytes per image) that must fit at least:
        for inference the input and the largest layer's input + output; for training the
        engine's estimate (every output kept for the backward pass)."""
        parts = estimate_parts(self.analysis, 1, self.dtype, self.train, self.optimizer_name)
        size = DTYPE_BYTES[self.dtype]
        if self.train:
            per_image = parts["inputs"] + parts["activations"]
        else:
            largest = max((int(row.activation_elements) for row in self.analysis.layers), default=0)
            per_image = parts["inputs"] + 2 * largest * size
        return sum(parts.values()) - parts["inputs"] - parts["activations"], per_image

    def _too_big(self, batch: int, largest: int, how: str) -> None:
        where = "this GPU" if self.device.type == "cuda" else "this machine's free memory"
        fits = (
            f"the largest batch that fits is {largest} ({how})"
            if largest
            else f"not even batch 1 fits ({how})"
        )
        raise ProfileError(
            f"{self.analysis.name}: batch {batch} does not fit in {where}: {fits}; "
            f"give a smaller --batch"
        )

    def guard(self, batch: int, call: Callable[[], Any]) -> Any:
        """Run ``call``; a CUDA out-of-memory becomes a ProfileError naming the largest batch
        that fits (found by trial)."""
        import torch

        try:
            return call()
        except torch.OutOfMemoryError:
            pass  # search outside the handler: its traceback still holds the call's tensors
        gc.collect()
        torch.cuda.empty_cache()
        self._too_big(batch, self._largest_by_trial(batch), "found by trial")

    def sampler(self, batch: int, warmup: int, min_sample_s: float) -> Sampler:
        """A warmed-up sampler of one step at ``batch``."""
        sampler = Sampler(self.step(batch), self.device, min_sample_s)
        sampler.warm_up(warmup)
        return sampler

    def _largest_by_trial(self, too_big: int) -> int:
        """Bisect for the largest batch whose step runs without a CUDA out-of-memory."""
        import torch

        fits, fails = 0, too_big
        while fails - fits > 1:
            middle = (fits + fails) // 2
            try:
                self.step(middle)()
                synchronize(self.device)
                fits = middle
            except torch.OutOfMemoryError:
                fails = middle
            torch.cuda.empty_cache()
        return fits

    def memory(self, batch: int, call: Callable[[], Any]) -> Memory:
        allocated, reserved, rss = self.guard(batch, lambda: measure_memory(call, self.device))
        parts = estimate_parts(self.analysis, batch, self.dtype, self.train, self.optimizer_name)
        measure = "cuda" if self.device.type == "cuda" else "rss"
        return Memory(
            batch,
            measure,
            allocated,
            reserved,
            rss,
            sum(parts.values()),
            parts,
            memory_notes(measure, self.train),
        )

    # ------------------------------------------------------------------ per layer

    def result(
        self,
        timings: list[Timing],
        memories: list[Memory],
        trace: str | None,
        roof: Roof,
        env: Environment,
    ) -> SpecProfile:
        """The per-layer profile at the run's largest batch, with the sweep's figures."""
        batch, repeats = self.run.layer_batch, self.run.layer_repeats
        counted = analyse(self.spec, self.analysis.input_shape, batch)
        forward, backward = self.guard(batch, partial(self._warmed_calls, batch))
        cuda = self.device.type == "cuda"
        events = self.guard(batch, lambda: run_profiled(forward, backward, repeats, cuda, trace))
        times = attribute(events, [row.path for row in counted.layers], cuda)
        merges = merge_inputs(counted.steps)
        layers = tuple(
            self._layer(row, times, merges.get(row.path), batch, roof, env)
            for row in counted.layers
        )
        return SpecProfile(
            name=self.analysis.name,
            file=self.analysis.file,
            input_shape=tuple(int(dim) for dim in self.analysis.input_shape),
            total_macs=int(counted.totals.macs),
            timings=tuple(timings),
            memory=tuple(memories),
            layers=layers,
            profiled_forward_s=times.profiled_forward,
            profiled_backward_s=times.profiled_backward,
            attribution="record_function",
        )

    def _warmed_calls(self, batch: int) -> tuple[Callable[[], Any], Any]:
        """The profiled calls, after two untimed steps at the exact shape."""
        step = self.step(batch, regions=True)
        for _ in range(2):
            step()
        return self._profiled_calls(batch)

    def _profiled_calls(self, batch: int) -> tuple[Callable[[], Any], Any]:
        import torch

        inputs = self.inputs(batch)
        model, optimizer = self.regions, self.regions_optimizer
        if not self.train:

            def infer() -> Any:
                with torch.inference_mode():
                    return model(inputs)

            return infer, None

        def forward() -> Any:
            optimizer.zero_grad(set_to_none=True)
            return model(inputs)

        def backward(output: Any) -> None:
            output.float().mean().backward()
            optimizer.step()

        return forward, backward

    def _layer(
        self,
        row: Any,
        times: Any,
        branches: int | None,
        batch: int,
        roof: Roof,
        env: Environment,
    ) -> LayerProfile:
        size = DTYPE_BYTES[self.dtype]
        output_elements = int(row.activation_elements)
        if branches is not None:  # a merge reads each branch's tensor
            input_elements = output_elements * (1 if row.kind == "concat" else branches)
        else:
            input_elements = int(arith.product(row.input_shape)) * batch
        math = math_mode(
            self.dtype,
            row.kind,
            bool(row.macs),
            bool(env.cudnn_tf32),
            bool(env.matmul_tf32),
            self.device.type == "cuda",
        )
        backward = None if times.backward is None else times.backward.get(row.path, 0.0)
        return LayerProfile(
            path=row.path,
            kind=row.kind,
            macs=int(row.macs),
            flops=int(2 * row.macs + row.other_ops),
            weight_bytes=int(row.params + row.buffers) * size,
            input_bytes=input_elements * size,
            output_bytes=output_elements * size,
            forward_s=times.forward.get(row.path, 0.0),
            backward_s=backward,
            ops=times.ops.get(row.path, 0),
            math=math,
            peak_flops=roof.flops.get(math, roof.flops["fp32"]),
            bandwidth=roof.bandwidth,
            overhead_s=roof.overhead_s,
        )


def memory_notes(measure: str, train: bool) -> tuple[str, ...]:
    """Why the measured peak differs from the engine's estimate, where it is known."""
    if measure == "cuda":
        notes = [
            "allocated includes the parameters, the input and cuDNN's workspace; reserved adds "
            "the caching allocator's free blocks; the CUDA context (hundreds of MiB) is in "
            "neither",
        ]
    else:
        notes = [
            "RSS growth counts the pages the call touched after the C heap was trimmed: "
            "parameters and optimizer state are not in it (they were resident before), "
            "the library's scratch buffers are",
        ]
    if train:
        notes.append(
            "the estimate keeps every layer's output for the backward pass (an upper bound: "
            "in-place ReLU and views keep less)"
        )
    else:
        notes.append(
            "the estimate sums every layer's output; inference frees each as soon as the next "
            "layers have read it, so the measured peak is far lower"
        )
    return tuple(notes)
