"""cnncalc speed benchmarks: whole processes against PyTorch peers, and the engine alone.

    python benchmarks/run.py [--quick] [--runs N] [--json out.json]

Sets up (or reuses) a venv at benchmarks/.work/venv holding a regular, non-editable install
of this checkout's cnncalc (reinstalled on every run, so the figures are for the current
tree) plus torch==2.13.0, fvcore and torchinfo, then measures:

* whole processes, each run N times in interleaved rounds after a warm-up run:
  ``cnncalc summary specs/resnet152.yaml``, ``python -c "import torch"``, and the two
  peers analysing the same ResNet-152 written in PyTorch (benchmarks/peers/);
* the engine in-process (benchmarks/engine.py): a generated 10,000-layer spec, and
  ResNet-152 at a 224-pixel and a 100,000-pixel input.

If the peers cannot be installed the cnncalc parts still run and the report says why.
Prints a Markdown report (and writes JSON with --json).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
WORK = BENCHMARKS / ".work"
VENV = WORK / "venv"
SOURCE_COPY = WORK / "source"
BIN = VENV / "bin"
PYTHON = BIN / "python"
PEERS = BENCHMARKS / "peers"

PEER_REQUIREMENTS = ("torch==2.13.0", "fvcore", "torchinfo")
"""torch pinned exactly: an unpinned torch downloads a multi-GB CUDA build."""
PEER_MODULES = ("torch", "fvcore", "torchinfo")
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")

SPEED_GOAL = 15.0
"""cnncalc summary must be at least this many times faster than each peer."""
ENGINE_GOAL_SECONDS = 1.0
"""The engine alone on the 10,000-layer spec."""
INPUT_SIZE_TOLERANCE = 1.5
"""'The same time' for both inputs: neither time more than this factor above the other."""


@dataclass
class Command:
    label: str
    arguments: list[str]
    needs_peers: bool
    is_goal_peer: bool = False
    """One of the peers that cnncalc summary must beat by SPEED_GOAL."""
    is_reference: bool = False
    """Shown beside the goals for comparison only (import torch alone)."""
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    """User plus system CPU time of each timed run (all threads): less hurt by a busy machine
    than the wall-clock time, though it counts threads that run in parallel."""
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def minimum(self) -> float:
        return min(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)


# --- environment ------------------------------------------------------------------------


def run_quietly(arguments: list[str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        arguments, cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout, check=False
    )


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def pip_install(*requirements: str) -> str | None:
    """Install into the benchmark venv; None on success, else the end of pip's output."""
    print(f"pip install {' '.join(requirements)} ...", file=sys.stderr, flush=True)
    result = run_quietly([str(PYTHON), "-m", "pip", "install", "--quiet", *requirements])
    return None if result.returncode == 0 else tail(result.stdout + result.stderr)


