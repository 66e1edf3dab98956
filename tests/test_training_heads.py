"""Training-only heads (``training_only: true``): GoogLeNet's two auxiliary classifiers.

examples/googlenet_aux.yaml is checked against a faithful re-implementation of
torchvision's ``googlenet(aux_logits=True)`` (torchvision is not needed: the classes below
follow torchvision/models/googlenet.py): same state_dict keys and sizes, the same logits in
``eval()``, and the same (logits, aux1, aux2) in ``train()`` for the same seed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc

from .conftest import analyse_text

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "googlenet_aux.yaml"


class _BasicConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class _Inception(nn.Module):
    def __init__(self, c_in, c1, c3r, c3, c5r, c5, pp) -> None:
        super().__init__()
        self.branch1 = _BasicConv2d(c_in, c1, kernel_size=1)
        self.branch2 = nn.Sequential(
            _BasicConv2d(c_in, c3r, kernel_size=1), _BasicConv2d(c3r, c3, kernel_size=3, padding=1)
        )
        self.branch3 = nn.Sequential(  # torchvision's "5x5" branch is a 3x3 conv
            _BasicConv2d(c_in, c5r, kernel_size=1), _BasicConv2d(c5r, c5, kernel_size=3, padding=1)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            _BasicConv2d(c_in, pp, kernel_size=1),
        )

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class _InceptionAux(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.conv = _BasicConv2d(c_in, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, 1000)
        self.dropout = nn.Dropout(p=0.7)

    def forward(self, x):
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class _GoogLeNet(nn.Module):
    """torchvision's GoogLeNet, aux_logits=True, transform_input=False."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = _BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = _BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = _Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = _Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = _Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = _Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = _Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = _Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = _Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = _Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = _Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux1, self.aux2 = _InceptionAux(512), _InceptionAux(528)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, 1000)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if self.training:
            return x, aux2, aux1  # torchvision's GoogLeNetOutputs(logits, aux2, aux1)
        return x


def test_googlenet_aux_totals():
    analysis = cnncalc.analyse_file(SPEC)
    plain = cnncalc.analyse_file(ROOT / "specs" / "googlenet_torchvision.yaml")
    assert analysis.totals.params == 13_004_888
    assert analysis.totals.training_only_params == 13_004_888 - 6_624_904
    assert analysis.totals.macs == plain.totals.macs == 1_498_376_192
    assert analysis.totals.peers["fvcore"] == plain.totals.peers["fvcore"]
    assert analysis.totals.activation_elements == plain.totals.activation_elements
    assert analysis.output_shape == (1000,)
    assert [row.path for row in analysis.training_outputs] == ["aux1.fc2", "aux2.fc2"]
    assert analysis.row("aux1.conv.conv").input_shape == (512, 4, 4)
    assert analysis.row("aux2.conv.conv").input_shape == (528, 4, 4)
    assert analysis.row("inception4b").input_shape == (512, 14, 14)  # resumes after aux1


def test_googlenet_aux_is_torchvisions_in_eval_and_train():
    reference = _GoogLeNet()
    assert sum(p.numel() for p in reference.parameters()) == 13_004_888
    model = cnncalc.build(SPEC, input_shape=[3, 96, 96])
    model.load_state_dict(reference.state_dict(), strict=True)
    image = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(image), reference.eval()(image))
        torch.manual_seed(1)
        logits, aux1, aux2 = model.train()(image)
        torch.manual_seed(1)
        expected = reference.train()(image)
    torch.testing.assert_close((logits, aux1, aux2), (expected[0], expected[2], expected[1]))


def test_verify_checks_train_mode_heads():
    verification = cnncalc.verify(SPEC, [3, 96, 96], peers=())
    assert verification.ok, verification.mismatches
    names = [check.name for check in verification.totals]
    assert "train() outputs" in names
    assert "MACs in train() (FlopCounterMode / 2)" in names
    paths = [layer.path for layer in verification.layers]
    assert "aux1.fc2" in paths and "aux2.conv.bn" in paths


def test_a_head_inside_a_block_and_with_from():
    analysis = analyse_text(
        """
input: [3, 16, 16]
layers:
  - conv: {name: stem, filters: 4, kernel: 3, padding: 1}
  - conv: {name: body, filters: 8, kernel: 3, stride: 2, padding: 1}
  - sequence: [global_avgpool, flatten, linear: 10]
    name: aux
    training_only: true
    from: stem
  - global_avgpool
  - flatten
  - linear: 10
"""
    )
    assert analysis.row("aux").input_shape == (4, 16, 16)
    assert analysis.row("pool1").input_shape == (8, 8, 8)  # the line goes on from body
    assert analysis.row("aux").macs == 40  # a head's subtotal is its own
    assert analysis.totals.training_only_params == 4 * 10 + 10
    assert analysis.totals.macs == analysis.row("stem").macs + analysis.row("body").macs + 80
    model = cnncalc.build(analysis).train()
    main, head = model(torch.randn(2, 3, 16, 16))
    assert main.shape == head.shape == (2, 10)
    assert cnncalc.verify(analysis, peers=()).ok


HEAD_WITH_THEN = """\
name: heads with then
input: [2, 8, 8]
layers:
  - {conv: {filters: 4, kernel: 3, padding: 1}, name: trunk}
  - {conv: {filters: 3, kernel: 1}, name: out}
  - conv: {filters: 5, kernel: 1, name: aux}
    from: trunk
    training_only: true
    then: [{upsample: {scale: 2, name: up}}, {relu: {name: act}}]
  - {conv: {filters: 6, kernel: 1, name: aux2}, training_only: true}
"""


def test_a_heads_then_items_belong_to_the_head_in_torch():
    """FCN/DeepLab write the aux head's upsampling as its ``then:``: ``train()`` returns the
    head's output after its ``then:`` items, once (they used to run as heads of their own)."""
    analysis = analyse_text(HEAD_WITH_THEN)
    assert [row.path for row in analysis.training_outputs] == ["act", "aux2"]
    model = cnncalc.build(analysis)
    torch.manual_seed(0)
    image = torch.rand(2, 2, 8, 8)
    out, aux, aux2 = model.train()(image)
    assert (out.shape, aux.shape, aux2.shape) == ((2, 3, 8, 8), (2, 5, 16, 16), (2, 6, 8, 8))
    with torch.no_grad():
        expected = F.relu(F.interpolate(model.aux(model.trunk(image)), scale_factor=2))
    torch.testing.assert_close(aux, expected)
    assert cnncalc.verify(analysis, peers=()).ok
