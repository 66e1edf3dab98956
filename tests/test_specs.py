"""Every bundled spec reproduces its published totals, and the classic depths hold."""

from __future__ import annotations

import pytest

import cnncalc

from .conftest import ROOT, SPECS

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def test_the_bundled_specs_are_there():
    names = {path.stem for path in SPECS}
    expected = {
        "lenet5",
        "alexnet",
        "alexnet_torchvision",
        "zfnet",
        "nin",
        "mobilenet_v1",
        "vgg11",
        "vgg13",
        "vgg16",
        "vgg19",
        "vgg16_bn",
        "googlenet",
        "googlenet_torchvision",
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "densenet121",
        "fashion_mnist_cnn",
        "mnist_cnn",
        "vgg13_cifar10",
        "savings_inception",
        "savings_gap",
    }
    assert expected <= names


@pytest.mark.parametrize("path", SPECS, ids=[path.stem for path in SPECS])
def test_published_totals(path):
    spec = cnncalc.load_spec(path)
    assert spec.source, "every bundled spec names its source"
    assert spec.published, "every bundled spec states its published totals"
    analysis = cnncalc.analyse(spec)
    totals = analysis.totals
    found = {
        "params": totals.params,
        "macs": totals.macs,
        "depth": totals.depth,
        "trainable_params": totals.trainable_params,
        "flops": totals.flops,
    }
    for key, value in spec.published.items():
        if key in found:
            assert found[key] == value, f"{path.stem}: {key}"


