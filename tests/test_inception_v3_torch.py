"""examples/inception_v3.yaml against a faithful re-implementation of torchvision's
``inception_v3(aux_logits=True, transform_input=False, init_weights=False)``.

torchvision is not needed: the classes below follow torchvision/models/inception.py
(BasicConv2d, InceptionA–E, InceptionAux, Inception3). The spec puts each concat branch one
level deeper (``Mixed_5b.b2.branch5x5_1`` for ``Mixed_5b.branch5x5_1``), so state_dict keys
are compared with those levels taken out; every tensor must then match in name and size.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cnncalc

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "inception_v3.yaml"
WITH_AUX = 27_161_264
"""torchvision's weights table (Inception_V3_Weights.IMAGENET1K_V1: num_params)."""
WITHOUT_AUX = 23_834_568
MACS = 5_713_216_096


class _BasicConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class _InceptionA(nn.Module):
    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _BasicConv2d(c_in, 64, kernel_size=1)
        self.branch5x5_1 = _BasicConv2d(c_in, 48, kernel_size=1)
        self.branch5x5_2 = _BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = _BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = _BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = _BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = _BasicConv2d(c_in, pool_features, kernel_size=1)

    def forward(self, x):
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


class _InceptionB(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = _BasicConv2d(c_in, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = _BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = _BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = _BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([self.branch3x3(x), branch3x3dbl, branch_pool], 1)


class _InceptionC(nn.Module):
    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = _BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7_1 = _BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7_2 = _BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = _BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7dbl_2 = _BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = _BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x):
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for index in range(1, 6):
            branch7x7dbl = getattr(self, f"branch7x7dbl_{index}")(branch7x7dbl)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], 1)


class _InceptionD(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = _BasicConv2d(c_in, 192, kernel_size=1)
        self.branch3x3_2 = _BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = _BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7x3_2 = _BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for index in range(1, 5):
            branch7x7x3 = getattr(self, f"branch7x7x3_{index}")(branch7x7x3)
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch7x7x3, branch_pool], 1)


class _InceptionE(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch1x1 = _BasicConv2d(c_in, 320, kernel_size=1)
        self.branch3x3_1 = _BasicConv2d(c_in, 384, kernel_size=1)
        self.branch3x3_2a = _BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = _BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _BasicConv2d(c_in, 448, kernel_size=1)
        self.branch3x3dbl_2 = _BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = _BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = _BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x):
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat(
            [self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1
        )
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool], 1)


class _InceptionAux(nn.Module):
    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = _BasicConv2d(c_in, 128, kernel_size=1)
        self.conv1 = _BasicConv2d(128, 768, kernel_size=5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x):
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))  # 768×1×1
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class _Inception3(nn.Module):
    """torchvision's Inception3(num_classes=1000, aux_logits=True, transform_input=False)."""

    def __init__(self, aux_logits: bool = True) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = _BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = _BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = _BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = _BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = _InceptionA(192, pool_features=32)
        self.Mixed_5c = _InceptionA(256, pool_features=64)
        self.Mixed_5d = _InceptionA(288, pool_features=64)
        self.Mixed_6a = _InceptionB(288)
        self.Mixed_6b = _InceptionC(768, c7=128)
        self.Mixed_6c = _InceptionC(768, c7=160)
        self.Mixed_6d = _InceptionC(768, c7=160)
        self.Mixed_6e = _InceptionC(768, c7=192)
        self.AuxLogits = _InceptionAux(768, 1000) if aux_logits else None
        self.Mixed_7a = _InceptionD(768)
        self.Mixed_7b = _InceptionE(1280)
        self.Mixed_7c = _InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=0.5)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x):
        for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1"):
            x = getattr(self, name)(x)
        for name in ("Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c"):
            x = getattr(self, name)(x)
        for name in ("Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
            x = getattr(self, name)(x)
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        x = self.fc(torch.flatten(self.dropout(self.avgpool(x)), 1))
        return (x, aux) if self.training and aux is not None else x


def _torchvision_key(spec_key: str) -> str:
    """Mixed_7b.b2.concat1.branch1.branch3x3_2a.conv.weight → Mixed_7b.branch3x3_2a.conv.weight:
    the spec's concat branches (b1…b4) and inner concat levels are not torchvision modules."""
    extra = re.compile(r"b\d|concat\d|branch\d")
    return ".".join(part for part in spec_key.split(".") if not extra.fullmatch(part))


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    reference = _Inception3()
    model = cnncalc.build(SPEC)
    state = {_torchvision_key(key): value for key, value in model.state_dict().items()}
    assert len(state) == len(model.state_dict())  # the renaming is one-to-one
    expected = reference.state_dict()
    assert {key: tuple(value.shape) for key, value in state.items()} == {
        key: tuple(value.shape) for key, value in expected.items()
    }
    renamed = {key: expected[_torchvision_key(key)] for key in model.state_dict()}
    model.load_state_dict(renamed, strict=True)
    return reference, model


def test_parameters_with_and_without_the_aux_head(models):
    reference, model = models
    assert sum(p.numel() for p in reference.parameters()) == WITH_AUX
    assert sum(p.numel() for p in _Inception3(aux_logits=False).parameters()) == WITHOUT_AUX
    assert sum(p.numel() for p in model.parameters()) == WITH_AUX
    totals = cnncalc.analyse_file(SPEC).totals
    assert totals.params == WITH_AUX
    assert totals.params - totals.training_only_params == WITHOUT_AUX
    assert totals.training_only_params == 98_560 + 2_459_136 + 769_000  # conv0, conv1, fc
    assert totals.macs == MACS  # inference MACs: the head is not in them


def test_the_aux_head_reads_mixed_6e():
    analysis = cnncalc.analyse_file(SPEC)
    assert analysis.row("AuxLogits").input_shape == (768, 17, 17)
    assert analysis.row("AuxLogits.avg_pool2d").output_shape == (768, 5, 5)
    assert analysis.row("AuxLogits.conv1.conv").output_shape == (768, 1, 1)
    assert analysis.row("Mixed_7a").input_shape == (768, 17, 17)  # resumes after the head
    assert [row.path for row in analysis.training_outputs] == ["AuxLogits.fc"]
    assert analysis.output_shape == (1000,)


def test_eval_and_train_match_torchvisions(models):
    reference, model = models
    small = torch.randn(2, 3, 107, 107)  # eval() runs from 75×75: a small input is cheaper
    image = torch.randn(2, 3, 299, 299)  # the head's 5×5/3 pool and 5×5 conv need 17×17
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(small), reference.eval()(small))
        torch.manual_seed(1)
        logits, aux = model.train()(image)
        torch.manual_seed(1)
        expected_logits, expected_aux = reference.train()(image)
    torch.testing.assert_close((logits, aux), (expected_logits, expected_aux))
    assert aux.shape == (2, 1000)


def test_verify_passes_in_eval_and_train():
    verification = cnncalc.verify(SPEC, peers=())
    assert verification.ok, verification.mismatches
    names = [check.name for check in verification.totals]
    assert "train() outputs" in names and "MACs in train() (FlopCounterMode / 2)" in names
    assert "AuxLogits.conv1.conv" in [layer.path for layer in verification.layers]


def test_symbolic_input_needs_the_heads_grid():
    """In train() the head's 5×5/3 pool and 5×5 conv need Mixed_6e's 17×17: 299 at least."""
    spec = cnncalc.load_spec(SPEC)
    assert cnncalc.analyse(spec, input_shape=[3, "H", "W"]).valid_from == {"H": 299, "W": 299}
