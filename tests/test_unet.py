"""The original U-Net (examples/unet.yaml) against a PyTorch re-implementation written here
from the paper (Ronneberger et al. 2015, Fig. 1), module for module, and its valid-size
rule.

The full-size figures (31,030,658 parameters, 150,428,424,448 MACs at 572×572) are checked
three ways: a hand formula, the re-implementation's parameters, and FlopCounterMode on the
meta device (no arithmetic, so the 150 GMACs cost nothing). Anything that runs real tensors
(fvcore, the state_dict round trip, outputs) uses the slim U-Net of ``--set width=4``.
"""

from __future__ import annotations

import logging
import time

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc import arith
from cnncalc.cli import app

from .conftest import ROOT

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

UNET = ROOT / "examples" / "unet.yaml"

# ------------------------------------------------------------------ the re-implementation


class DoubleConv(nn.Module):
    """Two unpadded 3×3 convs, each followed by a ReLU (one level of Fig. 1)."""

    def __init__(self, channels_in, channels_out):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        return self.relu2(self.conv2(self.relu1(self.conv1(x))))


def centre_crop(x, like):
    """The encoder map cut to the decoder's size, starting ⌊(H − h)/2⌋ in."""
    height, width = like.shape[-2:]
    top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
    return x[:, :, top : top + height, left : left + width]


class UNet(nn.Module):
    """Ronneberger et al. 2015: 1 input channel, widths w·(1, 2, 4, 8, 16), 2 classes."""

    def __init__(self, width=64, classes=2):
        super().__init__()
        widths = [width * 2**level for level in range(5)]
        self.enc1 = DoubleConv(1, widths[0])
        self.pool1 = nn.MaxPool2d(2)
        self.enc2 = DoubleConv(widths[0], widths[1])
        self.pool2 = nn.MaxPool2d(2)
        self.enc3 = DoubleConv(widths[1], widths[2])
        self.pool3 = nn.MaxPool2d(2)
        self.enc4 = DoubleConv(widths[2], widths[3])
        self.pool4 = nn.MaxPool2d(2)
        self.bottom = DoubleConv(widths[3], widths[4])
        self.up4 = nn.ConvTranspose2d(widths[4], widths[3], 2, stride=2)
        self.dec4 = DoubleConv(widths[4], widths[3])
        self.up3 = nn.ConvTranspose2d(widths[3], widths[2], 2, stride=2)
        self.dec3 = DoubleConv(widths[3], widths[2])
        self.up2 = nn.ConvTranspose2d(widths[2], widths[1], 2, stride=2)
        self.dec2 = DoubleConv(widths[2], widths[1])
        self.up1 = nn.ConvTranspose2d(widths[1], widths[0], 2, stride=2)
        self.dec1 = DoubleConv(widths[1], widths[0])
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        enc1 = self.enc1(x)
        enc2 = self.enc2(self.pool1(enc1))
        enc3 = self.enc3(self.pool2(enc2))
        enc4 = self.enc4(self.pool3(enc3))
        x = self.bottom(self.pool4(enc4))
        for up, dec, skip in (
            (self.up4, self.dec4, enc4),
            (self.up3, self.dec3, enc3),
            (self.up2, self.dec2, enc2),
            (self.up1, self.dec1, enc1),
        ):
            x = up(x)
            x = dec(torch.cat([centre_crop(skip, x), x], 1))  # copy and crop: encoder first
        return self.head(x)


# ------------------------------------------------------------------ hand-derived figures

# (C_in, C_out, kernel, output size) of every conv and up-conv at 572×572, from Fig. 1
# with w = 64: each 3×3 takes 2 off, each pool halves, each up-conv doubles.
LAYERS_572 = [
    (1, 64, 3, 570), (64, 64, 3, 568),
    (64, 128, 3, 282), (128, 128, 3, 280),
    (128, 256, 3, 138), (256, 256, 3, 136),
    (256, 512, 3, 66), (512, 512, 3, 64),
    (512, 1024, 3, 30), (1024, 1024, 3, 28),
    (1024, 512, 2, 56), (1024, 512, 3, 54), (512, 512, 3, 52),
    (512, 256, 2, 104), (512, 256, 3, 102), (256, 256, 3, 100),
    (256, 128, 2, 200), (256, 128, 3, 198), (128, 128, 3, 196),
    (128, 64, 2, 392), (128, 64, 3, 390), (64, 64, 3, 388),
    (64, 2, 1, 388),
]  # fmt: skip


