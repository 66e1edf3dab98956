"""Graph references (``from:``, ``outputs:``): skips, top-down paths and several heads.

Each spec is checked against a PyTorch module written here by hand the way the papers draw
these networks: the spec's model must have the same parameters under the same names
(``load_state_dict(strict=True)``), the same outputs for the same weights, and ``verify``
must agree with every number.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app

from .conftest import analyse_text

torch = pytest.importorskip("torch")
nn = torch.nn

UNET = """
name: a small U-Net (two levels, skips read by name)
input: [1, 32, 32]
blocks:
  twoconv:
    args: [filters]
    layers:
      - conv: {name: conv1, filters: filters, kernel: 3, padding: 1}
      - relu: {name: relu1}
      - conv: {name: conv2, filters: filters, kernel: 3, padding: 1}
      - relu: {name: relu2}
layers:
  - twoconv: {name: enc1, filters: 8}
  - maxpool: 2
  - twoconv: {name: enc2, filters: 16}
  - maxpool: 2
  - twoconv: {name: bottom, filters: 32}
  - conv_transpose: {name: up2, filters: 16, kernel: 2, stride: 2}
  - concat: [{from: enc2}, []]
  - twoconv: {name: dec2, filters: 16}
  - conv_transpose: {name: up1, filters: 8, kernel: 2, stride: 2}
  - concat: [{from: enc1}, []]
  - twoconv: {name: dec1, filters: 8}
  - conv: {name: head, filters: 2, kernel: 1}
