"""cnncalc.visualise: agreement with Captum, hand-worked maps, layer names as in summary,
the user's model left untouched, and bad input."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

from cnncalc.visualise import (  # noqa: E402
    Batch,
    VisualiseError,
    activations,
    deconvnet,
    digit_samples,
    filters,
    grad_cam,
    guided_backprop,
    guided_grad_cam,
    last_spatial_layer,
    load_images,
    load_source,
    occlusion,
    resolve_layer,
    saliency,
    sanity_check,
)
from cnncalc.visualise.images import normalised  # noqa: E402

from .conftest import ROOT  # noqa: E402

LENET = ROOT / "specs" / "lenet5.yaml"

SMALL_RELU = """\
name: small relu net
input: [3, 16, 16]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1, name: conv1}
  - batchnorm: {name: bn1}
  - relu
  - maxpool: {kernel: 2, name: pool1}
  - conv: {filters: 6, kernel: 3, name: conv2}
  - relu
  - flatten
  - linear: {features: 5, name: fc}
"""

RESIDUAL = """\
name: small residual net
input: [3, 12, 12]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1, name: stem}
  - relu
  - residual:
      body:
        - conv: {filters: 4, kernel: 3, padding: 1, name: conv}
        - relu
        - conv: {filters: 4, kernel: 3, padding: 1, name: conv2}
      shortcut: identity
  - relu: {name: after}
  - global_avgpool
  - flatten
  - linear: {features: 3, name: fc}
"""

ONE_CONV = """\
name: one conv
input: [1, 3, 3]
layers:
  - conv: {filters: 2, kernel: 3, bias: false, name: conv}
  - flatten
