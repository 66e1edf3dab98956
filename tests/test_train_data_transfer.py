"""``cnncalc train`` wired to the dataset readers and to transfer learning, through the CLI:
synthetic files in the real formats (MNIST IDX, an ImageFolder tree), a fine-tune from a saved
``state_dict`` with a new head, frozen layers (weights and batchnorm statistics) unchanged."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("PIL")

from typer.testing import CliRunner  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.cli import app  # noqa: E402

from .test_datasets import write_mnist, write_png  # noqa: E402

QUICK = "--epochs 1 --threads 1 --no-plots"
GREY_SPEC = """input: [1, 28, 28]
layers:
  - conv2d: {filters: 4, kernel: 3, stride: 2}
  - relu
  - flatten
  - linear: 10
"""
FIVE_CLASS_SPEC = """input: [1, 8, 8]
layers:
  - conv2d: {filters: 4, kernel: 3, padding: 1}
  - batchnorm2d
  - relu
  - flatten
  - linear: 5
"""


def _run(folder: Path, monkeypatch, command: str):
    monkeypatch.chdir(folder)
    return CliRunner().invoke(app, shlex.split(command))


def _state(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def test_train_on_a_synthetic_mnist_idx_folder(tmp_path, monkeypatch):
    write_mnist(tmp_path / "mnist", train=40, test=10)
    (tmp_path / "grey.yaml").write_text(GREY_SPEC)
    result = _run(tmp_path, monkeypatch, f"train grey.yaml --data mnist --data-dir mnist {QUICK}")
    assert result.exit_code == 0, result.output
    # MNIST has no validation split: a seeded 10% of its training split
    assert "note: validation: 4 images (10% of the training split, seed 0)" in result.output
    assert "data mnist: 36 training / 4 validation images, 10 classes" in result.output
    state = _state(tmp_path / "runs" / "grey" / "last.pt")
    assert state["classes"] == [str(digit) for digit in range(10)]
    assert state["input_shape"] == [1, 28, 28]
    evaluated = _run(tmp_path, monkeypatch, "evaluate runs/grey")
    assert evaluated.exit_code == 0, evaluated.output
    assert "on the test split" in evaluated.output


def test_missing_mnist_files_name_them_and_the_download_command(tmp_path, monkeypatch):
    (tmp_path / "grey.yaml").write_text(GREY_SPEC)
    result = _run(tmp_path, monkeypatch, f"train grey.yaml --data mnist --data-dir empty {QUICK}")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "train-images-idx3-ubyte" in result.output and "t10k-labels-idx1-ubyte" in result.output
    assert "cnncalc train SPEC --data mnist --data-dir empty --download" in result.output
    assert not (tmp_path / "runs").exists()


def _colour_folder(root: Path) -> None:
    """train/ (cat, dog) and test/ splits of RGB PNGs of two sizes: --resize makes them fit."""
    rng = np.random.default_rng(4)
    for split, count in (("train", 12), ("test", 3)):
        for name in ("cat", "dog"):
            for index in range(count):
                size = (10, 12, 3) if index % 2 else (9, 7, 3)
                pixels = rng.integers(0, 256, size, dtype=np.uint8)
                write_png(root / split / name / f"{index}.png", pixels, "RGB")


def test_train_on_an_image_folder_with_resize_and_colour_augmentation(tmp_path, monkeypatch):
    _colour_folder(tmp_path / "pets")
    (tmp_path / "colour.yaml").write_text(
        "input: [3, 8, 8]\nlayers: [{conv2d: {filters: 2, kernel: 3}}, flatten, {linear: 2}]\n"
    )
    mixed = _run(tmp_path, monkeypatch, f"train colour.yaml --data pets {QUICK}")
    assert mixed.exit_code == 2 and "cnncalc train --resize" in mixed.output
    result = _run(tmp_path, monkeypatch, f"train colour.yaml --data pets --resize {QUICK}")
    assert result.exit_code == 0, result.output
    assert "data pets: 22 training / 2 validation images, 2 classes" in result.output
    state = _state(tmp_path / "runs" / "colour" / "last.pt")
    assert state["classes"] == ["cat", "dog"]
    assert len(state["normalisation"]["mean"]) == 3  # measured on the training split
    assert state["config"]["augment"] == "auto"  # crop and flip: colour images
    from cnncalc.train.config import config_from_dict
    from cnncalc.train.data import augmentation_for

    assert augmentation_for(config_from_dict(state["config"]), 3) == "crop-flip"


def test_a_grey_spec_on_colour_data_says_which_flag_fits(tmp_path, monkeypatch):
    _colour_folder(tmp_path / "pets")
    (tmp_path / "grey.yaml").write_text(GREY_SPEC)
    result = _run(tmp_path, monkeypatch, f"train grey.yaml --data pets --resize {QUICK}")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "the spec takes 1-channel images but the train split has 3" in result.output
    assert "--channels 1 (converts to grey)" in result.output


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory):
    """A 5-class model's state_dict (its batchnorm statistics moved off their defaults),
    fine-tuned on the 10 digits with a new head, conv1 and bn1 frozen, the backbone at 0.1×."""
    folder = tmp_path_factory.mktemp("transfer")
    (folder / "five.yaml").write_text(FIVE_CLASS_SPEC)
    torch.manual_seed(3)
    model = cnncalc.build(str(folder / "five.yaml"))
    model.train()
    model(torch.randn(32, 1, 8, 8) * 2 + 1)  # running statistics that training would move
    torch.save(model.state_dict(), folder / "five.pt")
    command = (
        "train five.yaml --weights five.pt --new-head --freeze conv1 --freeze bn1 "
        f"--backbone-lr-scale 0.1 --fraction 0.2 --name tuned {QUICK}"
    )
    runner = CliRunner()
    with _chdir(folder):
        result = runner.invoke(app, shlex.split(command))
    return folder, result


class _chdir:
    def __init__(self, folder: Path) -> None:
        self.folder, self.previous = folder, Path.cwd()

    def __enter__(self) -> None:
        import os

        os.chdir(self.folder)

    def __exit__(self, *exc: object) -> None:
        import os

        os.chdir(self.previous)


def test_fine_tune_prints_the_head_weights_and_freeze_reports(fine_tuned):
    _, result = fine_tuned
    assert result.exit_code == 0, result.output
    output = result.output
    assert "new head: fc1 256 → 10 outputs (was 5): 2,570 parameters" in output
    assert "loaded       7 of 9 model entries" in output
    assert "fc1.weight: model 10×256, file 5×256" in output
    # conv1 4·1·3·3 + 4 = 40, bn1 2·4 = 8 frozen; the head 256·10 + 10 = 2,570 trainable
    assert "total   2,618      48      2,570" in output
    assert "five: 2,618 parameters (2,570 trainable)" in output


def test_frozen_weights_and_batchnorm_statistics_are_unchanged(fine_tuned):
    folder, result = fine_tuned
    assert result.exit_code == 0, result.output
    before = torch.load(folder / "five.pt", weights_only=True)
    after = _state(folder / "runs" / "tuned" / "last.pt")["model"]
    for name in ("conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
                 "bn1.running_var", "bn1.num_batches_tracked"):  # fmt: skip
        assert torch.equal(after[name], before[name]), name
    assert after["fc1.weight"].shape == (10, 256)


def test_unfrozen_batchnorm_statistics_do_move(tmp_path):
    """The control for the test above: without --freeze the same run changes bn1's statistics."""
    (tmp_path / "five.yaml").write_text(FIVE_CLASS_SPEC.replace("linear: 5", "linear: 10"))
    result = cnncalc.train(str(tmp_path / "five.yaml"), epochs=1, threads=1, fraction=0.1,
                           plots=False, quiet=True, runs_dir=str(tmp_path / "runs"))  # fmt: skip
    after = _state(result.run_dir / "last.pt")["model"]
    assert not torch.equal(after["bn1.running_mean"], torch.zeros(4))


