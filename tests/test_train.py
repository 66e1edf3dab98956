"""Training on the bundled digits: accuracy, metrics against scikit-learn, checkpoints that
survive a kill, bitwise resume, Ctrl-C, NaN, and the fit checks.

Every run is seeded, single-threaded and small (LeNet-5 on 1,797 8×8 scans), so the whole
file takes seconds; the slow parts (a process killed mid-save, two gloo processes) are one
subprocess each.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import cnncalc  # noqa: E402
from cnncalc.train import checkpoint as checkpoints  # noqa: E402
from cnncalc.train.contract import CHECKPOINT_FORMAT  # noqa: E402
from cnncalc.train.imageset import DataError  # noqa: E402
from cnncalc.train.metrics import explain_text, metrics_from_confusion  # noqa: E402
from cnncalc.train.trainer import Trainer  # noqa: E402

from .conftest import ROOT  # noqa: E402

LENET = str(ROOT / "specs" / "lenet5.yaml")
QUICK = {"threads": 1, "seed": 0, "plots": False}
"""One thread: bitwise results that do not depend on the machine's cores, and no
oversubscription on a shared CI runner."""


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    """LeNet-5 trained once on the digits (5 epochs, ~1 s of training), shared by the tests."""
    runs = tmp_path_factory.mktemp("runs")
    return cnncalc.train(
        LENET, epochs=5, runs_dir=str(runs), quiet=True, **{**QUICK, "plots": True}
    )


def test_lenet5_learns_the_digits(lenet_run):
    # the bar: at least 95% validation accuracy in a seeded CI-sized run
    assert lenet_run.best_accuracy >= 0.95
    assert lenet_run.stopped == "completed"
    assert [row["epoch"] for row in lenet_run.history] == [1, 2, 3, 4, 5]
    assert lenet_run.metrics.total == 144  # 10% of the 1,438 non-test digits
    expected = {"best.pt", "last.pt", "config.yaml", "log.csv", "log.json", "curves.png",
                "confusion.png", "confusion_normalised.png", "metrics.json", "metrics.txt",
                "report.md", "report.html"}  # fmt: skip
    assert expected <= {path.name for path in lenet_run.run_dir.iterdir()}
    report = (lenet_run.run_dir / "report.md").read_text()
    assert "| parameters | 61,706 (trainable 61,706) | 61,706 in the built model |" in report
    assert "416,520" in report and "bitwise" in report
    csv_lines = (lenet_run.run_dir / "log.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,step,lr,train_loss") and len(csv_lines) == 6


def test_the_checkpoint_keeps_the_contract(lenet_run):
    state = torch.load(lenet_run.run_dir / "last.pt", weights_only=True)  # PyTorch's default
    assert state["format"] == CHECKPOINT_FORMAT
    assert state["spec"]["sha256"] == hashlib.sha256(state["spec"]["text"].encode()).hexdigest()
    assert state["input_shape"] == [1, 32, 32]
    assert state["classes"] == [str(digit) for digit in range(10)]
    assert len(state["normalisation"]["mean"]) == 1
    assert {"optimizer", "scaler", "position", "rng", "config", "versions"} <= set(state)
    loaded = cnncalc.load_checkpoint(lenet_run.run_dir)
    assert loaded.path.name == "best.pt"
    assert sum(p.numel() for p in loaded.model.parameters()) == 61706
    assert not loaded.model.training


def test_evaluate_matches_the_training_run(lenet_run):
    # evaluating the best checkpoint on validation gives exactly the best epoch's counts
    result = cnncalc.evaluate(lenet_run.run_dir, split="val", write=False)
    assert result.metrics.confusion == lenet_run.metrics.confusion
    test = cnncalc.evaluate(lenet_run.run_dir, output_dir=lenet_run.run_dir / "evaluated")
    assert test.split == "test" and test.metrics.total == 359
    assert (lenet_run.run_dir / "evaluated" / "confusion_normalised.png").stat().st_size > 1000


def test_predict_reads_image_files(lenet_run, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path / "four.png"
    index = list(digits.target).index(4)
    Image.fromarray((digits.images[index] * 255 / 16).round().astype("uint8")).save(path)
    (prediction,) = cnncalc.predict(lenet_run.run_dir, [path], top=3)
    assert prediction.top[0][0] == "4"
    assert len(prediction.top) == 3
    probabilities = [probability for _, probability in prediction.top]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-6


# -- metrics -----------------------------------------------------------------------------


def test_metrics_agree_with_scikit_learn():
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
        top_k_accuracy_score,
    )

    generator = torch.Generator().manual_seed(7)
    count = 7
    scores = torch.randn(500, count, generator=generator)
    truth = torch.randint(0, count, (500,), generator=generator)
    scores[:, 6] -= 10  # class 6 is never predicted: precision's zero division
    truth[truth == 5] = 4  # class 5 never occurs: recall's zero division
    predicted = scores.argmax(1)
    matrix = confusion_matrix(truth, predicted, labels=range(count))
    top5 = int((scores.topk(5, 1).indices == truth[:, None]).any(1).sum())
    metrics = metrics_from_confusion(matrix.tolist(), [f"c{i}" for i in range(count)], top5)
    assert metrics.accuracy == accuracy_score(truth, predicted)
    assert metrics.top5 == top_k_accuracy_score(truth, scores, k=5, labels=range(count))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=range(count), zero_division=0
    )
    for index, item in enumerate(metrics.per_class):
        assert (item.precision, item.recall, item.support) == (
            pytest.approx(precision[index]), pytest.approx(recall[index]), support[index]
        )  # fmt: skip
        assert item.f1 == pytest.approx(f1[index])
    for label in ("macro", "micro", "weighted"):
        reference = precision_recall_fscore_support(
            truth, predicted, labels=range(count), average=label, zero_division=0
        )
        average = metrics.average(label)
        assert (average.precision, average.recall, average.f1) == pytest.approx(reference[:3])


def test_explain_works_the_notes_example():
    # two classes, 'cat' with 87 right, 9 dogs called cats and 13 cats called dogs
    metrics = metrics_from_confusion([[87, 13], [9, 91]], ["cat", "dog"])
    text = explain_text(metrics)
    assert "precision(cat) = TP/(TP + FP) = 87/(87 + 9) = 0.906" in text
    assert "recall(cat) = TP/(TP + FN) = 87/(87 + 13) = 0.870" in text
    assert "accuracy = correct/total = 178/200 = 0.890" in text
    assert metrics.top5 is None  # only with more than five classes


# -- checkpoints -------------------------------------------------------------------------


def _weights(run_dir):
    return torch.load(run_dir / "last.pt", weights_only=True)["model"]


def _same(first, second):
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


RESUME = dict(fraction=0.4, batch=32, epochs=2, ema=0.9, augment="crop-flip", **QUICK)
"""Mid-epoch stops (17 steps an epoch), momentum, a cosine rate, EMA and the augmentation
generator: everything a resume must restore."""


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """24 steps without a stop (the second epoch stops at its 7th step)."""
    runs = tmp_path_factory.mktemp("whole")
    return cnncalc.train(LENET, max_steps=24, runs_dir=str(runs), quiet=True, **RESUME)


def test_resume_is_bitwise(tmp_path, whole):
    half = cnncalc.train(LENET, max_steps=12, runs_dir=str(tmp_path), name="half", quiet=True,
                         **RESUME)  # fmt: skip
    assert half.stopped == "max steps"
    resumed = cnncalc.train(resume=half.run_dir, max_steps=24, quiet=True)
    assert resumed.run_dir == half.run_dir
    assert _same(_weights(whole.run_dir), _weights(half.run_dir))
    ema = torch.load(half.run_dir / "last.pt", weights_only=True)["ema"]
    assert _same(torch.load(whole.run_dir / "last.pt", weights_only=True)["ema"], ema)
    assert _rows_match(resumed.history, whole.history)


def _rows_match(first, second):
    drop = ("images_per_second", "seconds")
    strip = [{k: v for k, v in row.items() if k not in drop} for row in first]
    return strip == [{k: v for k, v in row.items() if k not in drop} for row in second]


def test_ctrl_c_saves_and_resume_finishes_the_same(tmp_path, monkeypatch, whole):
    step = Trainer.optimizer_step

    def interrupted_step(self):
        step(self)
        if self.position.step == 11:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

    monkeypatch.setattr(Trainer, "optimizer_step", interrupted_step)
    stopped = cnncalc.train(LENET, max_steps=24, runs_dir=str(tmp_path), quiet=True, **RESUME)
    assert stopped.stopped == "interrupted"
    monkeypatch.undo()
    state = torch.load(stopped.run_dir / "last.pt", weights_only=True)
    # the signal came during step 12: that step finishes, then the run saves mid-epoch
    assert (state["position"]["step"], state["position"]["epoch"]) == (12, 0)
    finished = cnncalc.train(resume=stopped.run_dir, quiet=True)
    assert _same(_weights(whole.run_dir), _weights(finished.run_dir))
    assert _rows_match(finished.history, whole.history)


def test_a_nan_loss_stops_naming_the_step_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    first = cnncalc.train(LENET, runs_dir=str(tmp_path), quiet=True, **{**RESUME, "epochs": 1})
    saved = (first.run_dir / "last.pt").read_bytes()
    forward_backward = Trainer.forward_backward

    def poisoned(self, images, labels, sync):
        loss, logits = forward_backward(self, images, labels, sync)
        return (loss * math.nan if self.position.step == 20 else loss), logits

    monkeypatch.setattr(Trainer, "forward_backward", poisoned)
    with pytest.raises(cnncalc.CnncalcError, match=r"NaN or infinite at step 21 \(epoch 2\)"):
        cnncalc.train(resume=first.run_dir, epochs=3, quiet=True)
    assert (first.run_dir / "last.pt").read_bytes() == saved  # the last good checkpoint


KILLED_SAVE = textwrap.dedent(
    """
    import sys, torch
    from cnncalc.train.checkpoint import save_checkpoint
    path = sys.argv[1]
    save_checkpoint({"format": "old", "value": torch.zeros(4)}, path)
    print("saved", flush=True)
    big = {"format": "new", "value": torch.ones(64 * 2**20 // 4)}  # 64 MiB: a slow write
    print("saving", flush=True)
    while True:
        save_checkpoint(big, path)
    """
)


def _size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed in between
        return 0


def test_a_process_killed_while_saving_leaves_a_whole_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)],
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert process.stdout.readline().strip() == "saved"
        assert process.stdout.readline().strip() == "saving"
        temporaries = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until a write is under way, then kill it
            temporaries = [path for path in tmp_path.glob(".last.pt.*.tmp") if _size(path) > 0]
            if temporaries:
                break
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert temporaries, "the save never started"
    state = torch.load(path, weights_only=True)  # the old file or a complete new one
    assert state["format"] in ("old", "new")
    if state["format"] == "new":
        assert state["value"].numel() == 64 * 2**20 // 4
    checkpoints.remove_stale_temporaries(tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_truncated_checkpoint_is_refused(tmp_path, lenet_run):
    whole = (lenet_run.run_dir / "best.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(checkpoints.CheckpointError, match="not a readable checkpoint"):
        cnncalc.load_checkpoint(cut)


# -- fit checks --------------------------------------------------------------------------


def _spec(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_a_colour_spec_on_grey_digits_names_the_fix(tmp_path):
    spec = _spec(tmp_path, """
        input: [3, 16, 16]
        layers: [{conv: {filters: 4, kernel: 3}}, flatten, {linear: 10}]
    """)  # fmt: skip
    with pytest.raises(DataError, match=r"3-channel images but the train split has 1.*channels 3"):
        cnncalc.train(spec, runs_dir=str(tmp_path), quiet=True, **QUICK)
    result = cnncalc.train(spec, channels=3, fast_dev_run=True, quiet=True, **QUICK)
    assert result.stopped == "fast dev run" and result.run_dir is None
    assert result.metrics is not None and result.metrics.total == 144  # the validation pass


def test_a_head_of_the_wrong_size_names_the_fix(tmp_path):
    spec = _spec(tmp_path, """
        input: [1, 8, 8]
        layers: [flatten, {linear: 5}]
    """)  # fmt: skip
    with pytest.raises(DataError, match="head gives 5 outputs but the data has 10 classes"):
        cnncalc.train(spec, runs_dir=str(tmp_path), quiet=True, **QUICK)
    assert not (tmp_path / "spec").exists()  # nothing written before the check


def test_the_spec_train_section_is_read_and_overridden(tmp_path):
    spec = _spec(tmp_path, """
        input: [1, 8, 8]
        layers: [flatten, {linear: 10}]
        train: {optimizer: adam, epochs: 2, lr: 0.01}
    """)  # fmt: skip
    assert cnncalc.analyse_file(spec).totals.params == 650  # the analysis ignores train:
    result = cnncalc.train(spec, epochs=1, runs_dir=str(tmp_path), quiet=True, **QUICK)
    assert (result.config.optimizer, result.config.lr, result.config.epochs) == ("adam", 0.01, 1)
    config = (result.run_dir / "config.yaml").read_text()
    assert "optimizer: adam" in config and "epochs: 1" in config


def test_overfit_one_batch():
    result = cnncalc.train(LENET, overfit_batch=40, batch=16, lr=0.05, quiet=True, **QUICK)
    assert result.run_dir is None
    assert result.history[-1]["train_acc"] == 1.0


# -- schedules and stopping --------------------------------------------------------------


def _rates(config, steps_per_epoch):
    from cnncalc.train.optim import learning_rate

    total = config.epochs * steps_per_epoch
    return [learning_rate(config, step, steps_per_epoch) for step in range(total)]


def _torch_rates(scheduler_factory, total, lr):
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=lr)
    scheduler = scheduler_factory(optimizer)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_schedules_match_pytorchs_schedulers():
    from cnncalc.train.config import resolve_config

    lr_scheduler = torch.optim.lr_scheduler
    cosine, _ = resolve_config({}, {"schedule": "cosine", "epochs": 4, "lr": 0.1, "min_lr": 0.001})
    reference = _torch_rates(
        lambda o: lr_scheduler.CosineAnnealingLR(o, 40, eta_min=0.001), 40, 0.1
    )
    assert _rates(cosine, 10) == pytest.approx(reference)
    one_cycle, _ = resolve_config({}, {"schedule": "onecycle", "epochs": 4, "lr": 0.1})
    reference = _torch_rates(
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=40, anneal_strategy="cos"),
        40, 0.1,
    )  # fmt: skip
    assert _rates(one_cycle, 10) == pytest.approx(reference)
    step, _ = resolve_config({}, {"schedule": "step", "epochs": 6, "lr": 0.1, "step_size": 2})
    reference = _torch_rates(lambda o: lr_scheduler.StepLR(o, 20, gamma=0.1), 60, 0.1)
    assert _rates(step, 10) == pytest.approx(reference)
    # linear warm-up over 1.5 epochs of 4 steps: 6 steps reaching lr at the sixth
    warm, _ = resolve_config({}, {"schedule": "none", "epochs": 3, "lr": 0.6, "warmup_epochs": 1.5})
    assert _rates(warm, 4)[:7] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.6])


def test_plateau_lowers_the_rate_after_its_patience():
    from cnncalc.train.optim import Plateau

    plateau = Plateau()
    for accuracy in (0.5, 0.6, 0.6, 0.6, 0.55, 0.7):
        plateau.update(accuracy, higher_is_better=True, patience=2, gamma=0.1)
    # 0.6 is not beaten for three epochs (more than the patience of 2): one reduction
    assert plateau.scale == pytest.approx(0.1) and plateau.best == 0.7


def test_early_stop_ends_the_run(tmp_path):
    # a rate too small to change anything: validation accuracy never improves on epoch 1
    result = cnncalc.train(LENET, epochs=6, lr=1e-12, early_stop=2, fraction=0.2,
                           runs_dir=str(tmp_path), quiet=True, **QUICK)  # fmt: skip
    assert result.stopped.startswith("early stop") and len(result.history) == 3
    assert result.best_epoch == 1


def test_a_checkpoint_of_another_format_names_its_writer(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": "cnncalc-checkpoint/0", "versions": {"cnncalc": "0.0.9"}}, path)
    with pytest.raises(checkpoints.CheckpointError, match=r"written by cnncalc 0\.0\.9"):
        cnncalc.load_checkpoint(path)
    torch.save({"conv.weight": torch.zeros(1)}, path)  # a plain state_dict
    with pytest.raises(checkpoints.CheckpointError, match="not a cnncalc checkpoint"):
        cnncalc.load_checkpoint(path)


def test_a_time_budget_stops_with_a_checkpoint(tmp_path):
    result = cnncalc.train(LENET, time_budget=1e-6, fraction=0.2, runs_dir=str(tmp_path),
                           quiet=True, **QUICK)  # fmt: skip
    assert result.stopped == "time budget"
    state = torch.load(result.run_dir / "last.pt", weights_only=True)
    assert state["position"]["step"] == 1  # stopped after its first step, resumable there
