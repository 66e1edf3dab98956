"""Distributed training on PyTorch's own engine: torchrun's environment, no launcher of ours.

``torchrun --nproc-per-node N -m cnncalc train …`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous address; :func:`start` joins the group (nccl on GPUs, gloo on
CPUs). ``cnncalc train --nproc N`` runs exactly that torchrun command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CnncalcError


class LaunchError(CnncalcError):
    """A distributed run that cannot start (exit status 2)."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that prints and writes."""
        return self.rank == 0


def world_from_environment() -> World:
    return World(
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def start(device_type: str) -> World:
    """Join torchrun's process group when there is one (a plain run is a world of one)."""
    world = world_from_environment()
    if not world.distributed:
        return world
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return world


def stop(world: World) -> None:
    if world.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def sum_across(tensor: Any, world: World) -> Any:
    """``tensor`` summed over every process (in place; itself when alone)."""
    if world.distributed:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def available_processes() -> tuple[int, str]:
    """How many processes this machine can run: its GPUs, else its usable CPU cores."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count(), "GPU(s)"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return int(cores or 1), "CPU core(s)"


def launch(nproc: int, arguments: Sequence[str]) -> int:
    """Run ``cnncalc train ARGUMENTS`` in ``nproc`` processes under torchrun; its exit status."""
    available, what = available_processes()
    if nproc > available:
        raise LaunchError(
            f"--nproc {nproc} is more than this machine has ({available} {what}): give "
            f"--nproc {available} or fewer, or run on several machines with torchrun "
            "--nnodes/--rdzv-endpoint (see the README)"
        )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "cnncalc",
        "train",
        *arguments,
    ]
    environment = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return subprocess.call(command, env=environment)
