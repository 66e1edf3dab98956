"""Families written as one spec with ``args:`` (``--set``), against faithful PyTorch
re-implementations of torchvision's code (torchvision itself is not needed).

Each member must have torchvision's parameter count, and, for the same weights (copied in
module order: the spec's paths differ where a conditional skip adds a level), the same
output.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import cnncalc
from cnncalc.expr import make_divisible

torch = pytest.importorskip("torch")
nn = torch.nn

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _member(name: str, **settings: str) -> cnncalc.Analysis:
    return cnncalc.analyse(cnncalc.load_spec(EXAMPLES / name, settings))


def _same_network(analysis: cnncalc.Analysis, reference: nn.Module, size: int) -> None:
    """Copy the reference's weights into the spec's model in order; outputs must agree."""
    model = cnncalc.build(analysis, input_shape=[3, size, size]).eval()
    reference = reference.eval()
    ours = list(model.state_dict().items())
    theirs = list(reference.state_dict().items())
    assert [tensor.shape for _, tensor in ours] == [tensor.shape for _, tensor in theirs]
    torch.manual_seed(0)
    state = {
        key: torch.randn_like(tensor) * 0.1 if tensor.is_floating_point() else tensor
        for key, tensor in theirs
    }
    for key in state:
        if key.endswith("running_var"):
            state[key] = state[key].abs() + 1
    reference.load_state_dict(state)
    model.load_state_dict(dict(zip([key for key, _ in ours], state.values(), strict=True)))
    image = torch.randn(2, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(model(image), reference(image), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- MobileNet v2


def _conv_bn(c_in, c_out, kernel=3, stride=1, groups=1, activation=nn.ReLU6):
    layers = [
        nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    return nn.Sequential(*layers, *([activation()] if activation else []))


class _InvertedResidual(nn.Module):
    """torchvision.models.mobilenetv2.InvertedResidual."""

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden_dim = round(inp * expand_ratio)  # torchvision: int(round(...))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [_conv_bn(inp, hidden_dim, kernel=1)] if expand_ratio != 1 else []
        layers += [
            _conv_bn(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class _MobileNetV2(nn.Module):
    """torchvision.models.mobilenetv2.MobileNetV2(width_mult=width)."""

    SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
    SETTING += ((6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, width):
        super().__init__()
        input_channel = make_divisible(32 * width, 8)
        self.last_channel = make_divisible(1280 * max(1.0, width), 8)
        features = [_conv_bn(3, input_channel, stride=2)]
        for t, c, n, s in self.SETTING:
            output_channel = make_divisible(c * width, 8)
            for i in range(n):
                features.append(
                    _InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t)
                )
                input_channel = output_channel
        features.append(_conv_bn(input_channel, self.last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.last_channel, 1000))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


MOBILENET_V2 = {"0.5": 1_968_680, "0.75": 2_636_424, "1.0": 3_504_872, "1.4": 6_108_776}
"""Parameters of torchvision's mobilenet_v2(width_mult=w): 1.0 is its weights table's
3,504,872; the others are what its code builds (the re-implementation above counts them)."""


@pytest.mark.parametrize("width", sorted(MOBILENET_V2))
def test_mobilenet_v2_family(width):
    analysis = _member("mobilenet_v2_family.yaml", width=width)
    reference = _MobileNetV2(float(width))
    assert sum(p.numel() for p in reference.parameters()) == MOBILENET_V2[width]
    assert analysis.totals.params == MOBILENET_V2[width]
    _same_network(analysis, reference, 64)


# ----------------------------------------------------------------------------- EfficientNet


class _SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(channels, squeeze, 1), nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(nn.functional.silu(self.fc1(scale))))


class _MBConv(nn.Module):
    """torchvision.models.efficientnet.MBConv (eval: stochastic depth is the identity)."""

    def __init__(self, t, k, stride, c_in, c_out):
        super().__init__()
        self.use_res_connect = stride == 1 and c_in == c_out
        expanded = make_divisible(c_in * t, 8)
        layers = [_conv_bn(c_in, expanded, 1, activation=nn.SiLU)] if expanded != c_in else []
        layers += [
            _conv_bn(expanded, expanded, k, stride, groups=expanded, activation=nn.SiLU),
            _SqueezeExcitation(expanded, max(1, c_in // 4)),
            _conv_bn(expanded, c_out, 1, activation=None),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.block(x) if self.use_res_connect else self.block(x)


class _EfficientNet(nn.Module):
    """torchvision's EfficientNet with _efficientnet_conf("efficientnet_b*", w, d)."""

    SETTING = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2))
    SETTING += ((6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4))
    SETTING += ((6, 3, 1, 192, 320, 1),)

    def __init__(self, width, depth, dropout):
        super().__init__()
        layers = [_conv_bn(3, make_divisible(32 * width, 8), 3, 2, activation=nn.SiLU)]
        for t, k, stride, c_in, c_out, n in self.SETTING:
            c_in, c_out = make_divisible(c_in * width, 8), make_divisible(c_out * width, 8)
            stage = []
            for index in range(math.ceil(n * depth)):  # torchvision: int(math.ceil(...))
                first = index == 0
                stage.append(_MBConv(t, k, stride if first else 1, c_in if first else c_out, c_out))
            layers.append(nn.Sequential(*stage))
        last_in = make_divisible(320 * width, 8)
        layers.append(_conv_bn(last_in, 4 * last_in, 1, activation=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * last_in, 1000))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


