"""FCN-ResNet50 and DeepLabV3-ResNet50 (examples/), against torchvision's segmentation models.

torchvision is not a dependency, so the classes below re-implement, module for module,
torchvision/models/segmentation/{fcn,deeplabv3,_utils}.py over resnet.py's ResNet-50 with
``replace_stride_with_dilation=[False, True, True]``. The checks: the same state_dict keys
and sizes, the same tensors in eval() and train() for the same weights and seed, the
published parameter counts and "GFLOPS", FlopCounterMode's and fvcore's counts, ``verify``,
and the symbolic output 21×H×W. Inputs are small (3×33×47: odd sizes, different per axis)
or on the meta device.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

ROOT = Path(__file__).resolve().parent.parent
FCN = ROOT / "examples" / "fcn_resnet50.yaml"
DEEPLAB = ROOT / "examples" / "deeplabv3_resnet50.yaml"
SMALL = [3, 33, 47]
CLASSES = 21


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: on a loaded machine two threads wait on each other at every op
    (the forwards here took 3-10× longer with two)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------ torchvision, re-implemented


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(
            planes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False
        )
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class _DilatedResNet50(nn.Module):
    """resnet50(replace_stride_with_dilation=[False, True, True]) up to layer4, returning
    {"aux": layer3, "out": layer4} as IntermediateLayerGetter does."""

    def __init__(self) -> None:
        super().__init__()
        self.inplanes, self.dilation = 64, 1
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, stride=2)
        self.layer3 = self._make_layer(256, 6, stride=2, dilate=True)
        self.layer4 = self._make_layer(512, 3, stride=2, dilate=True)

    def _make_layer(self, planes, blocks, stride=1, dilate=False):
        # torchvision's _make_layer: a dilated stage trades its stride for dilation, and its
        # first block keeps the dilation that came before
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                nn.BatchNorm2d(planes * 4),
            )
        layers = [_Bottleneck(self.inplanes, planes, stride, downsample, previous_dilation)]
        self.inplanes = planes * 4
        layers += [
            _Bottleneck(self.inplanes, planes, dilation=self.dilation) for _ in range(1, blocks)
        ]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        aux = self.layer3(self.layer2(self.layer1(x)))
        return {"aux": aux, "out": self.layer4(aux)}


class _FCNHead(nn.Sequential):
    def __init__(self, in_channels, channels) -> None:
        inter_channels = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1),
        )


class _ASPPConv(nn.Sequential):
    def __init__(self, in_channels, out_channels, dilation) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class _ASPPPooling(nn.Sequential):
    def __init__(self, in_channels, out_channels) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x):
        size = x.shape[-2:]
        for module in self:
            x = module(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class _ASPP(nn.Module):
    def __init__(self, in_channels, atrous_rates, out_channels=256) -> None:
        super().__init__()
        modules = [
            nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
            )
        ]
        modules += [_ASPPConv(in_channels, out_channels, rate) for rate in atrous_rates]
        modules.append(_ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(
            nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x):
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


class _DeepLabHead(nn.Sequential):
    def __init__(self, in_channels, num_classes) -> None:
        super().__init__(
            _ASPP(in_channels, [12, 24, 36]),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, num_classes, 1),
        )


class _SegmentationModel(nn.Module):
    """torchvision's _SimpleSegmentationModel: the aux head runs whenever it exists (in
    eval() too), and both maps are upsampled to the input's H×W."""

    def __init__(self, classifier, aux_classifier=None) -> None:
        super().__init__()
        self.backbone = _DilatedResNet50()
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x):
        input_shape = x.shape[-2:]
        features = self.backbone(x)
        result = OrderedDict()
        out = self.classifier(features["out"])
        result["out"] = F.interpolate(out, size=input_shape, mode="bilinear", align_corners=False)
        if self.aux_classifier is not None:
            aux = self.aux_classifier(features["aux"])
            result["aux"] = F.interpolate(
                aux, size=input_shape, mode="bilinear", align_corners=False
            )
        return result


def fcn_resnet50(aux: bool = True):
    return _SegmentationModel(_FCNHead(2048, CLASSES), _FCNHead(1024, CLASSES) if aux else None)


