"""``cnncalc visualise`` through typer's CliRunner: files written, JSON, and bad input
(one clear message, exit status 2, no traceback)."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

from .conftest import ROOT

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

LENET = str(ROOT / "specs" / "lenet5.yaml")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def invoke(*arguments):
    return CliRunner().invoke(app, ["visualise", *map(str, arguments)])


def digit_file(tmp_path, name="digit.png", mode="L"):
    from PIL import Image

    image = Image.new(mode, (28, 28), 0 if mode == "L" else (0, 0, 0))
    for row in range(6, 22):
        image.putpixel((14, row), 255 if mode == "L" else (255, 255, 255))
    path = tmp_path / name
    image.save(path)
    return path


@pytest.mark.parametrize(
    "method, extra",
    [
        ("grad-cam", ["-n", "2"]),
        ("occlusion", ["-n", "1", "--patch", "8", "--stride", "4"]),
        ("filters", ["-l", "c1"]),
        ("activations", ["-l", "c3", "-n", "2"]),
        ("saliency", ["-n", "1", "--sanity"]),
    ],
)
def test_png_is_written(tmp_path, method, extra):
    output = tmp_path / f"{method}.png"
    result = invoke(method, LENET, *extra, "-o", output)
    assert result.exit_code == 0, result.output
    assert f"wrote {output}" in result.output
    content = output.read_bytes()
    assert content.startswith(PNG_SIGNATURE) and len(content) > 5_000


def test_the_command_lists_every_method_without_loading_the_library():
    import subprocess
    import sys

    from cnncalc import visualise
    from cnncalc.cli import visualise as command

    assert command.METHODS == visualise.METHODS
    assert set(visualise.ATTRIBUTION_METHODS) < set(command.METHODS)
    check = (
        "import sys, cnncalc.cli.application; "
        "print(any(name.startswith('cnncalc.visualise') for name in sys.modules))"
    )
    started = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert started.stdout.strip() == "False", started.stderr


def test_png_into_a_directory_and_from_image_files(tmp_path):
    image = digit_file(tmp_path)
    result = invoke("guided-backprop", LENET, image, image, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "guided-backprop.png").read_bytes().startswith(PNG_SIGNATURE)
    assert f"{image}: predicted" in result.output


def test_gallery_is_one_self_contained_html_page(tmp_path):
    output = tmp_path / "gallery.html"
    images = [digit_file(tmp_path, "a.png"), digit_file(tmp_path, "b.png")]
    result = invoke("gallery", LENET, *images, "-o", output)
    assert result.exit_code == 0, result.output
    page = output.read_text(encoding="utf-8")
    for heading in ("filters of c1", "activations of c1", "saliency", "guided-backprop",
                    "grad-cam", "guided-grad-cam", "occlusion", "deconvnet"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in page
    assert page.count('src="data:image/png;base64,') == 8  # the deconvnet: refused, said why
    assert "no reverse for tanh1 (tanh)" in page
    assert "http" not in page.replace("https://", "")  # nothing fetched from elsewhere


def test_json_has_summary_statistics():
    result = invoke("occlusion", LENET, "-n", "2", "--patch", "8", "--stride", "8", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["method"] == "occlusion" and data["settings"]["positions"] == [4, 4]
    first = data["images"][0]
    assert first["target"] == "0" and first["attributions"]["shape"] == [4, 4]
    assert set(first["map"]) >= {"min", "max", "mean", "std", "argmax"}
    assert abs(sum(first["probabilities"]) - 1) < 1e-4


def test_sanity_json_lists_every_step():
    result = invoke("grad-cam", LENET, "-n", "1", "--sanity", "-f", "json")
    assert result.exit_code == 0, result.output
    steps = json.loads(result.output)["steps"]
    assert [step["randomised_down_to"] for step in steps] == ["output", "f6", "c5", "c3", "c1"]


def test_the_default_grad_cam_layer_is_shown():
    result = invoke("grad-cam", LENET, "-n", "1", "-f", "text")
    assert result.exit_code == 0, result.output
    assert "Grad-CAM at s4 (16×5×5)" in result.output
    assert "digits[0] (a 0): predicted" in result.output


def checkpoint_of(tmp_path, spec):
    import torch

    from cnncalc.visualise import load_source

    with open(spec, encoding="utf-8") as handle:
        text = handle.read()
    path = tmp_path / "model.pt"
    torch.save(
        {
            "format": "cnncalc-checkpoint/1",
            "spec": {
                "text": text,
                "name": "LeNet-5",
                "path": spec,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
            },
            "input_shape": [1, 32, 32],
            "classes": [str(digit) for digit in range(10)],
            "normalisation": {"mean": [0.1], "std": [0.3]},
            "model": load_source(spec).model.state_dict(),
        },
        path,
    )
    return path


def test_a_checkpoint_is_explained(tmp_path):
    checkpoint = checkpoint_of(tmp_path, LENET)
    result = invoke("saliency", checkpoint, "--spec", LENET, "-n", "1", "-f", "text")
    assert result.exit_code == 0, result.output


BAD_INPUT = [
    (["grad-cam", LENET, "-l", "c33"], "no layer 'c33' in", "did you mean 'c3'?"),
    (["grad-cam", LENET, "-l", "f6"], "grad-cam needs a layer with a spatial output", "'s4'"),
    (["filters", LENET], "filters needs --layer", "--layer c1"),
    (["filters", LENET, "-l", "s2"], "'s2' is a avgpool layer", "conv layers: c1, c3, c5"),
    (["saliency", LENET, "-t", "cat"], "--target 'cat' is not a class", "0…9"),
    (["saliency", LENET, "-o", "x.pdf"], "png is written to a .png file", "x.png"),
    (["saliency", LENET, "-l", "c1"], "saliency explains the input pixels", "no --layer"),
    (["deconvnet", LENET], "deconvnet cannot be done honestly", "tanh1 (tanh)"),
    (["saliency", "missing.yaml"], "missing.yaml: no such file", "checkpoint"),
]


@pytest.mark.parametrize(
    "arguments, message, hint",
    BAD_INPUT,
    ids=[f"{a[0][0]}-{i}" for i, (a, _, _) in enumerate(BAD_INPUT)],
)
def test_bad_input_is_one_message_and_status_2(arguments, message, hint):
    result = invoke(*arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output and hint in result.output
    assert "Traceback" not in result.output


def test_bad_images_and_checkpoints(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really")
    result = invoke("saliency", LENET, broken)
    assert result.exit_code == 2 and "broken.jpg: not an image Pillow can read" in result.output
    colour = digit_file(tmp_path, "colour.png", mode="RGB")
    result = invoke("saliency", LENET, colour)
    assert result.exit_code == 2
    assert "a RGB image (3 channels) but the model takes 1 channel" in result.output
    checkpoint = checkpoint_of(tmp_path, LENET)
    result = invoke("saliency", checkpoint, "--spec", ROOT / "specs" / "mnist_cnn.yaml")
    assert result.exit_code == 2 and "was trained from another spec" in result.output
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    result = invoke("saliency", junk)
    assert result.exit_code == 2 and "not a spec (.yaml) nor a checkpoint" in result.output


# --- the gallery of a whole run ----------------------------------------------------------

TINY_DIGITS = """\
name: tiny digits net
input: [1, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1, name: conv}
  - relu
  - maxpool: {kernel: 2, name: pool}
  - flatten
  - linear: {features: 10, name: fc}