"""


def write_spec(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def random_batch(source, count, seed=0):
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.rand((count, *source.input_shape), generator=generator)
    names = tuple(f"random {index}" for index in range(count))
    return Batch(pixels.numpy(), (None,) * count, names)


@pytest.fixture(scope="module")
def lenet():
    return load_source(LENET)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = write_spec(tmp_path_factory.mktemp("small"), SMALL_RELU)
    source = load_source(path, seed=3)
    # trained-looking batchnorm statistics, so eval mode is not the identity
    with torch.no_grad():
        source.model.bn1.running_mean.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
        source.model.bn1.running_var.copy_(torch.tensor([0.5, 2.0, 1.5, 1.0]))
    return source


def captum_model(source):
    """The same network as Captum sees it: a plain copy in eval mode."""
    import copy

    return copy.deepcopy(source.model).eval()


def inputs_of(source, batch):
    return normalised(source, batch).requires_grad_(True)


# --- agreement with Captum ---------------------------------------------------------------


@pytest.mark.parametrize("which", ["lenet", "small"])
def test_saliency_agrees_with_captum(which, request):
    source = request.getfixturevalue(which)
    batch = random_batch(source, 3)
    ours = saliency(source, batch, target=1)
    theirs = captum_attr.Saliency(captum_model(source)).attribute(
        inputs_of(source, batch), target=1
    )
    np.testing.assert_allclose(ours.attributions, theirs.detach().numpy(), rtol=1e-5, atol=1e-7)
    assert ours.maps.shape == (3, *source.input_shape[1:])


def test_guided_backprop_agrees_with_captum_on_a_batch(small):
    batch = random_batch(small, 4)
    ours = guided_backprop(small, batch, target=2)
    theirs = captum_attr.GuidedBackprop(captum_model(small)).attribute(
        inputs_of(small, batch), target=2
    )
    np.testing.assert_allclose(ours.attributions, theirs.detach().numpy(), rtol=1e-5, atol=1e-7)
    plain = saliency(small, batch, target=2)
    assert not np.allclose(np.abs(ours.attributions), plain.attributions)  # the rule mattered


def test_deconvnet_agrees_with_captum(small):
    batch = random_batch(small, 2)
    ours = deconvnet(small, batch, target=0)
    theirs = captum_attr.Deconvolution(captum_model(small)).attribute(
        inputs_of(small, batch), target=0
    )
    np.testing.assert_allclose(ours.attributions, theirs.detach().numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("layer", ["conv1", "pool1", "conv2"])
def test_grad_cam_agrees_with_captum(small, layer):
    batch = random_batch(small, 3)
    ours = grad_cam(small, batch, layer=layer, target=4)
    model = captum_model(small)
    theirs = captum_attr.LayerGradCam(model, model.get_submodule(layer)).attribute(
        inputs_of(small, batch), target=4, relu_attributions=True
    )
    np.testing.assert_allclose(ours.attributions, theirs.detach().numpy(), rtol=1e-5, atol=1e-7)
    upsampled = captum_attr.LayerAttribution.interpolate(theirs, (16, 16), "bilinear")
    np.testing.assert_allclose(ours.maps, upsampled[:, 0].detach().numpy(), rtol=1e-5, atol=1e-7)


def test_grad_cam_on_an_inline_add_agrees_with_captum(tmp_path):
    """A residual add is no module: it is seen through the builder's recorder. Captum sees
    the same tensor as the input of the ReLU after it."""
    source = load_source(write_spec(tmp_path, RESIDUAL), seed=1)
    batch = random_batch(source, 2)
    ours = grad_cam(source, batch, layer="residual1.add", target=1)
    model = captum_model(source)
    theirs = captum_attr.LayerGradCam(model, model.after).attribute(
        inputs_of(source, batch), target=1, relu_attributions=True, attribute_to_layer_input=True
    )
    np.testing.assert_allclose(ours.attributions, theirs.detach().numpy(), rtol=1e-5, atol=1e-7)


def test_guided_grad_cam_agrees_with_captum(small):
    batch = random_batch(small, 2)
    ours = guided_grad_cam(small, batch, layer="conv2", target=3)
    model = captum_model(small)
    theirs = captum_attr.GuidedGradCam(model, model.conv2).attribute(
        inputs_of(small, batch), target=3, interpolate_mode="bilinear"
    )
    np.testing.assert_allclose(ours.attributions, theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("which, patch, stride", [("lenet", 6, 3), ("small", 4, 3)])
def test_occlusion_agrees_with_captum(which, patch, stride, request):
    source = request.getfixturevalue(which)
    batch = random_batch(source, 2)
    ours = occlusion(source, batch, target=1, patch=patch, stride=stride, batch_size=7)
    model = captum_model(source)
    channels = source.input_shape[0]
    theirs = captum_attr.Occlusion(lambda x: model(x).softmax(dim=1)).attribute(
        normalised(source, batch),
        sliding_window_shapes=(channels, patch, patch),
        strides=(channels, stride, stride),
        baselines=0.0,
        target=1,
        perturbations_per_eval=16,
    )
    theirs = theirs.detach().numpy()[:, 0]  # the same value in every channel
    np.testing.assert_allclose(ours.maps, theirs, rtol=1e-4, atol=1e-7)
    # ⌈(32 − 6)/3⌉ + 1 = 10 (the last patch clipped at the edge), ⌈(16 − 4)/3⌉ + 1 = 5
    side = 10 if which == "lenet" else 5
    assert ours.attributions.shape == (2, side, side)


# --- hand-worked cases -------------------------------------------------------------------

W0 = [[1.0, 2.0, 3.0], [4.0, 5.0, -6.0], [7.0, -8.0, 9.0]]


@pytest.fixture()
def one_conv(tmp_path):
    """logit0 = Σ w0·x, logit1 = 0: the saliency of class 0 is |w0|, and occluding pixel
    (i, j) of an image x changes p0 from σ(Σ w0·x) to σ(Σ w0·x − w0_ij·x_ij)."""
    source = load_source(write_spec(tmp_path, ONE_CONV))
    with torch.no_grad():
        source.model.conv.weight.zero_()
        source.model.conv.weight[0, 0] = torch.tensor(W0)
    return source


def test_saliency_of_one_conv_is_its_kernel(one_conv):
    batch = Batch(np.full((1, 1, 3, 3), 0.1, dtype=np.float32), (None,), ("grey",))
    result = saliency(one_conv, batch, target=0)
    np.testing.assert_allclose(result.maps[0], np.abs(W0), rtol=1e-6)


def test_occlusion_of_one_conv_by_hand(one_conv):
    batch = Batch(np.full((1, 1, 3, 3), 0.1, dtype=np.float32), (None,), ("grey",))
    result = occlusion(one_conv, batch, target=0, patch=1, stride=1)
    logit = 0.1 * sum(sum(row) for row in W0)  # 1.7
    sigmoid = lambda value: 1 / (1 + math.exp(-value))  # noqa: E731  p0 of two logits (v, 0)
    expected_grid = [[sigmoid(logit - 0.1 * w) for w in row] for row in W0]
    np.testing.assert_allclose(result.attributions[0], expected_grid, rtol=1e-5)
    expected_drop = [[sigmoid(logit) - p for p in row] for row in expected_grid]
    np.testing.assert_allclose(result.maps[0], expected_drop, rtol=1e-4, atol=1e-7)
    assert result.settings["positions"] == [3, 3]


def test_occlusion_patches_are_batched_one_forward_per_chunk(lenet):
    calls = []
    batch = random_batch(lenet, 2)
    result = occlusion(
        lenet, batch, patch=8, stride=4, batch_size=20, progress=lambda d, t: calls.append((d, t))
    )
    positions = 7 * 7 * 2  # ⌈(32 − 8)/4⌉ + 1 = 7 per axis, two images
    assert calls[-1] == (positions, positions)
    assert len(calls) == math.ceil(positions / 20)
    assert result.attributions.shape == (2, 7, 7)


def test_occlusion_default_window_is_a_receptive_field(lenet):
    result = occlusion(lenet, random_batch(lenet, 1))
    # the field closest to 32/4 = 8: s2's 6×6, its neurons 2 apart (cnncalc summary's RF)
    assert (result.settings["patch"], result.settings["stride"]) == (6, 2)
    assert "s2" in result.settings["why"]
    chosen = occlusion(lenet, random_batch(lenet, 1), layer="c3")
    assert (chosen.settings["patch"], chosen.settings["stride"]) == (14, 2)


# --- layers, filters, activations --------------------------------------------------------


def summary_paths(spec, input_text=None):
    from typer.testing import CliRunner

    from cnncalc.cli import app

    arguments = ["summary", str(spec), "--format", "json"]
    result = CliRunner().invoke(app, arguments + (["--input", input_text] if input_text else []))
    return [layer["path"] for layer in json.loads(result.output)["layers"]]


@pytest.mark.parametrize("spec", ["lenet5.yaml", "resnet18.yaml"])
def test_every_name_summary_prints_resolves(spec):
    analysis = load_source(ROOT / "specs" / spec).analysis
    paths = summary_paths(ROOT / "specs" / spec)
    assert [resolve_layer(analysis, path).path for path in paths] == paths


def test_activations_of_every_layer_summary_names(tmp_path):
    """Every name summary prints, modules and inline adds alike, yields its output, of the
    shape summary prints."""
    spec = write_spec(tmp_path, RESIDUAL)
    source = load_source(spec)
    batch = random_batch(source, 2)
    rows = {row.path: row for row in source.analysis.layers}
    for path in summary_paths(spec):
        result = activations(source, batch, path)
        shape = rows[path].output_shape
        expected = (2, *shape) if len(shape) == 3 else (2, 1, 1, *shape)
        assert result.maps.shape == expected, path
    assert "receptive field 7×7" in activations(source, batch, "residual1.add").caption


def test_unknown_layer_suggests_the_closest_names(lenet):
    with pytest.raises(VisualiseError) as error:
        resolve_layer(lenet.analysis, "c33")
    assert "no layer 'c33'" in str(error.value) and "did you mean 'c3'?" in str(error.value)


def test_grad_cam_default_and_non_spatial_layer(lenet):
    assert last_spatial_layer(lenet.analysis).path == "s4"  # c5 is 120×1×1
    with pytest.raises(VisualiseError, match="'f6' \\(linear\\) outputs a vector of 84"):
        grad_cam(lenet, random_batch(lenet, 1), layer="f6")


def test_filters_colour_average_and_channels(tmp_path, lenet, small):
    colour = filters(small, "conv1")
    assert colour.mode == "colour" and colour.tiles.shape == (4, 3, 3, 3)
    average = filters(lenet, "c3")
    assert average.mode == "average" and average.tiles.shape == (16, 5, 5)
    np.testing.assert_allclose(average.weights, lenet.model.c3.weight.detach().numpy())
    assert "averaged over the 6 input channels" in average.caption
    per_channel = filters(lenet, "c3", mode="channels")
    assert per_channel.tiles.shape == (96, 5, 5) and per_channel.columns == 6
    with pytest.raises(VisualiseError, match="'s2' is a avgpool layer"):
        filters(lenet, "s2")


def test_activations_caption_has_shape_and_field(lenet):
    result = activations(lenet, digit_samples(lenet, 2), "c3")
    assert result.maps.shape == (2, 16, 10, 10)
    assert result.caption == "c3 (conv): output 16×10×10, receptive field 14×14 pixels, 2×2 apart"


# --- the user's model is never changed ---------------------------------------------------


def test_methods_leave_the_model_untouched(small):
    before = {name: value.clone() for name, value in small.model.state_dict().items()}
    kinds = [type(module) for module in small.model.modules()]
    batch = random_batch(small, 2)
    for method in (saliency, guided_backprop, grad_cam, guided_grad_cam, deconvnet, occlusion):
        method(small, batch)
    activations(small, batch, "conv2")
    sanity_check(saliency, small, batch)
    after = small.model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert [type(module) for module in small.model.modules()] == kinds
    assert all(not module._forward_hooks for module in small.model.modules())
    assert small.model.recorder is None and not small.model.training
    assert all(parameter.requires_grad for parameter in small.model.parameters())


# --- sanity check ------------------------------------------------------------------------


def test_sanity_check_randomises_from_the_top_cascading(small):
    report = sanity_check(grad_cam, small, random_batch(small, 2), layer="conv2")
    assert [step.layer for step in report.steps] == ["fc", "conv2", "bn1", "conv1"]
    # randomising fc changes the class weights: the map can no longer be the original
    assert report.steps[0].spearman < 0.999
    assert all(-1.0 <= step.ssim <= 1.0 for step in report.steps)


def test_sanity_similarity_of_a_map_with_itself_is_one():
    from cnncalc.visualise.sanity import similarity

    maps = np.random.default_rng(0).random((2, 8, 8))
    spearman, ssim = similarity(maps, maps)
    assert spearman == pytest.approx(1.0) and ssim == pytest.approx(1.0)
    spearman, _ = similarity(maps, -maps)  # |map|: a sign flip is the same explanation
    assert spearman == pytest.approx(1.0)


# --- sources and images ------------------------------------------------------------------


def make_checkpoint(tmp_path, spec_path, source, classes=None):
    text = spec_path.read_text(encoding="utf-8")
    checkpoint = {
        "format": "cnncalc-checkpoint/1",
        "versions": {"cnncalc": "0.1.0", "torch": str(torch.__version__), "python": "3"},
        "spec": {
            "text": text,
            "name": "LeNet-5",
            "path": str(spec_path),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        },
        "input_shape": list(source.input_shape),
        "classes": classes or [f"digit {index}" for index in range(10)],
        "normalisation": {"mean": [0.25], "std": [0.5]},
        "model": source.model.state_dict(),
    }
    path = tmp_path / "lenet.pt"
    torch.save(checkpoint, path)
    return path


def test_checkpoint_rebuilds_the_trained_model(tmp_path):
    fresh = load_source(LENET, seed=7)
    path = make_checkpoint(tmp_path, LENET, fresh)
    loaded = load_source(path)
    assert loaded.trained and loaded.classes[3] == "digit 3"
    assert loaded.normalisation.mean == (0.25,) and loaded.normalisation.std == (0.5,)
    for name, value in fresh.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], value)
    batch = digit_samples(loaded, 2)
    expected = (torch.as_tensor(batch.pixels) - 0.25) / 0.5
    assert torch.allclose(normalised(loaded, batch), expected)
    assert load_source(path, spec=LENET).trained  # the same spec beside it is accepted


def test_checkpoint_of_another_spec_is_refused(tmp_path):
    path = make_checkpoint(tmp_path, LENET, load_source(LENET))
    with pytest.raises(VisualiseError, match="was trained from another spec"):
        load_source(path, spec=ROOT / "specs" / "mnist_cnn.yaml")


def test_checkpoint_with_an_edited_spec_is_refused(tmp_path):
    path = make_checkpoint(tmp_path, LENET, load_source(LENET))
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["spec"]["text"] = checkpoint["spec"]["text"].replace("filters: 6", "filters: 7")
    torch.save(checkpoint, path)
    with pytest.raises(VisualiseError, match="does not match its recorded sha256"):
        load_source(path)


def test_checkpoint_without_weights_is_named(tmp_path):
    path = make_checkpoint(tmp_path, LENET, load_source(LENET))
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["model"]
    torch.save(checkpoint, path)
    with pytest.raises(VisualiseError, match=r"lenet\.pt lacks model: it was not written by"):
        load_source(path)


def test_unreadable_and_wrong_channel_images(tmp_path, lenet):
    from PIL import Image

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(VisualiseError, match=r"broken\.png: not an image Pillow can read"):
        load_images(lenet, [broken])
    colour = tmp_path / "colour.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(colour)
    with pytest.raises(VisualiseError, match="RGB image \\(3 channels\\) but the model takes 1"):
        load_images(lenet, [colour])
    grey = tmp_path / "grey.jpg"
    Image.new("L", (40, 30), 128).save(grey)
    batch = load_images(lenet, [grey])
    assert batch.pixels.shape == (1, 1, 32, 32)
    assert np.allclose(batch.pixels, 128 / 255, atol=1e-3)


def test_digit_samples_cycle_through_the_classes(lenet):
    batch = digit_samples(lenet, 12)
    assert batch.labels == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1)
    assert batch.pixels.shape == (12, 1, 32, 32)
    assert batch.pixels.min() >= 0.0 and batch.pixels.max() <= 1.0


def test_deconvnet_refuses_tanh_layers_and_says_which(lenet):
    with pytest.raises(VisualiseError, match="no reverse for tanh1 \\(tanh\\)"):
        deconvnet(lenet, random_batch(lenet, 1))


def test_deconvnet_from_a_layer_projects_one_activation(small):
    result = deconvnet(small, random_batch(small, 2), layer="conv2")
    assert "strongest activation of conv2" in result.settings["from"]
    # one 3×3 unit of conv2 after a 2×2 pool over a 3×3 conv: an 8×8 window of the input
    nonzero = np.argwhere(np.abs(result.attributions[0]).sum(axis=0) > 0)
    assert (nonzero.max(axis=0) - nonzero.min(axis=0) + 1 <= 8).all()


POOLED = """\
name: conv, pool, linear
input: [1, 2, 2]
layers:
  - conv: {filters: 1, kernel: 1, bias: false, name: conv}
  - global_avgpool
  - flatten
  - linear: {features: 2, bias: false, name: fc}
