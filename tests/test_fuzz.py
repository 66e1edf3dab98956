"""The spec fuzzer (tests/fuzz/fuzz.py): a short seeded run, and every failure it (or the
issue that asked for it) ever found, kept as a regression spec in tests/fuzz/regressions/."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

from .conftest import ROOT
from .fuzz import fuzz as fuzzer

REGRESSIONS = sorted((ROOT / "tests" / "fuzz" / "regressions").glob("*.yaml"))
COMMANDS = (
    ("summary", "-f", "json"),
    ("shape", "--input", "3xHxW"),
    ("report", "-f", "md"),
    ("check",),
    ("memory",),
    ("savings",),
)


def test_a_short_seeded_fuzz_run_finds_no_traceback_and_no_hang():
    summary = fuzzer.fuzz(cases=12, seed=14, seconds=10.0, subprocess_share=0.1)
    details = [(f.arguments, f.outcome.traceback or "hang") for f in summary.failures]
    assert summary.line() == "fuzz: 12 specs, 0 tracebacks, 0 hangs", details


def test_mutants_are_reproducible_and_differ_from_their_seed():
    import random

    seed = ROOT / "specs" / "lenet5.yaml"
    first = fuzzer.mutant(seed, random.Random(3))
    assert first == fuzzer.mutant(seed, random.Random(3))
    assert first != seed.read_text(encoding="utf-8")


def commands_of(spec) -> tuple[tuple[str, ...], ...]:
    """Every command, or those a '# commands: savings' line names (a 3,000-layer spec's
    report takes seconds and tests nothing new)."""
    for line in spec.read_text(encoding="utf-8").splitlines():
        if line.startswith("# commands:"):
            names = line.partition(":")[2].split()
            return tuple(command for command in COMMANDS if command[0] in names)
    return COMMANDS


CASES = [(spec, command) for spec in REGRESSIONS for command in commands_of(spec)]


@pytest.mark.parametrize(
    "spec, command", CASES, ids=[f"{spec.stem}-{command[0]}" for spec, command in CASES]
)
def test_regression_spec_gives_an_answer_or_an_error_never_a_traceback(spec, command):
    result = CliRunner().invoke(app, [command[0], str(spec), *command[1:]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1, 2)


def test_a_second_signal_while_the_run_winds_down_is_ignored(tmp_path, monkeypatch, capsys):
    """The first SIGTERM ends the run; a second SIGINT and SIGTERM while --save writes the
    failures (the user pressing Ctrl-C again) neither cut it off nor lose the saved specs."""
    import os
    import signal

    calls = []

    def case(arguments, seconds):
        calls.append(arguments)
        if len(calls) == 2:  # the first signal, during the second case
            os.kill(os.getpid(), signal.SIGTERM)
        return fuzzer.Outcome(1, traceback="Traceback (most recent call last): made up")

    real_save = fuzzer.save

    def save_interrupted(failures, folder):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        real_save(failures, folder)

    monkeypatch.setattr(fuzzer, "run_in_process", case)
    monkeypatch.setattr(fuzzer, "run_subprocess", case)
    monkeypatch.setattr(fuzzer, "save", save_interrupted)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    status = fuzzer.main(["--cases", "5", "--seed", "1", "--save", str(tmp_path / "saved")])
    assert status == 1
    assert capsys.readouterr().out.strip().endswith("fuzz: 1 specs, 1 tracebacks, 0 hangs")
    assert len(list((tmp_path / "saved").glob("case0_*.yaml"))) == 1
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_an_interrupt_that_a_case_swallows_still_ends_the_run(monkeypatch):
    """click turns Ctrl-C inside an in-process command into "Aborted!": the run stops after
    that case anyway, and does not count it."""
    import os
    import signal

    calls = []

    def swallowing(arguments, seconds):
        calls.append(arguments)
        if len(calls) == 3:
            try:
                os.kill(os.getpid(), signal.SIGINT)
            except KeyboardInterrupt:
                return fuzzer.Outcome(1)
        return fuzzer.Outcome(0)

    monkeypatch.setattr(fuzzer, "run_in_process", swallowing)
    monkeypatch.setattr(fuzzer, "run_subprocess", swallowing)
    summary = fuzzer.fuzz(cases=10, seed=2)
    assert (len(calls), summary.cases) == (3, 2)