"""


class _Double(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class _UNet(nn.Module):
    """Ronneberger et al. 2015, Fig. 1, two levels, 'same' convs: each decoder level
    concatenates the encoder map of its size with the upsampled one, encoder first."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2, self.bottom = _Double(1, 8), _Double(8, 16), _Double(16, 32)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = _Double(32, 16)
        self.up1 = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec1 = _Double(16, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(nn.functional.max_pool2d(e1, 2))
        b = self.bottom(nn.functional.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([e2, self.up2(b)], 1))
        d1 = self.dec1(torch.cat([e1, self.up1(d2)], 1))
        return self.head(d1)


FPN = """
name: a feature pyramid (lateral 1x1 convs, learned 2x top-down upsampling, three outputs)
input: [3, 64, 64]
layers:
  - conv: {name: c3, filters: 8, kernel: 3, stride: 2, padding: 1}
  - conv: {name: c4, filters: 16, kernel: 3, stride: 2, padding: 1}
  - conv: {name: c5, filters: 32, kernel: 3, stride: 2, padding: 1}
  - conv: {name: p5, filters: 8, kernel: 1}
  - add:
      - {from: c4, layers: [conv: {name: lateral, filters: 8, kernel: 1}]}
      - {from: p5, layers: [conv_transpose: {name: up, filters: 8, kernel: 2, stride: 2}]}
    name: p4
  - add:
      - {from: c3, layers: [conv: {name: lateral, filters: 8, kernel: 1}]}
      - {from: p4, layers: [conv_transpose: {name: up, filters: 8, kernel: 2, stride: 2}]}
    name: p3
outputs: [p3, p4, p5]
"""


class _Level(nn.Module):
    def __init__(self, c_lateral: int) -> None:
        super().__init__()
        self.branch1 = nn.ModuleDict({"lateral": nn.Conv2d(c_lateral, 8, 1)})
        self.branch2 = nn.ModuleDict({"up": nn.ConvTranspose2d(8, 8, 2, stride=2)})

    def forward(self, c, p):
        return self.branch1["lateral"](c) + self.branch2["up"](p)


class _FPN(nn.Module):
    """Lin et al. 2017, Fig. 3: P_l = lateral(C_l) + upsample(P_{l+1})."""

    def __init__(self) -> None:
        super().__init__()
        self.c3 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c4 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.c5 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.p5 = nn.Conv2d(32, 8, 1)
        self.p4, self.p3 = _Level(16), _Level(8)

    def forward(self, x):
        c3 = self.c3(x)
        c4 = self.c4(c3)
        p5 = self.p5(self.c5(c4))
        p4 = self.p4(c4, p5)
        return self.p3(c3, p4), p4, p5


TWO_HEADS = """
name: a trunk with two heads (classes and boxes)
input: [3, 16, 16]
layers:
  - conv: {name: trunk, filters: 8, kernel: 3, padding: 1}
  - relu
  - conv: {name: classes, filters: 5, kernel: 1}
  - conv: {name: boxes, filters: 4, kernel: 3, padding: 1, from: relu1}
outputs: [classes, boxes]
"""


class _TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.classes = nn.Conv2d(8, 5, 1)
        self.boxes = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        features = self.relu1(self.trunk(x))
        return self.classes(features), self.boxes(features)


CASES = {"unet": (UNET, _UNet), "fpn": (FPN, _FPN), "two heads": (TWO_HEADS, _TwoHeads)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_specs_are_the_networks_their_papers_draw(name):
    text, reference_class = CASES[name]
    torch.manual_seed(0)
    model = cnncalc.build(cnncalc.parse_spec(text)).eval()
    reference = reference_class().eval()
    reference.load_state_dict(model.state_dict(), strict=True)
    image = torch.randn(2, *model.analysis.input_shape)
    ours, theirs = model(image), reference(image)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for mine, other in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, other)
    assert model.analysis.totals.params == sum(p.numel() for p in reference.parameters())
    verification = cnncalc.verify(model.analysis, peers=())
    assert verification.ok, verification.mismatches


def test_several_outputs_are_the_analysis_outputs():
    analysis = analyse_text(FPN)
    assert [row.path for row in analysis.outputs] == ["p3", "p4", "p5"]
    assert [row.output_shape for row in analysis.outputs] == [(8, 32, 32), (8, 16, 16), (8, 8, 8)]
    assert analysis.output_shape == (8, 32, 32)  # the first output's
    # c3 → c4 → c5 → p5 → up(p4) → up(p3): six weight layers on the longest path
    assert analysis.totals.depth == 6


def test_a_read_starts_a_new_chain_for_the_receptive_field():
    analysis = analyse_text(TWO_HEADS)
    boxes = analysis.row("boxes")
    assert boxes.receptive_field_in == analysis.row("relu1").receptive_field
    assert boxes.receptive_field[0][0] == 5  # 3×3 trunk, then a 3×3 head: 3 + 2


def test_symbolic_input_through_a_read():
    analysis = analyse_text(TWO_HEADS, input_shape=[3, "H", "W"])
    assert [str(dim) for dim in analysis.row("boxes").output_shape] == ["4", "H", "W"]
    assert [str(dim) for dim in analysis.outputs[0].output_shape] == ["5", "H", "W"]


def test_worked_report_and_diagram_name_what_is_read(tmp_path):
    runner = CliRunner()
    path = tmp_path / "two_heads.yaml"
    path.write_text(TWO_HEADS)
    result = runner.invoke(app, ["report", str(path)])
    assert result.exit_code == 0, result.output
    assert "boxes (conv, reading relu1)" in result.output
    from cnncalc.report.diagram import diagram_svg

    svg = diagram_svg(cnncalc.analyse_file(path))
    assert "from relu1" in svg


def test_exported_module_returns_every_output(tmp_path):
    source = cnncalc.export_source(cnncalc.parse_spec(FPN))
    namespace: dict = {}
    exec(compile(source, "fpn_export.py", "exec"), namespace)
    model = namespace["AFeaturePyramidLateral1x1ConvsLearned2xTopDownUpsamplingThreeOutputs"]()
    outputs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(out.shape) for out in outputs] == [(1, 8, 32, 32), (1, 8, 16, 16), (1, 8, 8, 8)]


def test_nested_merges_still_build_as_before():
    text = """
input: [4, 8, 8]
layers:
  - concat: [[conv: {filters: 2, kernel: 1}], [], [conv: {filters: 3, kernel: 3, padding: 1}]]
"""
    model = cnncalc.build(cnncalc.parse_spec(text))
    assert "torch.cat([h1, x, h3], dim=1)" in model.forward_source
