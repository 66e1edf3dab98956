"""Transfer learning: weights from a saved state_dict, a new head, freezing, learning rates."""

from __future__ import annotations

import re
import textwrap

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.train.contract import CHECKPOINT_FORMAT  # noqa: E402
from cnncalc.train.transfer import (  # noqa: E402
    ShapeMismatch,
    TransferError,
    build_with_new_head,
    freeze,
    keep_frozen_batchnorm_eval,
    load_weights,
    parameter_groups,
    replace_head,
    train_mode,
)

from .conftest import ROOT  # noqa: E402

RESNET18 = ROOT / "specs" / "resnet18.yaml"
LENET5 = ROOT / "specs" / "lenet5.yaml"

# torchvision's resnet18 parameter counts by top-level module (1000-class fc)
RESNET18_PARTS = {
    "conv1": 64 * 3 * 7 * 7,  # 9,408
    "bn1": 2 * 64,
    "layer1": 147_968,
    "layer2": 525_568,
    "layer3": 2_099_712,
    "layer4": 8_393_728,
    "fc": 512 * 1000 + 1000,
}


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    """A 1000-class ResNet-18's state_dict on disk: torchvision's names and shapes."""
    torch.manual_seed(0)
    model = cnncalc.build(RESNET18)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return path, model.state_dict()


def test_new_head_loads_everything_but_the_head(resnet18_file):
    path, saved = resnet18_file
    torch.manual_seed(1)
    model, head = build_with_new_head(RESNET18, 10)
    initial_fc = model.fc.weight.detach().clone()
    report = load_weights(model, path)
    assert report.mismatched == (
        ShapeMismatch("fc.weight", (10, 512), (1000, 512)),
        ShapeMismatch("fc.bias", (10,), (1000,)),
    )
    assert report.missing == () and report.unexpected == ()
    assert len(report.loaded) == len(saved) - 2  # 122 entries: 62 params, 60 BN buffers
    model_values = sum(tensor.numel() for tensor in model.state_dict().values())
    assert report.loaded_values == model_values - (512 * 10 + 10)
    state = model.state_dict()
    assert all(torch.equal(state[name], saved[name]) for name in report.loaded)
    assert torch.equal(model.fc.weight, initial_fc)  # the new head keeps its initialisation
    text = report.render()
    assert f"weights: {path} (PyTorch state_dict; non-strict" in text
    assert f"loaded       120 of 122 model entries ({report.loaded_values:,} of" in text
    assert "fc.weight: model 10×512, file 1000×512" in text
    assert "fc.bias: model 10, file 1000" in text
    # the engine's numbers for the variant: only the head changed
    assert head.new_params == 5_130 and head.old_params == 513_000
    assert int(head.analysis.totals.params) == 11_689_512 - 513_000 + 5_130
    assert sum(p.numel() for p in model.parameters()) == int(head.analysis.totals.params)


def test_strict_refuses_and_loads_nothing(resnet18_file):
    path, _ = resnet18_file
    model, _ = build_with_new_head(RESNET18, 10)
    before = model.conv1.weight.detach().clone()
    with pytest.raises(TransferError) as error:
        load_weights(model, path, strict=True)
    assert "strict loading refused, nothing was loaded" in str(error.value)
    assert "fc.weight: model 10×512, file 1000×512" in str(error.value)
    assert torch.equal(model.conv1.weight, before)


def lenet(seed: int = 0):
    torch.manual_seed(seed)
    return cnncalc.build(LENET5)


def test_cnncalc_checkpoint_and_wrapped_state_dicts(tmp_path):
    source = lenet(3).state_dict()
    checkpoint = tmp_path / "best.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "model": source, "epoch": 4}, checkpoint)
    model = lenet(4)
    report = load_weights(model, checkpoint, strict=True)
    assert report.source == f"cnncalc checkpoint, {CHECKPOINT_FORMAT}" and report.complete
    assert torch.equal(model.c1.weight, source["c1.weight"])
    ddp = tmp_path / "ddp.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.items()}}, ddp)
    report = load_weights(lenet(5), ddp)
    assert report.source == "PyTorch state_dict (under 'state_dict'), 'module.' prefix removed"
    assert len(report.loaded) == 10