# The issue's figures, independent of what the spec files claim.
PUBLISHED = {
    "lenet5": (61_706, 416_520),
    "alexnet": (62_378_344, None),
    "alexnet_torchvision": (61_100_840, 714_188_480),
    "vgg11": (132_863_336, None),
    "vgg16": (138_357_544, 15_470_264_320),
    "vgg19": (143_667_240, None),
    "vgg16_bn": (138_365_992, None),
    "googlenet_torchvision": (6_624_904, 1_498_376_192),
    "resnet18": (11_689_512, 1_814_073_344),
    "resnet34": (21_797_672, None),
    "resnet50": (25_557_032, 4_089_184_256),
    "resnet101": (44_549_160, None),
    "resnet152": (60_192_808, 11_513_626_624),
    "densenet121": (7_978_856, 2_834_161_664),
    "fashion_mnist_cnn": (29_034, None),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_issue_figures(root, name):
    params, macs = PUBLISHED[name]
    totals = cnncalc.analyse_file(root / "specs" / f"{name}.yaml").totals
    assert totals.params == params
    if macs is not None:
        assert totals.macs == macs


# Depth = weight (conv/linear) layers on the longest path: the number in each network's name,
# or the count its paper gives. Every bundled spec is listed (a test checks it).
DEPTHS = {
    "alexnet": 8,  # 5 conv + 3 FC
    "alexnet_torchvision": 8,
    "zfnet": 8,
    "vgg11": 11,
    "vgg13": 13,
    "vgg16": 16,
    "vgg16_bn": 16,
    "vgg19": 19,
    "vgg13_cifar10": 13,  # 10 conv + FC 256-128-10
    "nin": 12,  # 4 mlpconv blocks of 3 convs (the 4th ends in the 10-way 1×1)
    "googlenet": 22,  # "22 layers deep when counting only layers with parameters"
    "googlenet_torchvision": 22,
    "resnet18": 18,
    "resnet34": 34,
    "resnet50": 50,
    "resnet101": 101,
    "resnet152": 152,
    "densenet121": 121,
    "mobilenet_v1": 28,  # "counting depthwise and pointwise convolutions as separate layers"
    "lenet5": 5,  # C1, C3, C5, F6, output
    "mnist_cnn": 5,  # 3 conv + 2 dense
    "fashion_mnist_cnn": 3,  # 2 conv + 1 FC
    "savings_gap": 1,  # the head alone: GAP + FC
    "savings_gap_fc": 1,  # flatten + FC
    "savings_inception": 2,  # a 1×1 reduction, then the 3×3 / 5×5
    "savings_inception_naive": 1,
}


@pytest.mark.parametrize(("name", "depth"), sorted(DEPTHS.items()))
def test_depth_reproduces_the_names(root, name, depth):
    assert cnncalc.analyse_file(root / "specs" / f"{name}.yaml").totals.depth == depth


def test_every_bundled_spec_has_its_depth_asserted():
    assert sorted(DEPTHS) == sorted(path.stem for path in SPECS)


def test_savings_gap_head(root):
    gap = cnncalc.analyse_file(root / "specs" / "savings_gap.yaml").totals
    fc = cnncalc.analyse_file(root / "specs" / "savings_gap_fc.yaml").totals
    assert (fc.params, gap.params) == (50_177_000, 1_025_000)


def test_inception_reduction_saves(root):
    reduced = cnncalc.analyse_file(root / "specs" / "savings_inception.yaml")
    naive = cnncalc.analyse_file(root / "specs" / "savings_inception_naive.yaml")
    assert reduced.output_shape == (256, 28, 28)
    assert reduced.totals.macs < naive.totals.macs


def test_resnet18_parameter_paths_follow_torchvision(root):
    analysis = cnncalc.analyse_file(root / "specs" / "resnet18.yaml")
    paths = [row.path for row in analysis.layers if row.params]
    assert paths[:5] == ["conv1", "bn1", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.conv2"]
    assert "layer2.0.downsample.0" in paths and "layer2.0.downsample.1" in paths
    assert paths[-1] == "fc"


@pytest.mark.parametrize("path", SPECS, ids=[path.stem for path in SPECS])
def test_group_rows_add_up(path):
    """Invariant: each group's subtotal is the sum of the layers under it."""
    analysis = cnncalc.analyse_file(path)
    for group in analysis.groups:
        inside = [row for row in analysis.layers if row.path.startswith(group.path + ".")]
        assert group.params == sum(row.params for row in inside)
        assert group.macs == sum(row.macs for row in inside)
    assert analysis.totals.params == sum(row.params for row in analysis.layers)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_torchvision_examples_reproduce_their_parameter_counts(path):
    """The rest of torchvision's classifiers are writable: each example matches its count."""
    spec = cnncalc.load_spec(path)
    totals = cnncalc.analyse(spec).totals
    assert totals.params == spec.published["params"]
    if "macs" in spec.published:
        assert totals.macs == spec.published["macs"]


def test_the_torchvision_family_is_covered():
    names = {path.stem for path in EXAMPLES}
    for family in (
        "mobilenet_v2",
        "mobilenet_v3_large",
        "shufflenet_v2_x1_0",
        "squeezenet1_0",
        "resnext50_32x4d",
        "wide_resnet50_2",
        "efficientnet_b0",
        "mnasnet1_0",
        "inception_v3",
        "regnet_y_400mf",
    ):
        assert family in names


@pytest.mark.parametrize(
    ("name", "smallest"),
    [
        # (31 − 4)/2 → 13 → 9 → 4: c5's 5×5 kernel no longer fits; at 32 it leaves 1×1.
        ("lenet5", 32),
        # (66 − 11)/4 + 1 → 14 → 6 → 2: pool5's 3×3 window does not fit; 67 gives 15 → 1.
        ("alexnet", 67),
        # padded convs and pools and an adaptive pool: any size down to 1×1 runs.
        ("resnet18", 1),
    ],
)
def test_symbolic_formulas_say_where_they_hold(name, smallest):
    spec = cnncalc.load_spec(ROOT / "specs" / f"{name}.yaml")
    channels = spec.input[0]
    analysis = cnncalc.analyse(spec, input_shape=[channels, "H", "W"])
    assert analysis.valid_from == {"H": smallest, "W": smallest}
    cnncalc.analyse(spec, input_shape=[channels, smallest, smallest])
    if smallest > 1:
        with pytest.raises(cnncalc.SpecError):
            cnncalc.analyse(spec, input_shape=[channels, smallest - 1, 4096])


def test_numeric_analyses_have_no_range():
    spec = cnncalc.load_spec(ROOT / "specs" / "lenet5.yaml")
    assert cnncalc.analyse(spec).valid_from == {}