def test_hand_formulas_give_the_quoted_figures():
    params = sum(c_in * c_out * k * k + c_out for c_in, c_out, k, _ in LAYERS_572)
    # a conv: C_in·k²·C_out per output pixel; a 2×2 up-conv with stride 2 writes each output
    # pixel from one input pixel: C_in·C_out per output pixel (k²·H_in·W_in = H_out·W_out)
    macs = sum(
        c_in * c_out * (1 if k == 2 else k * k) * size * size for c_in, c_out, k, size in LAYERS_572
    )
    analysis = cnncalc.analyse_file(UNET)
    assert params == analysis.totals.params == 31_030_658
    assert macs == analysis.totals.macs == 150_428_424_448
    assert analysis.input_shape == (1, 572, 572)
    assert analysis.output_shape == (2, 388, 388)
    assert analysis.totals.depth == 23  # "In total the network has 23 convolutional layers."
    weighted = [row for row in analysis.layers if row.weight_layer]
    assert [(row.output_shape[0], row.output_shape[1]) for row in weighted] == [
        (c_out, size) for _, c_out, _, size in LAYERS_572
    ]


def test_full_size_matches_pytorch_on_the_meta_device():
    """Parameters, every layer's output shape, and FlopCounterMode's MACs at 572×572."""
    from torch.utils.flop_counter import FlopCounterMode

    analysis = cnncalc.analyse_file(UNET)
    with torch.device("meta"):  # 31 M parameters, never initialised
        model = UNet().eval()
    assert sum(p.numel() for p in model.parameters()) == analysis.totals.params
    shapes = _output_shapes(model)
    with torch.device("meta"):
        image = torch.empty(1, 1, 572, 572)
    with FlopCounterMode(display=False) as counter:
        output = model(image)
    assert tuple(output.shape) == (1, 2, 388, 388)
    assert counter.get_total_flops() == 2 * analysis.totals.macs
    rows = {row.path: row for row in analysis.layers}
    for path, shape in shapes.items():
        assert rows[path].output_shape == shape, path


def _output_shapes(model):
    """Every leaf module's output shape (C, H, W) by path, recorded during a forward."""
    shapes = {}
    for path, module in model.named_modules():
        if not list(module.children()):
            module.register_forward_hook(
                lambda _, __, out, path=path: shapes.__setitem__(path, tuple(out.shape[1:]))
            )
    return shapes


def test_slim_unet_same_weights_same_output_and_counts():
    """--set width=4: the spec built by cnncalc loads the re-implementation's state_dict and
    computes the same map; parameters, per-layer MACs and fvcore's count agree."""
    pytest.importorskip("fvcore")
    from fvcore.nn import FlopCountAnalysis

    torch.manual_seed(0)
    spec = cnncalc.load_spec(UNET, {"width": "4"})
    analysis = cnncalc.analyse(spec, [1, 252, 252])
    reference = UNet(width=4).eval()
    built = cnncalc.build(analysis).eval()
    built.load_state_dict(reference.state_dict())  # strict: the same names and shapes
    assert analysis.totals.params == sum(p.numel() for p in reference.parameters()) == 121_658
    assert analysis.output_shape == (2, 68, 68)
    image = torch.rand(1, 1, 252, 252)  # ≡ 12 (mod 16): every pool even, output 68×68
    with torch.no_grad():
        assert torch.equal(built(image), reference(image))
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    counter = FlopCountAnalysis(reference, image)
    counter.unsupported_ops_warnings(False)
    counter.uncalled_modules_warnings(False)
    assert counter.total() == analysis.totals.peers["fvcore"]
    by_module = counter.by_module()
    for row in analysis.layers:
        if row.weight_layer:
            assert by_module[row.path] == row.macs, row.path


