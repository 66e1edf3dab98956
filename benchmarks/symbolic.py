"""Symbolic analysis: ``cnncalc summary <spec> --input CxHxW`` for every bundled spec
(specs/ and examples/).

    python benchmarks/symbolic.py [--before REV] [--runs N] [--timeout S] [--json out.json]
                                  [--command shape] [--numeric] [spec-stem ...]

``--command shape`` times ``cnncalc shape`` instead of ``summary``. ``--numeric`` times the
numeric analysis (no ``--input``: the spec's own sizes) and also ``python -c "import torch"``,
the reference the numeric ``summary`` must stay under a tenth of (issue 11).

Each spec is analysed in a fresh process (the formula memo starts empty, as it does for a
user), with the channel count the spec's own ``input:`` gives and H, W as symbols. The
figure is the CPU time (user + system) of the whole process, the best of ``--runs`` runs (one
run when it takes over 10 s): on a machine shared with other work the wall clock measures the
neighbours as much as cnncalc.

With ``--before REV`` (a commit, e.g. the merge-base) the same commands also run against
that commit's ``cnncalc/``, exported with ``git archive`` into benchmarks/.work/, and the
report has before, after and the speed-up. Each command is given ``--timeout`` CPU seconds;
one that takes longer is reported as "> timeout". The two versions run in alternation, spec
by spec, so a busy spell on the machine slows both alike. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tarfile
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
SPECS = REPOSITORY / "specs"
EXAMPLES = REPOSITORY / "examples"
WORK = BENCHMARKS / ".work"


def input_channels(spec: Path) -> str:
    """The C of the spec's own ``input: [C, …]``, so that the symbolic input fits its layers."""
    match = re.search(r"^input:\s*\[\s*(\d+)", spec.read_text(encoding="utf-8"), flags=re.M)
    if match is None:
        raise SystemExit(f"{spec}: no numeric input channel count")
    return match.group(1)


def export_commit(revision: str) -> Path:
    """The package at ``revision``, unpacked once into benchmarks/.work/symbolic-<commit>/."""
    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}").strip()
    target = WORK / f"symbolic-{commit[:12]}"
    if not (target / "cnncalc" / "__init__.py").exists():
        archive = subprocess.run(
            ["git", "archive", commit, "cnncalc"], cwd=REPOSITORY, capture_output=True, check=True
        ).stdout
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target


def compile_package(source: Path) -> None:
    """Byte-compile ``source``'s cnncalc once, as an installed package is: with
    PYTHONDONTWRITEBYTECODE set (as on the machine these figures were taken on) every process
    would otherwise compile the package again, some 0.1 s of each figure."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(source / "cnncalc")],
        env={key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"},
        check=True,
    )


def git(*arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout


WALL_FACTOR = 10
"""A process may wait for a core on a busy machine: its wall-clock limit is this many times
its CPU limit."""


COMMAND = "summary"
"""The cnncalc command timed (``--command``)."""
NUMERIC = False
"""Whether the spec's own input is analysed instead of a symbolic one (``--numeric``)."""


def timed_summary(source: Path, spec: Path, timeout: float) -> float | None:
    """CPU seconds of one ``cnncalc summary`` process on ``source``'s package; None if it
    ran out of its ``timeout`` CPU seconds. The process runs in ``source`` (``python -m`` puts
    the working directory first on the path) with ``source`` on PYTHONPATH too, so no other
    cnncalc can shadow it."""
    environment = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, "-m", "cnncalc", COMMAND, str(spec)]
    if not NUMERIC:
        command += ["--input", f"{input_channels(spec)}xHxW"]
    return timed_process(command, source, environment, timeout)


def timed_torch_import(runs: int) -> float:
    """CPU seconds of the fastest of ``runs`` ``python -c "import torch"`` processes."""
    command = [sys.executable, "-c", "import torch"]
    times = [timed_process(command, REPOSITORY, dict(os.environ), 120.0) for _ in range(runs)]
    return min(seconds for seconds in times if seconds is not None)