EFFICIENTNET = {
    # variant: (width_mult, depth_mult, dropout), torchvision's published parameters
    "0": ((1.0, 1.0, 0.2), 5_288_548),
    "1": ((1.0, 1.1, 0.2), 7_794_184),
    "2": ((1.1, 1.2, 0.3), 9_109_994),
    "3": ((1.2, 1.4, 0.3), 12_233_232),
}


@pytest.mark.parametrize("variant", sorted(EFFICIENTNET))
def test_efficientnet_family(variant):
    scaling, published = EFFICIENTNET[variant]
    analysis = _member("efficientnet_family.yaml", variant=variant)
    assert analysis.totals.params == published
    reference = _EfficientNet(*scaling)
    assert sum(p.numel() for p in reference.parameters()) == published
    _same_network(analysis, reference, 64)


def test_efficientnet_b0_member_is_the_bundled_example():
    member = _member("efficientnet_family.yaml")
    bundled = cnncalc.analyse_file(EXAMPLES / "efficientnet_b0.yaml")
    assert member.totals == bundled.totals


# ----------------------------------------------------------------------------- ResNet


RESNET = {
    "18": 11_689_512,
    "34": 21_797_672,
    "50": 25_557_032,
    "101": 44_549_160,
    "152": 60_192_808,
}
"""torchvision's published parameters (its weights tables)."""


@pytest.mark.parametrize("depth", sorted(RESNET, key=int))
def test_resnet_family_is_each_bundled_resnet(depth):
    """Each member is layer for layer the bundled specs/resnet<depth>.yaml (itself verified
    against PyTorch): the same paths, shapes, parameters and MACs."""
    member = _member("resnet_family.yaml", depth=depth)
    bundled = cnncalc.analyse_file(ROOT / "specs" / f"resnet{depth}.yaml")
    assert member.totals.params == RESNET[depth]
    assert member.totals == bundled.totals

    def rows(analysis):
        return [(r.path, r.output_shape, r.params, r.macs) for r in analysis.layers]

    assert rows(member) == rows(bundled)


def test_resnet_family_refuses_an_unknown_depth():
    with pytest.raises(cnncalc.SpecError, match="20 is not one of 18, 34, 50, 101, 152"):
        _member("resnet_family.yaml", depth="20")


@pytest.mark.parametrize(
    "name", ["mobilenet_v2_family.yaml", "efficientnet_family.yaml", "resnet_family.yaml"]
)
def test_families_analyse_symbolically(name):
    spec = cnncalc.load_spec(EXAMPLES / name)
    analysis = cnncalc.analyse(spec, input_shape=[3, "H", "W"])
    assert analysis.symbolic and analysis.output_shape == (1000,)