"""


def test_grad_cam_by_hand(tmp_path):
    """A = x (a 1×1 conv of weight 1), logit0 = 2·mean(A): dlogit0/dA = 2/4 everywhere, so
    α = 0.5 and the map is ReLU(0.5·x)."""
    source = load_source(write_spec(tmp_path, POOLED))
    with torch.no_grad():
        source.model.conv.weight.fill_(1.0)
        source.model.fc.weight.copy_(torch.tensor([[2.0], [-1.0]]))
    pixels = np.array([[[[1.0, -2.0], [3.0, 0.0]]]], dtype=np.float32)
    result = grad_cam(source, Batch(pixels, (None,), ("hand",)), layer="conv", target=0)
    np.testing.assert_allclose(result.attributions[0, 0], [[0.5, 0.0], [1.5, 0.0]], rtol=1e-6)
    other = grad_cam(source, Batch(pixels, (None,), ("hand",)), layer="conv", target=1)
    np.testing.assert_allclose(other.attributions[0, 0], [[0.0, 0.5], [0.0, 0.0]], atol=1e-7)


def test_digit_labels_are_targets_only_for_digit_classes(lenet):
    from dataclasses import replace

    assert digit_samples(lenet, 2).labels == (0, 1)
    named = replace(lenet, classes=tuple(f"class {index}" for index in range(10)))
    assert digit_samples(named, 2).labels == (None, None)  # then the prediction is explained