def timed_process(
    command: list[str], source: Path, environment: dict[str, str], timeout: float
) -> float | None:
    """CPU seconds (user + system) of one process; None past ``timeout`` CPU seconds."""

    def limit_cpu() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (int(timeout), int(timeout) + 1))

    start = _children_cpu()
    try:
        result = subprocess.run(
            command,
            cwd=source,
            env=environment,
            capture_output=True,
            timeout=timeout * WALL_FACTOR,
            preexec_fn=limit_cpu,
        )
    except subprocess.TimeoutExpired:
        return None
    if result.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return None
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr.decode()[-2000:]}")
    return _children_cpu() - start


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


LONG_RUN_SECONDS = 10.0
"""A run this long is not repeated: the machine's noise is small beside it."""


def best_of(source: Path, spec: Path, runs: int, timeout: float) -> float | None:
    """The fastest of ``runs`` processes; one that times out or takes over LONG_RUN_SECONDS
    is not run again."""
    best: float | None = None
    for _ in range(runs):
        seconds = timed_summary(source, spec, timeout)
        if seconds is None:
            return None
        best = seconds if best is None else min(best, seconds)
        if seconds > LONG_RUN_SECONDS:
            break
    return best


def seconds_text(seconds: float | None, timeout: float) -> str:
    return f"> {timeout:,.0f} s" if seconds is None else f"{seconds:,.2f} s"


def speedup_text(before: float | None, after: float | None, timeout: float) -> str:
    if after is None:
        return "—"
    if before is None:
        return f"> {timeout / after:,.0f}×"
    return f"{before / after:,.1f}×"


@dataclass
class Timing:
    spec: str
    after: float | None
    before: float | None = None


def report(timings: list[Timing], timeout: float, before: str | None) -> str:
    header = ["spec", "after"] if before is None else ["spec", f"before ({before})", "after", "×"]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for timing in timings:
        cells = [f"`{timing.spec}`", seconds_text(timing.after, timeout)]
        if before is not None:
            cells[1:1] = [seconds_text(timing.before, timeout)]
            cells.append(speedup_text(timing.before, timing.after, timeout))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stems", nargs="*", help="spec names (default: every bundled spec)")
    parser.add_argument("--before", metavar="REV", help="also time this commit's cnncalc")
    parser.add_argument("--runs", type=int, default=3, help="processes per spec and version")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per process")
    parser.add_argument("--json", type=Path, help="write the raw seconds here")
    parser.add_argument("--command", choices=("summary", "shape"), default="summary")
    parser.add_argument("--numeric", action="store_true", help="the spec's own input sizes")
    arguments = parser.parse_args()
    global COMMAND, NUMERIC
    COMMAND, NUMERIC = arguments.command, arguments.numeric
    stems = arguments.stems or [
        str(path.relative_to(REPOSITORY).with_suffix(""))
        for folder in (SPECS, EXAMPLES)
        for path in sorted(folder.glob("*.yaml"))
    ]
    before_source = export_commit(arguments.before) if arguments.before else None
    for source in (REPOSITORY, before_source):
        if source is not None:
            compile_package(source)
    timings: list[Timing] = []
    for stem in stems:
        spec = REPOSITORY / f"{stem}.yaml" if "/" in stem else SPECS / f"{stem}.yaml"
        before = None
        if before_source is not None:
            before = best_of(before_source, spec, arguments.runs, arguments.timeout)
        timing = Timing(stem, best_of(REPOSITORY, spec, arguments.runs, arguments.timeout), before)
        print(json.dumps(asdict(timing)), file=sys.stderr, flush=True)
        timings.append(timing)
    if arguments.json:
        arguments.json.write_text(json.dumps([asdict(timing) for timing in timings], indent=2))
    print(report(timings, arguments.timeout, arguments.before))
    if NUMERIC:
        torch_seconds = timed_torch_import(arguments.runs)
        slowest = max(timing.after for timing in timings if timing.after is not None)
        print(
            f'\npython -c "import torch": {torch_seconds:.2f} s; slowest cnncalc {COMMAND}: '
            f"{slowest:.2f} s = {slowest / torch_seconds:.3f}× (goal: under 0.1×)"
        )


if __name__ == "__main__":
    main()