def test_verify_passes_on_the_slim_unet():
    command = ["verify", str(UNET), "--set", "width=4", "--input", "1x252x252"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ sizes


def test_symbolic_unet_states_its_valid_and_exact_sizes():
    start = time.perf_counter()
    analysis = cnncalc.analyse(cnncalc.load_spec(UNET), [1, "H", "W"])
    assert time.perf_counter() - start < 30  # minutes before the crop offsets were folded
    assert dict(analysis.valid_from) == {"H": 188, "W": 188}
    assert arith.as_text(analysis.output_shape[1]) == "16·⌊(H − 12)/16⌋ − 172"
    rules = {rule.symbol: rule for rule in analysis.exact.rules}
    assert (rules["H"].modulus, rules["H"].residues) == (16, (12,))
    assert rules["H"].sizes == (188, 204, 220)
    assert rules["W"].layers == ("pool1", "pool2", "pool3", "pool4")
    assert [str(dim) for dim in analysis.exact.outputs[0]] == ["2", "H - 184", "W - 184"]
    macs = analysis.exact.macs  # a polynomial once the floors are exact
    assert arith.as_text(macs) == "733888·H·W − 90947712·H − 90947712·W + 14356195584"
    for height, width in ((188, 188), (204, 572), (572, 572)):
        numeric = cnncalc.analyse_file(UNET, [1, height, width]).totals.macs
        assert macs.subs({arith.symbol("H"): height, arith.symbol("W"): width}) == numeric


@pytest.mark.parametrize("size", range(188, 188 + 16))
def test_the_rule_is_what_pytorch_does(size):
    """At H ≡ 12 (mod 16) the output is H − 184 and no pool floors anything; at every other
    size some pool gets an odd input (checked on the re-implementation's actual maps)."""
    model = UNet(width=1).to("meta")
    pooled = []
    for index in range(1, 5):
        getattr(model, f"pool{index}").register_forward_hook(
            lambda _, inputs, __: pooled.append(inputs[0].shape[-1])
        )
    with torch.device("meta"):
        output = model(torch.empty(1, 1, size, size))
    exact = all(width % 2 == 0 for width in pooled)
    assert exact == (size % 16 == 12)
    if exact:
        assert output.shape[-1] == size - 184
    numeric = cnncalc.analyse(cnncalc.load_spec(UNET), [1, size, size])
    assert numeric.output_shape[1] == output.shape[-1]
    assert bool(numeric.warnings) == (not exact)  # "the last row … is never covered"


def test_shape_command_prints_the_rule():
    result = CliRunner().invoke(app, ["shape", str(UNET), "--input", "1xHxW"])
    assert result.exit_code == 0, result.output
    output = result.output
    assert "valid for     H ≥ 188, W ≥ 188 (the smallest input every layer accepts)" in output
    assert (
        "exact for     H, W ≡ 12 (mod 16): 188, 204, 220, … "
        "(no pixel dropped by pool1, pool2, pool3, pool4)"
    ) in result.output
    assert "exact output  2×(H − 184)×(W − 184) (at those sizes)" in result.output


def test_the_crops_and_concats_read_well_in_the_worked_report():
    result = CliRunner().invoke(app, ["report", str(UNET), "--set", "width=4"])
    assert result.exit_code == 0, result.output
    assert "W_out = w = 56" in result.output and "(the size of up4)" in result.output
    assert "top = ⌊(H_in − h)/2⌋ = ⌊(64 − 56)/2⌋ = 4" in result.output


def test_too_small_an_input_names_the_layer():
    result = CliRunner().invoke(app, ["shape", str(UNET), "--input", "1x180x180"])
    assert result.exit_code == 2
    assert "error" in result.output and "Traceback" not in result.output
    assert "[layer 'dec3.conv2', key 'kernel']" in result.output
    assert "examples/unet.yaml:32:42" in result.output  # the conv inside the block


def test_the_diagram_draws_no_fork_line_into_a_skip():
    """A crop-and-copy branch starts from the encoder map: the fork from the up-conv feeds
    only the other branch (the line used to run from up4 into "from enc4")."""
    from cnncalc.report import diagram

    analysis = cnncalc.analyse(cnncalc.load_spec(UNET, {"width": "1"}))
    frames = [
        part for part in diagram._parts(analysis.steps, 0) if isinstance(part, diagram._Frame)
    ]
    merges = [frame.inner.parts[0] for frame in frames if frame.row.kind == "concat"]
    assert [merge.reading for merge in merges] == [[True, False]] * 4