def test_the_backbone_learns_at_the_scaled_rate(fine_tuned):
    folder, _ = fine_tuned
    groups = _state(folder / "runs" / "tuned" / "last.pt")["optimizer"]["param_groups"]
    rates = {group["name"]: group["lr"] for group in groups}
    # conv1 and bn1 are frozen: no backbone parameter needs an optimizer group
    assert set(rates) == {"head"}


def test_evaluate_and_predict_rebuild_the_new_head_from_the_checkpoint(fine_tuned, monkeypatch):
    folder, _ = fine_tuned
    state = _state(folder / "runs" / "tuned" / "best.pt")
    assert "linear: 10" in state["spec"]["text"]
    (folder / "five.yaml").unlink()  # the checkpoint alone is enough
    result = _run(folder, monkeypatch, "evaluate runs/tuned")
    assert result.exit_code == 0, result.output
    assert "accuracy (top-1)" in result.output
    assert "/359)" in result.output  # the digits' whole test split, 10 classes
    (folder / "five.yaml").write_text(FIVE_CLASS_SPEC)


def test_backbone_rate_scale_makes_two_groups(tmp_path):
    (tmp_path / "ten.yaml").write_text(FIVE_CLASS_SPEC.replace("linear: 5", "linear: 10"))
    result = cnncalc.train(str(tmp_path / "ten.yaml"), epochs=1, threads=1, fraction=0.1,
                           plots=False, quiet=True, runs_dir=str(tmp_path / "runs"),
                           backbone_lr_scale=0.1, schedule="none", lr=0.02)  # fmt: skip
    groups = _state(result.run_dir / "last.pt")["optimizer"]["param_groups"]
    rates = {group["name"]: group["lr"] for group in groups}
    assert rates == pytest.approx({"backbone": 0.002, "head": 0.02})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("", "give --new-head to replace the final linear layer with one of 10 outputs"),
        ("--new-head --classes 7", "--classes 7: the data 'digits' has 10 classes"),
        ("--backbone-lr-scale 0", "freeze it instead"),
        ("--new-head --freeze-up-to nothing", "nothing"),
        ("--new-head --weights missing.pt", "missing.pt"),
    ],
)
def test_transfer_mistakes_are_one_message_and_exit_2(arguments, message, tmp_path, monkeypatch):
    (tmp_path / "five.yaml").write_text(FIVE_CLASS_SPEC)
    result = _run(tmp_path, monkeypatch, f"train five.yaml {arguments} {QUICK}")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("new_head", [True, False])