def deeplabv3_resnet50(aux: bool = True):
    return _SegmentationModel(_DeepLabHead(2048, CLASSES), _FCNHead(1024, CLASSES) if aux else None)


class _Outputs(nn.Module):
    """The dict as a tuple, for fvcore's tracer."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        return tuple(self.model(x).values())


# (spec, reference, torchvision's num_params, torchvision's "GFLOPS" at 3×520×520)
NETWORKS = {
    "fcn_resnet50": (FCN, fcn_resnet50, 35_322_218, 152.717),
    "deeplabv3_resnet50": (DEEPLAB, deeplabv3_resnet50, 42_004_074, 178.722),
}
NAMES = sorted(NETWORKS)


def _flop_counter_macs(make, aux: bool, shape) -> int:
    """FlopCounterMode / 2 on the meta device: no weights are made, nothing is computed."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = make(aux=aux).eval()
        image = torch.empty(1, *shape)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(image)
    return counter.get_total_flops() // 2


def _fvcore(model, image) -> int:
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    counter = FlopCountAnalysis(_Outputs(model), image)
    counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return counter.total()


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_torchvisions_published_count(name):
    path, make, published, _ = NETWORKS[name]
    with torch.device("meta"):
        reference, without_aux = make(), make(aux=False)
    analysis = cnncalc.analyse_file(path)
    assert analysis.totals.params == published == sum(p.numel() for p in reference.parameters())
    assert analysis.published["params"] == published
    inference = analysis.totals.params - analysis.totals.training_only_params
    assert inference == sum(p.numel() for p in without_aux.parameters())
    assert analysis.totals.training_only_params == 2_365_205  # FCNHead(1024, 21)
    buffers = sum(b.numel() for b in reference.buffers())
    assert analysis.totals.buffers == buffers


@pytest.mark.parametrize("name", NAMES)
def test_macs_and_torchvisions_gflops_at_520(name):
    """torchvision's "GFLOPS" are conv + linear MACs of the model as it runs it, with its aux
    head (which torchvision computes in eval() too); cnncalc's inference MACs leave the head
    out, and the two together give the published figure."""
    path, make, _, gflops = NETWORKS[name]
    analysis = cnncalc.analyse_file(path)
    assert analysis.input_shape == (3, 520, 520)
    aux_macs = sum(row.macs for row in analysis.layers if row.training_only)
    # FCNHead(1024, 21) on 1024×65×65: 3×3 conv to 256, then 1×1 to 21
    assert aux_macs == 65 * 65 * (9 * 1024 * 256 + 256 * CLASSES) == 9_990_739_200
    assert analysis.totals.macs == _flop_counter_macs(make, False, [3, 520, 520])
    with_aux = _flop_counter_macs(make, True, [3, 520, 520])
    assert with_aux == analysis.totals.macs + aux_macs
    assert round(with_aux / 1e9, 3) == gflops


def _same_weights(name):
    path, make, _, _ = NETWORKS[name]
    torch.manual_seed(0)
    reference = make()
    model = cnncalc.build(path, input_shape=SMALL)
    model.load_state_dict(reference.state_dict(), strict=True)  # same keys, same sizes
    return model, reference


@pytest.mark.parametrize("name", NAMES)
def test_same_state_dict_and_output_in_eval(name):
    """3×33×47 leaves layer3/layer4 5×6: a dilation of 1, 2 or 4 in the wrong block, or the
    ASPP's rates, would change the output."""
    model, reference = _same_weights(name)
    image = torch.randn(1, *SMALL)
    with torch.no_grad():
        out = model.eval()(image)
        assert out.shape == (1, CLASSES, 33, 47)
        torch.testing.assert_close(out, reference.eval()(image)["out"])


def test_train_returns_out_and_aux_as_torchvision():
    """DeepLabV3's aux head is FCN's, so one network checks both: (out, aux) for
    {"out", "aux"}, the dropouts drawing in the same order (classifier, then aux head)."""
    model, reference = _same_weights("deeplabv3_resnet50")
    image = torch.randn(2, *SMALL)  # train(): the pooled ASPP branch's BN needs a batch of 2
    with torch.no_grad():
        torch.manual_seed(1)
        returned = model.train()(image)
        torch.manual_seed(1)
        expected = reference.train()(image)
    torch.testing.assert_close(returned, (expected["out"], expected["aux"]))
    torch.testing.assert_close(model.state_dict(), reference.state_dict())  # BN statistics