def copy_source() -> Path:
    """A fresh copy of the package sources, so that building the wheel leaves no build/ or
    egg-info behind in the checkout (and no stale build/lib module leaks into the wheel)."""
    shutil.rmtree(SOURCE_COPY, ignore_errors=True)
    SOURCE_COPY.mkdir(parents=True)
    for name in SOURCE_FILES:
        if (REPOSITORY / name).exists():
            shutil.copy2(REPOSITORY / name, SOURCE_COPY / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(REPOSITORY / "cnncalc", SOURCE_COPY / "cnncalc", ignore=ignore)
    return SOURCE_COPY


def peers_importable() -> bool:
    check = "import " + ", ".join(PEER_MODULES)
    return run_quietly([str(PYTHON), "-c", check]).returncode == 0


def prepare_venv() -> str | None:
    """Create or reuse the venv and reinstall cnncalc; the peers' install error, if any."""
    if not PYTHON.exists():
        print(f"creating {VENV.relative_to(REPOSITORY)} ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    error = pip_install(str(copy_source()))
    if error is not None:
        sys.exit(f"could not install cnncalc into the benchmark venv:\n{error}")
    if peers_importable():
        return None
    error = pip_install(*PEER_REQUIREMENTS)
    if error is None and not peers_importable():
        error = "the peers installed but do not import"
    return error


def package_versions() -> dict[str, str]:
    names = ("cnncalc", *PEER_MODULES)
    script = (
        "import importlib.metadata as m, json\n"
        "def version(name):\n"
        "    try:\n        return m.version(name)\n"
        "    except m.PackageNotFoundError:\n        return 'not installed'\n"
        f"print(json.dumps({{name: version(name) for name in {names!r}}}))"
    )
    return json.loads(run_quietly([str(PYTHON), "-c", script]).stdout)


def git_revision() -> str:
    revision = run_quietly(["git", "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = run_quietly(["git", "status", "--porcelain", "--", "cnncalc", "pyproject.toml"])
    return f"{revision}{' + uncommitted changes' if dirty.stdout.strip() else ''}"


def machine() -> dict[str, Any]:
    return {
        "date": datetime.date.today().isoformat(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
        "revision": git_revision(),
        "versions": package_versions(),
    }


# --- whole processes --------------------------------------------------------------------


def whole_process_commands() -> list[Command]:
    python = str(PYTHON)
    return [
        Command(
            "cnncalc summary specs/resnet152.yaml",
            [str(BIN / "cnncalc"), "summary", "specs/resnet152.yaml"],
            needs_peers=False,
        ),
        Command(
            'python -c "import torch"',
            [python, "-c", "import torch"],
            needs_peers=True,
            is_reference=True,
        ),
        Command(
            "fvcore FlopCountAnalysis, ResNet-152",
            [python, str(PEERS / "fvcore_resnet152.py")],
            needs_peers=True,
            is_goal_peer=True,
        ),
        Command(
            "torchinfo summary, ResNet-152",
            [python, str(PEERS / "torchinfo_resnet152.py")],
            needs_peers=True,
            is_goal_peer=True,
        ),
    ]


def warm_up(command: Command) -> None:
    """One untimed run that must succeed: fills caches and checks the command works."""
    result = run_quietly(command.arguments, timeout=600)
    if result.returncode != 0:
        command.error = f"exit status {result.returncode}: {tail(result.stderr, 5)}"


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(arguments: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of the command."""
    cpu_start = children_cpu_seconds()
    start = time.perf_counter()
    subprocess.run(
        arguments,
        cwd=REPOSITORY,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=600,
    )
    return time.perf_counter() - start, children_cpu_seconds() - cpu_start


def time_processes(commands: list[Command], runs: int) -> None:
    """Interleaved rounds, so that a busy spell on the machine hits every command alike."""
    for command in commands:
        if command.error is None:
            warm_up(command)
    active = [command for command in commands if command.error is None]
    for round_number in range(1, runs + 1):
        print(f"whole-process round {round_number}/{runs}", file=sys.stderr, flush=True)
        for command in active:
            wall, cpu = time_once(command.arguments)
            command.seconds.append(wall)
            command.cpu_seconds.append(cpu)


# --- engine -----------------------------------------------------------------------------


def engine_timings(repeats: int) -> dict[str, Any]:
    print("engine timings ...", file=sys.stderr, flush=True)
    result = run_quietly([str(PYTHON), str(BENCHMARKS / "engine.py"), "--repeats", str(repeats)])
    if result.returncode != 0:
        sys.exit(f"engine benchmark failed:\n{tail(result.stderr)}")
    return json.loads(result.stdout)


# --- report -----------------------------------------------------------------------------


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:,.1f} ms"


def process_rows(commands: list[Command]) -> list[str]:
    baseline = commands[0]
    rows = [
        "| whole process | median | min | × cnncalc (median) | × cnncalc (min) | CPU median |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for command in commands:
        if command.error is not None or not command.seconds:
            rows.append(f"| {command.label} | failed | | | | |")
            continue
        rows.append(
            f"| {command.label} | {milliseconds(command.median)} | "
            f"{milliseconds(command.minimum)} | {command.median / baseline.median:.1f}× | "
            f"{command.minimum / baseline.minimum:.1f}× | {milliseconds(command.cpu_median)} |"
        )
    return rows


def engine_rows(engine: dict[str, Any]) -> list[str]:
    deep = engine["deep_spec"]
    sizes = engine["input_size"]
    layers = f"{deep['layers']:,}-layer generated spec"
    return [
        "| engine, in-process (best of repeats) | time |",
        "|---|---:|",
        f"| `analyse_file`, {layers} | {milliseconds(deep['analyse_file_seconds'])} |",
        f"| ↳ its CPU time | {milliseconds(deep['analyse_file_cpu_seconds'])} |",
        f"| ↳ `load_spec`, separately | {milliseconds(deep['load_seconds'])} |",
        f"| ↳ then `analyse` of that spec | {milliseconds(deep['analyse_seconds'])} |",
        f"| ↳ `analyse_file` with `gc` disabled (diagnostic) | "
        f"{milliseconds(deep['analyse_file_seconds_gc_off'])} |",
        f"| `analyse_file` resnet152.yaml at 3×224×224 | "
        f"{milliseconds(sizes['small']['seconds'])} |",
        f"| `analyse_file` resnet152.yaml at 3×100000×100000 | "
        f"{milliseconds(sizes['large']['seconds'])} |",
        f"| ratio 100,000 px / 224 px | {sizes['ratio_large_to_small']:.2f} |",
    ]


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def goal_lines(commands: list[Command], engine: dict[str, Any]) -> list[str]:
    baseline = commands[0]
    lines = []
    for peer in (command for command in commands if command.is_reference):
        if peer.seconds:
            lines.append(
                f"- reference, not a goal: {peer.label} takes "
                f"{peer.median / baseline.median:.1f}× cnncalc's time by median"
            )
    for peer in (command for command in commands if command.is_goal_peer):
        if peer.error is not None or not peer.seconds:
            lines.append(f"- ≥{SPEED_GOAL:.0f}× faster than {peer.label}: not measured")
            continue
        ratio = peer.median / baseline.median
        lines.append(
            f"- ≥{SPEED_GOAL:.0f}× faster than {peer.label}: "
            f"{verdict(ratio >= SPEED_GOAL)} ({ratio:.1f}× by median)"
        )
    seconds = engine["deep_spec"]["analyse_file_seconds"]
    cpu_seconds = engine["deep_spec"]["analyse_file_cpu_seconds"]
    lines.append(
        f"- engine on {engine['deep_spec']['layers']:,} layers under "
        f"{ENGINE_GOAL_SECONDS:.0f} s: {verdict(seconds < ENGINE_GOAL_SECONDS)} "
        f"({seconds:.2f} s wall clock, {cpu_seconds:.2f} s CPU)"
    )
    ratio = engine["input_size"]["ratio_large_to_small"]
    same = 1 / INPUT_SIZE_TOLERANCE <= ratio <= INPUT_SIZE_TOLERANCE
    lines.append(
        f"- same time at 224 px and 100,000 px (within {INPUT_SIZE_TOLERANCE}×): "
        f"{verdict(same)} (ratio {ratio:.2f})"
    )
    return lines


def report(
    commands: list[Command],
    engine: dict[str, Any],
    info: dict[str, Any],
    runs: int,
    peer_error: str | None,
) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items())
    lines = [
        f"date {info['date']}; nproc {info['nproc']}; Python {info['python']}; "
        f"{info['platform']}; load average at start "
        f"{', '.join(f'{load:.2f}' for load in info['load_average'])}",
        f"cnncalc at {info['revision']}; {versions}",
        f"whole processes: {runs} timed runs each, interleaved, after a warm-up run",
        "",
        *process_rows(commands),
        "",
        *engine_rows(engine),
        "",
        "Goals:",
        *goal_lines(commands, engine),
    ]
    if peer_error is not None:
        lines += ["", f"Peers could not be installed; their rows were skipped:\n{peer_error}"]
    for command in commands:
        if command.error is not None and not (command.needs_peers and peer_error):
            lines += ["", f"{command.label} failed: {command.error}"]
    return "\n".join(lines)


def as_json(
    commands: list[Command], engine: dict[str, Any], info: dict[str, Any], peer_error: str | None
) -> dict[str, Any]:
    processes = {
        command.label: {
            "arguments": command.arguments,
            "seconds": command.seconds,
            "cpu_seconds": command.cpu_seconds,
            "error": command.error,
            "median": command.median if command.seconds else None,
            "min": command.minimum if command.seconds else None,
        }
        for command in commands
    }
    return {
        "machine": info,
        "peer_install_error": peer_error,
        "processes": processes,
        "engine": engine,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="cnncalc speed benchmarks")
    parser.add_argument("--quick", action="store_true", help="3 runs each, 2 engine repeats")
    parser.add_argument("--runs", type=int, help="timed runs of each whole process (11)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    arguments = parser.parse_args()
    runs = arguments.runs or (3 if arguments.quick else 11)
    peer_error = prepare_venv()
    info = machine()
    commands = whole_process_commands()
    for command in commands:
        if command.needs_peers and peer_error is not None:
            command.error = "peers not installed"
    time_processes(commands, runs)
    if commands[0].error is not None:
        sys.exit(f"cnncalc summary failed: {commands[0].error}")
    engine = engine_timings(2 if arguments.quick else 5)
    print(report(commands, engine, info, runs, peer_error))
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(as_json(commands, engine, info, peer_error), indent=2))


if __name__ == "__main__":
    main()