def test_unreadable_weight_files(tmp_path):
    model = lenet()
    with pytest.raises(TransferError, match=r"weights file .*nowhere\.pt not found"):
        load_weights(model, tmp_path / "nowhere.pt")
    whole = tmp_path / "module.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), whole)  # a module, not weights
    with pytest.raises(TransferError) as error:
        load_weights(model, whole)
    assert "torch.load(weights_only=True) refuses it" in str(error.value)
    assert "torch.save(model.state_dict(), 'weights.pt')" in str(error.value)
    good = tmp_path / "lenet.pt"
    torch.save(model.state_dict(), good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(TransferError, match=r"cannot read .*cut\.pt as PyTorch weights"):
        load_weights(model, cut)
    future = tmp_path / "future.pt"
    torch.save({"format": "cnncalc-checkpoint/9", "model": {}}, future)
    with pytest.raises(TransferError, match="format 'cnncalc-checkpoint/9'; this cnncalc reads"):
        load_weights(model, future)
    other = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(2)}, other)
    with pytest.raises(TransferError) as error:
        load_weights(model, other)
    assert "no entry of" in str(error.value)
    assert "the file's names look like encoder.weight, the model's like c1.weight" in str(
        error.value
    )


def test_freeze_counts_are_the_engines_and_the_modules(resnet18_file):
    model, _ = build_with_new_head(RESNET18, 10)
    report = freeze(model, up_to="layer3")
    parts = {part.path: (part.params, part.frozen) for part in report.parts}
    for name in ("conv1", "bn1", "layer1", "layer2", "layer3"):
        assert parts[name] == (RESNET18_PARTS[name], RESNET18_PARTS[name])
    assert parts["layer4"] == (RESNET18_PARTS["layer4"], 0) and parts["fc"] == (5_130, 0)
    assert report.frozen == 2_782_784 and report.trainable == 8_393_728 + 5_130
    assert report.frozen == sum(p.numel() for p in model.parameters() if not p.requires_grad)
    assert report.frozen_layers[0] == "conv1" and report.frozen_layers[-1].startswith("layer3.1")
    lines = report.render().splitlines()
    assert lines[1].split() == ["part", "params", "frozen", "trainable"]
    assert lines[-1].split() == ["total", "11,181,642", "2,782,784", "8,398,858"]
    assert "relu" not in report.render()  # parts without parameters are not listed


def test_freeze_by_pattern_on_lenet():
    model = lenet()
    report = freeze(model, ["c*"])  # c1, c3, c5: 156 + 2,416 + 48,120
    assert report.frozen == 50_692 and report.trainable == 10_164 + 850
    assert report.frozen_layers == ("c1", "c3", "c5")
    assert not model.c3.weight.requires_grad and model.f6.weight.requires_grad
    again = freeze(model, ["f6"])  # earlier freezes stay and are counted
    assert again.frozen == 50_692 + 10_164 and again.trainable == 850
    with pytest.raises(TransferError, match=r"--freeze 'c7' matches no layer; did you mean"):
        freeze(model, ["c7"])
    with pytest.raises(TransferError, match=r"--freeze-up-to 'layer3': no such layer"):
        freeze(model, up_to="layer3")


def test_wrapped_models_are_unwrapped(tmp_path):
    source = tmp_path / "lenet.pt"
    torch.save(lenet(7).state_dict(), source)
    wrapped = torch.nn.DataParallel(lenet(8))  # as DistributedDataParallel wraps it
    assert load_weights(wrapped, source, strict=True).complete
    assert torch.equal(wrapped.module.c1.weight, torch.load(source)["c1.weight"])
    assert freeze(wrapped, ["c1"]).frozen == 156
    assert [group["name"] for group in parameter_groups(wrapped, 0.1, 0.5)] == ["backbone", "head"]


def test_freeze_needs_a_cnncalc_model():
    with pytest.raises(TransferError, match=r"needs a model built by cnncalc\.build"):
        freeze(torch.nn.Linear(2, 2), ["*"])


BN_NET = """
name: two batchnorms
input: [3, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, name: stem}
  - batchnorm: {name: stem_bn}
  - relu
  - conv: {filters: 4, kernel: 3, name: body}
  - batchnorm: {name: body_bn}
  - gap
  - flatten
  - linear: {features: 2, name: fc}
"""