"""
RUN_SECTIONS = (
    *("activations of conv", "activations of pool", "saliency", "guided-backprop"),
    *("grad-cam", "guided-grad-cam", "occlusion", "deconvnet"),
)


def test_gallery_of_a_whole_run(tmp_path, monkeypatch):
    """A seeded one-epoch digits run: its validation split is rebuilt exactly (the model's
    accuracy on it is the run's), and the page has every method for every class."""
    import re

    import torch

    import cnncalc
    from cnncalc.visualise import load_source, validation_batches
    from cnncalc.visualise.images import normalised

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY_DIGITS, encoding="utf-8")
    run = cnncalc.train("tiny.yaml", epochs=1, threads=1, seed=0, plots=False, quiet=True)
    source = load_source(tmp_path / "runs" / "tiny")
    batches, _ = validation_batches(source, 10_000)
    right = sum(
        int((source.model(normalised(source, batch)).argmax(1) == torch.tensor(batch.labels)).sum())
        for _, batch in batches
    )
    assert right / sum(len(batch) for _, batch in batches) == pytest.approx(run.best_accuracy)

    result = invoke("gallery", "runs/tiny", "--per-class", "1", "-o", "run.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "run.html").read_text(encoding="utf-8")
    classes = [str(digit) for digit in range(10)]
    assert page.count("<figure>") == 1 + len(classes) * len(RUN_SECTIONS)
    assert page.count('src="data:image/png;base64,') == page.count("<figure>")  # all inline
    assert 'src="http' not in page and "<link" not in page and "<script" not in page
    for name in classes:
        for section in RUN_SECTIONS:
            assert page.count(f"<h2>{section} — class {name}</h2>") == 1
    verdicts = re.findall(
        r"val\[(\d+)\] \(true (\d)\): predicted (\d) \(p=[^)]*\), true (\d)", page
    )
    assert sorted({true for _, true, _, _ in verdicts}) == classes
    first = {name: batch for name, batch in validation_batches(source, 1)[0]}
    for _, true, predicted, again in verdicts:
        assert true == again
        scores = source.model(normalised(source, first[true]))
        assert predicted == source.classes[int(scores.argmax(1)[0])]


def test_gallery_of_an_empty_run_folder(tmp_path):
    (tmp_path / "runs" / "empty").mkdir(parents=True)
    result = invoke("gallery", tmp_path / "runs" / "empty")
    assert result.exit_code == 2 and "has no best.pt or last.pt" in result.output
    assert "Traceback" not in result.output
