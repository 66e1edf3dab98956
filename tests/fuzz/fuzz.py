"""A mutation fuzzer for cnncalc: every command, on mutants of the bundled specs.

    python -m tests.fuzz.fuzz [--cases 10000] [--seed 0] [--budget 10] [--subprocess 0.1]
                              [--save DIR]

Each case takes a bundled spec (specs/, its lecture notes, examples/ and the bad specs of
tests/errors/), applies one to three mutations — a number made 0, negative, huge (10¹⁸,
10³¹⁰) or a symbol; a key dropped, a layer duplicated, dropped or swapped; a layer of any
registered kind inserted; the input made symbolic, channels-last or short; a repeat made
empty; a line of the text dropped or cut — and runs one command on it: summary in every
format, shape with symbols, params, flops, memory, report in every format, check, savings,
compare, export, or verify on the meta device. Most cases run in this process through the
typer app (CliRunner), the rest (``--subprocess``, a fraction) as a real ``cnncalc`` process.

A case passes when the command ends with status 0, 1 or 2 and no traceback, within
``--budget`` seconds. A traceback or a hang is printed with its command and kept (with
``--save``) as a spec for tests/fuzz/regressions/. The last line is
``fuzz: N specs, T tracebacks, H hangs``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SEED_FOLDERS = ("specs", "specs/lecture_notes", "examples", "tests/errors")

INTERESTING_INTS = (0, 1, -1, 2, 3, 7, 64, 10**7, 10**18, 10**310)
INTERESTING_VALUES = ("H", "C", "x // 0", "", None, True, [], {}, 1.5, "same", "1e400", [1, 2, 3])
INPUTS = (
    [3, "H", "W"],
    [1, "H", "W"],
    ["C", "H", "W"],
    [32, 32, 3],
    [224, 224, 3],
    [3, 1, 1],
    [3, 10**7, 4],
    [10],
    [],
    [3, 0, 8],
)
LAYERS = (
    {"conv": {"filters": 8, "kernel": 3}},
    {"conv": {"filters": 4, "kernel": 5, "stride": 2, "padding": "same_tf"}},
    {"conv": {"filters": 6, "kernel": 3, "groups": 3, "dilation": 2, "activation": "relu"}},
    {"depthwise": {"kernel": 3, "padding": 1}},
    {"conv_transpose": {"filters": 4, "kernel": 3, "stride": 2, "output_padding": 1}},
    {"maxpool": {"kernel": 3, "stride": 2, "ceil_mode": True}},
    {"avgpool": {"kernel": 100, "ceil_mode": True}},
    {"adaptive_avgpool": {"output": 7}},
    {"adaptive_maxpool": {"output": 10**6}},
    "global_avgpool",
    "flatten",
    {"linear": 10},
    {"batchnorm": {"eps": 0}},
    {"lrn": {"size": 5, "k": 10**310}},
    {"zeropad": {"padding": [1, 2]}},
    {"channel_shuffle": {"groups": 2}},
    {"channel_split": {"sections": [1, 1], "index": 0}},
    {"dropout": 0.5},
    "relu",
    {"repeat": 3, "layers": []},
    {"repeat": 3000, "layers": [{"conv": {"filters": 1, "kernel": 3, "padding": 1}}]},
    {"residual": {"body": [{"conv": {"filters": 8, "kernel": 3, "padding": 1}}]}},
    {"add": [[], [{"conv": {"filters": 8, "kernel": 1}}]]},
    {"concat": [[], ["relu"]]},
)

FORMATS = ("table", "json", "csv", "md")
WALL_FACTOR = 10
"""A real process may wait for a core on a busy machine: its wall-clock limit is this many
times its CPU budget."""
REPORT_FORMATS = ("text", "md", "latex", "html")


def seeds() -> list[Path]:
    found: list[Path] = []
    for folder in SEED_FOLDERS:
        found += sorted((ROOT / folder).glob("*.yaml"))
    return found


# ------------------------------------------------------------------ mutations


MAX_NODES = 20_000
"""A parsed seed with more nodes (a billion-laughs alias bomb, a nesting of thousands) is
mutated as text instead."""


class TooLarge(Exception):
    """A tree past MAX_NODES."""


def _walk(value: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of a parsed spec, iteratively (seeds nest thousands deep)."""
    found: list[tuple[tuple[Any, ...], Any]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        found.append((path, item))
        if len(found) > MAX_NODES:
            raise TooLarge
        if isinstance(item, dict):
            stack += [((*path, key), child) for key, child in item.items()]
        elif isinstance(item, list):
            stack += [((*path, index), child) for index, child in enumerate(item)]
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


def mutate_tree(data: Any, rng: random.Random) -> Any:
    """One mutation of a parsed spec (a copy)."""
    data = copy.deepcopy(data)
    nodes = [(path, value) for path, value in _walk(data) if path]
    if not nodes or not isinstance(data, dict):
        return data
    choice = rng.randrange(8)
    if choice == 0 or choice == 1:  # a number, made interesting
        numbers = [(p, v) for p, v in nodes if isinstance(v, int) and not isinstance(v, bool)]
        path, _ = rng.choice(numbers or nodes)
        _parent(data, path)[path[-1]] = rng.choice(INTERESTING_INTS)
    elif choice == 2:  # any value, made strange
        path, _ = rng.choice(nodes)
        _parent(data, path)[path[-1]] = copy.deepcopy(rng.choice(INTERESTING_VALUES))
    elif choice == 3:  # a key dropped
        keyed = [(p, v) for p, v in nodes if isinstance(_parent(data, p), dict)]
        if keyed:
            path, _ = rng.choice(keyed)
            _parent(data, path).pop(path[-1], None)
    elif choice == 4:  # a list item duplicated, dropped or swapped
        lists = [(p, v) for p, v in _walk(data) if isinstance(v, list) and v]
        if lists:
            _, items = rng.choice(lists)
            index = rng.randrange(len(items))
            action = rng.randrange(3)
            if action == 0:
                items.insert(index, copy.deepcopy(items[index]))
            elif action == 1:
                items.pop(index)
            else:
                other = rng.randrange(len(items))
                items[index], items[other] = items[other], items[index]
    elif choice == 5:  # a layer of another kind inserted
        lists = [v for p, v in _walk(data) if isinstance(v, list) and p[-1:] in (("layers",),)]
        target = rng.choice(lists) if lists else data.setdefault("layers", [])
        if isinstance(target, list):
            target.insert(rng.randrange(len(target) + 1), copy.deepcopy(rng.choice(LAYERS)))
    elif choice == 6:  # the input
        data["input"] = copy.deepcopy(rng.choice(INPUTS))
    else:  # a block or layer list emptied
        lists = [v for p, v in _walk(data) if isinstance(v, list) and v]
        if lists:
            rng.choice(lists).clear()
    return data


def mutate_text(text: str, rng: random.Random) -> str:
    """A mutation of the file's text: what a tree cannot express (bad YAML, cut files)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    index = rng.randrange(len(lines))
    action = rng.randrange(4)
    if action == 0:
        del lines[index]
    elif action == 1:
        lines.insert(index, lines[index])
    elif action == 2:
        return text[: rng.randrange(len(text) + 1)]
    else:
        lines[index] = lines[index].replace(":", "", 1)
    return "".join(lines)


def mutant(seed: Path, rng: random.Random) -> str:
    text = seed.read_text(encoding="utf-8")
    if rng.random() < 0.15:
        return mutate_text(text, rng)
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):  # bad seeds of tests/errors
        return mutate_text(text, rng)
    try:
        for _ in range(rng.randint(1, 3)):
            data = mutate_tree(data, rng)
        return yaml.safe_dump(data, sort_keys=False)
    except (TooLarge, RecursionError, yaml.YAMLError):
        return mutate_text(text, rng)


# ------------------------------------------------------------------ commands


def command(spec: str, other: str, work: str, rng: random.Random) -> list[str]:
    """One command line (without 'cnncalc') over ``spec``."""
    name = rng.choice(
        (
            "summary",
            "shape",
            "params",
            "flops",
            "memory",
            "report",
            "check",
            "savings",
            "compare",
            "export",
            "verify",
        )
    )
    if name == "summary":
        return ["summary", spec, "-f", rng.choice(FORMATS)]
    if name == "shape":
        return ["shape", spec, *rng.choice(((), ("--input", "3xHxW"), ("--input", "1xHxW")))]
    if name in ("params", "flops"):
        return [name, spec, "-f", rng.choice(FORMATS)]
    if name == "memory":
        return [
            "memory",
            spec,
            "--batch",
            str(rng.choice((1, 64))),
            "-f",
            rng.choice(("table", "json")),
        ]
    if name == "report":
        symbolic = ["--symbolic"] if rng.random() < 0.3 else []
        return ["report", spec, "-f", rng.choice(REPORT_FORMATS), *symbolic]
    if name == "check":
        return ["check", spec]
    if name == "savings":
        return ["savings", spec, "-f", rng.choice(("table", "json", "md"))]
    if name == "compare":
        return ["compare", spec, other]
    if name == "export":
        return ["export", spec, "-o", os.path.join(work, "exported.py")]
    return ["verify", spec, "--device", "meta", "--no-peers"]


@dataclass
class Outcome:
    status: int
    traceback: str | None = None
    hung: bool = False


class Hang(Exception):
    """A case ran past its time budget."""


@contextlib.contextmanager
def budget(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise Hang

    # CPU time, not wall time: on a shared machine a case may wait long for a core
    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _import_once() -> None:
    """What the commands import on first use, imported before any case: an import cut off
    by a case's budget would leave torch half-registered for every later case."""
    import sympy  # noqa: F401

    with contextlib.suppress(ImportError):
        import torch  # noqa: F401

        import cnncalc.torch.verify  # noqa: F401


def run_in_process(arguments: list[str], seconds: float) -> Outcome:
    import traceback

    from typer.testing import CliRunner

    from cnncalc.cli import app

    try:
        with budget(seconds):
            result = CliRunner().invoke(app, arguments)
    except Hang:
        return Outcome(-1, hung=True)
    error = result.exception
    if isinstance(error, Hang):
        return Outcome(-1, hung=True)
    if error is not None and not isinstance(error, SystemExit):
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return Outcome(result.exit_code, traceback=text)
    if result.exit_code not in (0, 1, 2):
        return Outcome(result.exit_code, traceback=f"exit status {result.exit_code}")
    return Outcome(result.exit_code)


def run_subprocess(arguments: list[str], seconds: float) -> Outcome:
    import resource

    def limit_cpu() -> None:  # the budget in CPU seconds; SIGXCPU past it
        resource.setrlimit(resource.RLIMIT_CPU, (int(seconds) + 1, int(seconds) + 2))

    program = [sys.executable, "-m", "cnncalc", *arguments]
    try:
        done = subprocess.run(
            program,
            capture_output=True,
            text=True,
            timeout=seconds * WALL_FACTOR,
            cwd=ROOT,
            preexec_fn=limit_cpu,
        )
    except subprocess.TimeoutExpired:
        return Outcome(-1, hung=True)
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome(done.returncode, hung=True)
    if "Traceback (most recent call last)" in done.stderr or done.returncode not in (0, 1, 2):
        return Outcome(
            done.returncode, traceback=done.stderr[-4000:] or f"status {done.returncode}"
        )
    return Outcome(done.returncode)


# ------------------------------------------------------------------ the run


@dataclass
class Failure:
    case: int
    arguments: list[str]
    spec_text: str
    outcome: Outcome


@dataclass
class Summary:
    cases: int
    failures: list[Failure]

    @property
    def tracebacks(self) -> int:
        return sum(1 for failure in self.failures if failure.outcome.traceback)

    @property
    def hangs(self) -> int:
        return sum(1 for failure in self.failures if failure.outcome.hung)

    def line(self) -> str:
        return f"fuzz: {self.cases} specs, {self.tracebacks} tracebacks, {self.hangs} hangs"


def fuzz(
    cases: int,
    seed: int = 0,
    seconds: float = 10.0,
    subprocess_share: float = 0.1,
    log: Any = None,
) -> Summary:
    """Run ``cases`` mutants through random commands; the failures, with their specs."""
    rng = random.Random(seed)
    pool = seeds()
    _import_once()
    failures: list[Failure] = []
    done = 0
    with _STOP.guard(), tempfile.TemporaryDirectory(prefix="cnncalc-fuzz-") as work:
        try:
            for case in range(cases):
                spec_text = mutant(rng.choice(pool), rng)
                spec = os.path.join(work, f"case{case % 2}.yaml")
                Path(spec).write_text(spec_text, encoding="utf-8")
                arguments = command(spec, str(rng.choice(pool)), work, rng)
                runner = run_subprocess if rng.random() < subprocess_share else run_in_process
                started = time.perf_counter()
                outcome = runner(arguments, seconds)
                if _STOP.requested:  # cut off, and an in-process case swallowed the interrupt
                    break
                if outcome.traceback or outcome.hung:
                    failures.append(Failure(case, arguments, spec_text, outcome))
                    _log_failure(log, failures[-1], time.perf_counter() - started)
                done = case + 1
                if log is not None and done % 100 == 0:
                    log.write(f"… {done} cases, {len(failures)} failures\n")
                    log.flush()
        except KeyboardInterrupt:
            pass  # the run ends early; the summary counts the cases that ran
    return Summary(done, failures)


def _log_failure(log: Any, failure: Failure, elapsed: float) -> None:
    if log is None:
        return
    kind = "hang" if failure.outcome.hung else "traceback"
    command_line = " ".join(failure.arguments)
    log.write(f"case {failure.case}: {kind} ({elapsed:.1f} s) in cnncalc {command_line}\n")
    log.write((failure.outcome.traceback or "")[-1500:] + "\n")


STOPPING = (signal.SIGINT, signal.SIGTERM)


class _Stop:
    """Ctrl-C or a SIGTERM ends the run early. The first raises KeyboardInterrupt where the
    run is and sets ``requested`` (a case run in-process through click may swallow the
    interrupt: the loop stops after that case), and from then on both signals are ignored,
    so that a second one while the run winds down (the temporary folder removed, ``--save``
    written, the summary printed) cannot cut it off with a traceback. The handlers from
    before are restored when the outermost ``guard`` ends."""

    def __init__(self) -> None:
        self.requested = False
        self.depth = 0
        self.previous: dict[int, Any] = {}

    def first_signal(self, signum: int, frame: Any) -> None:
        self.requested = True
        ignore_stop_signals()
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        if self.depth == 0:
            self.requested = False
            self.previous = {each: signal.signal(each, self.first_signal) for each in STOPPING}
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if self.depth == 0:
                for each, handler in self.previous.items():
                    signal.signal(each, handler)


_STOP = _Stop()


def ignore_stop_signals() -> None:
    for each in STOPPING:
        signal.signal(each, signal.SIG_IGN)


def save(failures: list[Failure], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for failure in failures:
        kind = "hang" if failure.outcome.hung else "traceback"
        name = f"case{failure.case}_{failure.arguments[0]}_{kind}"
        (folder / f"{name}.yaml").write_text(
            f"# cnncalc {' '.join(failure.arguments)}\n" + failure.spec_text, encoding="utf-8"
        )
        (folder / f"{name}.txt").write_text(failure.outcome.traceback or "hang\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--subprocess", type=float, default=0.1, help="share of real processes")
    parser.add_argument("--save", type=Path, default=None, help="keep failing specs here")
    options = parser.parse_args(argv)
    with _STOP.guard():
        summary = fuzz(options.cases, options.seed, options.budget, options.subprocess, sys.stderr)
        ignore_stop_signals()  # the run is over: saving and the summary go uninterrupted
        if options.save is not None:
            save(summary.failures, options.save)
        print(summary.line(), flush=True)
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