def test_fvcore_counts_the_upsampling():
    """fvcore counts bilinear upsampling (4 per output element: the ASPP pooling branch's
    and the final one) and the adaptive pool, on torchvision's model without the aux head
    (aux_loss=False: its eval() runs none). DeepLabV3 only: FCN is the same backbone and
    final upsampling with a plainer head, and fvcore's trace of a ResNet-50 costs seconds."""
    pytest.importorskip("fvcore")
    path, make, _, _ = NETWORKS["deeplabv3_resnet50"]
    shape = [3, 17, 23]  # layer4 3×3: the counts do not depend on the values
    analysis = cnncalc.analyse_file(path, input_shape=shape)
    assert analysis.row("out").peers["fvcore"] == 4 * CLASSES * 17 * 23
    assert analysis.row("classifier.0.convs.4.upsample").peers["fvcore"] == 4 * 256 * 3 * 3
    reference = make(aux=False).eval()
    assert analysis.totals.peers["fvcore"] == _fvcore(reference, torch.randn(1, *shape))


def test_aspp_pooling_branch_is_upsampled_to_the_feature_map():
    analysis = cnncalc.analyse_file(DEEPLAB, input_shape=SMALL)
    pooled = analysis.row("classifier.0.convs.4.3")
    upsampled = analysis.row("classifier.0.convs.4.upsample")
    assert pooled.output_shape == (256, 1, 1)
    assert analysis.row("backbone.layer4").output_shape == (2048, 5, 6)
    assert upsampled.output_shape == (256, 5, 6)  # like: backbone
    assert upsampled.peers["fvcore"] == 4 * 256 * 5 * 6
    # every output reads the one pooled pixel (PyTorch clamps bilinear's second tap onto
    # it): the field is the pool's, not one jump wider
    assert upsampled.receptive_field[0][0] == pooled.receptive_field[0][0]
    assert analysis.row("classifier.0.convs").output_shape == (1280, 5, 6)


def test_dilated_stages_keep_the_previous_dilation_in_their_first_block():
    analysis = cnncalc.analyse_file(FCN)
    dilations = {
        path: analysis.row(f"backbone.{path}.conv2").values["dilation"]
        for path in ("layer2.0", "layer3.0", "layer3.1", "layer3.5", "layer4.0", "layer4.1")
    }
    assert dilations == {
        "layer2.0": (1, 1),
        "layer3.0": (1, 1),
        "layer3.1": (2, 2),
        "layer3.5": (2, 2),
        "layer4.0": (2, 2),
        "layer4.1": (4, 4),
    }
    assert analysis.row("backbone.layer4").output_shape == (2048, 65, 65)  # output stride 8


@pytest.mark.parametrize("name", NAMES)
def test_verify_passes_in_eval_and_train(name):
    path = NETWORKS[name][0]
    verification = cnncalc.verify(path, SMALL, peers=())
    assert verification.ok, verification.mismatches
    names = [check.name for check in verification.totals]
    assert "train() outputs" in names and "MACs in train() (FlopCounterMode / 2)" in names
    assert "aux_classifier.0" in [layer.path for layer in verification.layers]


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_output_is_the_input_size(name):
    path = NETWORKS[name][0]
    result = CliRunner().invoke(app, ["shape", str(path), "--input", "3xHxW"])
    assert result.exit_code == 0, result.output
    assert "output         21×H×W" in result.output
    assert "aux 21×H×W (returned by train() only)" in result.output


def test_the_networks_receptive_field_is_outs_not_the_aux_heads():
    """The aux head is written last, but the network's field is that of its output."""
    from cnncalc.engine.result import final_field

    analysis = cnncalc.analyse_file(FCN)
    out = analysis.row("out").receptive_field
    assert final_field(analysis.rows) == (out[0][0], out[1][0]) == (451, 451)
    # 443 after the head's 3×3 at jump 8, + 8: bilinear reads 2 inputs per axis at jump 8
    assert analysis.row("classifier.4").receptive_field[0][0] == 443
    assert analysis.row("aux").receptive_field[0][0] == 291