def test_a_new_head_of_the_same_size_ignores_the_files_head(new_head, tmp_path, monkeypatch):
    """10 classes before and after (as ImageNet-subset weights fine-tuned on CIFAR-10): with
    --new-head the head starts afresh; without it, from the file (the head frozen to see)."""
    (tmp_path / "ten.yaml").write_text(FIVE_CLASS_SPEC.replace("linear: 5", "linear: 10"))
    torch.manual_seed(5)
    saved = cnncalc.build(str(tmp_path / "ten.yaml")).state_dict()
    torch.save(saved, tmp_path / "ten.pt")
    flag = "--new-head" if new_head else ""
    command = f"train ten.yaml --weights ten.pt {flag} --freeze fc1 --fraction 0.1 {QUICK}"
    result = _run(tmp_path, monkeypatch, command)
    assert result.exit_code == 0, result.output
    assert ("fc1 initialised afresh" in result.output) is new_head
    after = _state(tmp_path / "runs" / "ten" / "last.pt")["model"]
    assert torch.equal(after["fc1.weight"], saved["fc1.weight"]) is not new_head


def test_a_fine_tuned_run_resumes_with_its_head_and_frozen_layers(fine_tuned, monkeypatch):
    folder, _ = fine_tuned
    result = _run(folder, monkeypatch, "train --resume runs/tuned --epochs 2 --threads 1")
    assert result.exit_code == 0, result.output
    assert "epoch   2/2" in result.output and "new head" not in result.output
    before = torch.load(folder / "five.pt", weights_only=True)
    after = _state(folder / "runs" / "tuned" / "last.pt")["model"]
    assert torch.equal(after["bn1.running_mean"], before["bn1.running_mean"])
    assert torch.equal(after["conv1.weight"], before["conv1.weight"])