def test_frozen_batchnorm_stays_in_eval_mode():
    torch.manual_seed(0)
    model = cnncalc.build(cnncalc.parse_spec(textwrap.dedent(BN_NET), "bn.yaml"))
    freeze(model, up_to="stem_bn")
    frozen_mean = model.stem_bn.running_mean.clone()
    body_mean = model.body_bn.running_mean.clone()
    train_mode(model)
    assert not model.stem_bn.training and model.body_bn.training and model.stem.training
    model(torch.randn(4, 3, 8, 8) + 3.0)
    assert torch.equal(model.stem_bn.running_mean, frozen_mean)  # statistics kept
    assert not torch.equal(model.body_bn.running_mean, body_mean)  # the trainable one learns
    model.train()  # a plain train() undoes it; the helper puts it back
    assert model.stem_bn.training and keep_frozen_batchnorm_eval(model) == 1
    assert not model.stem_bn.training


def test_parameter_groups_scale_the_backbone():
    model = lenet()
    freeze(model, ["c1"])
    groups = parameter_groups(model, 0.1, 0.01)
    assert [group["name"] for group in groups] == ["backbone", "head"]
    assert groups[0]["lr"] == pytest.approx(0.001) and groups[1]["lr"] == 0.1
    assert [p.numel() for p in groups[1]["params"]] == [84 * 10, 10]
    assert sum(p.numel() for p in groups[0]["params"]) == 61_706 - 156 - 850  # c1 frozen
    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    assert [group["lr"] for group in optimizer.param_groups] == [groups[0]["lr"], 0.1]
    assert [group["name"] for group in parameter_groups(model, 0.1, head="f6")] == [
        "backbone",
        "head",
    ]
    with pytest.raises(TransferError, match="got 0; to keep the backbone fixed, freeze it"):
        parameter_groups(model, 0.1, 0)
    with pytest.raises(TransferError, match="the learning rate must be a positive number"):
        parameter_groups(model, float("nan"), 0.1)
    with pytest.raises(TransferError, match="the head 'fc9' is not a layer of the model"):
        parameter_groups(model, 0.1, head="fc9")


def test_replace_head_in_a_named_sequence_with_shorthand():
    replacement = replace_head(ROOT / "specs" / "vgg16.yaml", 10)
    assert replacement.head == "classifier.fc3"
    patched = [line for line in replacement.text.splitlines() if "new head" in line]
    assert patched == ["      - linear: 10  # new head: 1000 → 10 classes"]
    assert replacement.new_params == 4096 * 10 + 10
    assert int(replacement.analysis.totals.params) == 138_357_544 - 4_097_000 + 40_970
    rebuilt = cnncalc.parse_spec(replacement.text)  # the text alone rebuilds the variant
    assert cnncalc.load_spec(ROOT / "specs" / "vgg16.yaml").published["params"] == 138_357_544
    assert rebuilt.published == {} and replacement.analysis.published == {}
    assert "# published: removed (its totals are for the 1000-class head)" in replacement.text
    assert int(cnncalc.analyse(rebuilt).totals.params) == 134_301_514
    model = cnncalc.build(replacement.analysis, device="meta")
    assert sum(p.numel() for p in model.parameters()) == 134_301_514
    assert replacement.render() == (
        "new head: classifier.fc3 4096 → 10 outputs (was 1000): 40,970 parameters "
        "(4096·10 weights + 10 biases), was 4,097,000; model total 134,301,514"
    )


SHARED_HEAD = """
name: head in a block
input: [1, 4, 4]
blocks:
  classifier:
    args: [n]
    layers:
      - linear: n
layers:
  - flatten
  - linear: 8
  - relu
  - classifier: {n: 3}
"""


def test_heads_that_cannot_be_replaced():
    with pytest.raises(TransferError) as error:
        replace_head(ROOT / "specs" / "nin.yaml", 10)
    assert "the last weight layer is 'mlpconv4.conv3' (conv)" in str(error.value)
    spec = cnncalc.parse_spec(textwrap.dedent(SHARED_HEAD), "shared.yaml")
    with pytest.raises(
        TransferError, match=r"shared\.yaml: changing the head .* would also change"
    ):
        replace_head(spec, 5)
    with pytest.raises(TransferError, match="a positive number of classes, got 0"):
        replace_head(LENET5, 0)


def test_readme_example(resnet18_file, tmp_path, monkeypatch, capsys):
    """The README's transfer-learning example prints what the README shows."""
    section = (
        (ROOT / "README.md")
        .read_text(encoding="utf-8")
        .split("## Data sources and transfer learning")[1]
    )
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, flags=re.S).group(1)
    (tmp_path / "resnet18-f37072fd.pth").symlink_to(resnet18_file[0])
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    monkeypatch.chdir(tmp_path)
    exec(code, {})
    assert capsys.readouterr().out == shown
