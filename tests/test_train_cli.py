"""``cnncalc train/evaluate/predict`` through the command line: bad input (golden messages,
exit 2, nothing already written lost), the README's training example, and DDP with two gloo
processes giving the metrics of one.

Regenerate the goldens in ``tests/train_errors/`` after a deliberate change of wording:

    CNNCALC_UPDATE_GOLDENS=1 pytest tests/test_train_cli.py
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from typer.testing import CliRunner  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.cli import app  # noqa: E402
from cnncalc.train import distributed  # noqa: E402

from .conftest import ROOT  # noqa: E402

GOLDEN = ROOT / "tests" / "train_errors"
UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDENS") == "1"
QUICK = ["--threads", "1", "--fraction", "0.2", "--epochs", "1"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with lenet5.yaml, another spec, and one short run (runs/lenet5)."""
    folder = tmp_path_factory.mktemp("cli")
    shutil.copy(ROOT / "specs" / "lenet5.yaml", folder / "lenet5.yaml")
    (folder / "other.yaml").write_text("input: [1, 8, 8]\nlayers: [flatten, {linear: 10}]\n")
    previous = os.getcwd()
    os.chdir(folder)
    try:
        cnncalc.train("lenet5.yaml", threads=1, fraction=0.2, epochs=1, plots=False, quiet=True)
    finally:
        os.chdir(previous)
    return folder


def _invoke(workdir, monkeypatch, command):
    monkeypatch.chdir(workdir)
    return CliRunner().invoke(app, shlex.split(command))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _spec_with(workdir, name, train_section):
    (workdir / name).write_text(
        "input: [1, 8, 8]\nlayers: [flatten, {linear: 10}]\ntrain: " + train_section + "\n"
    )
    return name


CASES = {
    # case: command (run in the work folder)
    "unknown_optimizer_in_spec": "train optimizer.yaml",
    "unknown_schedule_in_spec": "train schedule.yaml",
    "unknown_train_key": "train key.yaml",
    "lr_zero": "train lenet5.yaml --lr 0",
    "lr_nan": "train lenet5.yaml --lr nan",
    "nproc_too_large": "train lenet5.yaml --nproc 4096",
    "resume_another_spec": "train other.yaml --resume runs/lenet5",
    "resume_changes_batch": "train --resume runs/lenet5 --batch 32",
    "truncated_checkpoint": "evaluate truncated.pt",
    "missing_image": "predict runs/lenet5 no-such.png",
    "not_an_image": "predict runs/lenet5 lenet5.yaml",
}
SPECS = {
    "optimizer.yaml": "{optimizer: rmsprop}",
    "schedule.yaml": "{schedule: cosin}",
    "key.yaml": "{epoch: 3}",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_message_and_exit_2(case, workdir, monkeypatch):
    for name, section in SPECS.items():
        _spec_with(workdir, name, section)
    best = (workdir / "runs" / "lenet5" / "best.pt").read_bytes()
    (workdir / "truncated.pt").write_bytes(best[: len(best) // 3])
    before = _snapshot(workdir / "runs")
    # the goldens must not depend on this machine's core count
    monkeypatch.setattr(distributed, "available_processes", lambda: (8, "CPU core(s)"))
    result = _invoke(workdir, monkeypatch, CASES[case])
    output = result.output.rstrip("\n")
    golden = GOLDEN / f"{case}.txt"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(output + "\n", encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8").rstrip("\n")
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert _snapshot(workdir / "runs") == before  # no checkpoint or log lost, none added


def test_an_unknown_optimizer_flag_lists_the_choices(workdir, monkeypatch):
    result = _invoke(workdir, monkeypatch, "train lenet5.yaml --optimizer rmsprop")
    assert result.exit_code == 2
    assert "rmsprop" in result.output and "sgd" in result.output


def test_an_unavailable_source_says_so(workdir, monkeypatch):
    result = _invoke(workdir, monkeypatch, "train lenet5.yaml --data no-such-source")
    assert result.exit_code == 2
    assert "error: " in result.output and "no-such-source" in result.output


def test_print_config_names_where_each_value_came_from(workdir, monkeypatch):
    _spec_with(workdir, "configured.yaml", "{optimizer: adam, epochs: 4}")
    result = _invoke(workdir, monkeypatch, "train configured.yaml --epochs 2 --print-config")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "optimizer: adam  # spec" in lines
    assert "epochs: 2  # command line" in lines
    assert "lr: 0.001" in lines  # adam's default rate, resolved
    assert not (workdir / "runs" / "configured").exists()


def test_evaluate_explains_and_predict_ranks(workdir, monkeypatch):
    result = _invoke(workdir, monkeypatch, "evaluate runs/lenet5 --explain --split val")
    assert result.exit_code == 0, result.output
    assert re.search(
        r"precision\(3\) = TP/\(TP \+ FP\) = \d+/\(\d+ \+ \d+\) = 0\.\d{3}", result.output
    )
    assert "weighted avg" in result.output and "zero division" in result.output
    assert (workdir / "runs" / "lenet5" / "evaluate-val" / "metrics.json").exists()


def test_the_readme_training_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^\$ (cnncalc train specs/lenet5\.yaml[^\n]*)$", readme, flags=re.M)
    assert commands, "the README shows how to train"
    monkeypatch.chdir(ROOT)
    extra = ["--runs-dir", str(tmp_path), "--threads", "1", "--no-plots"]
    arguments = shlex.split(commands[0])[1:] + extra
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "completed: best val acc 0.9" in result.output
    evaluated = CliRunner().invoke(app, ["evaluate", str(tmp_path / "lenet5")])
    assert evaluated.exit_code == 0 and "accuracy (top-1)" in evaluated.output


def test_two_gloo_processes_give_the_metrics_of_one(tmp_path, monkeypatch):
    """DDP over torchrun (``--nproc 2``): the global batch is split between the processes, so
    with an even training set each step sees the same images as one process; gradients agree
    to rounding, and the validation counts, all-reduced without padding, are the same."""
    monkeypatch.chdir(ROOT)
    settings = ["--fraction", "0.4", "--epochs", "1", "--threads", "1", "--no-plots",
                "--runs-dir", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(app, ["train", "specs/lenet5.yaml", "--nproc", "2", "--name",
                                      "two", *settings])  # fmt: skip
    assert result.exit_code == 0, result.output
    one = cnncalc.train("specs/lenet5.yaml", fraction=0.4, epochs=1, threads=1, quiet=True,
                        plots=False, runs_dir=str(tmp_path), name="one")  # fmt: skip
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["confusion"] == [list(row) for row in one.metrics.confusion]
    assert two["total"] == one.metrics.total == 58  # every validation image once
    weights = [torch.load(tmp_path / name / "last.pt", weights_only=True)["model"]
               for name in ("one", "two")]  # fmt: skip
    for key, value in weights[0].items():
        torch.testing.assert_close(weights[1][key], value, rtol=1e-4, atol=1e-5)
    report = (tmp_path / "two" / "report.md").read_text()
    assert "cpu × 2 processes" in report
