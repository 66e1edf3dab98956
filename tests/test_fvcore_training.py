"""The fvcore_training convention against fvcore itself, with the model in training mode.

fvcore counts batchnorm by its mode: 2 per input element in eval mode (1 without affine),
and in training mode its norm handler's 5 (4 without affine). The batch is 2: a training-mode
batchnorm refuses a batch of one value per channel.
"""

from __future__ import annotations

import pytest

from cnncalc import analyse, load_spec

from .conftest import ROOT

pytest.importorskip("torch")
pytest.importorskip("fvcore")

NO_AFFINE = """\
name: BN without affine, 2-D and 1-D
input: [3, 16, 16]
layers:
  - conv: {filters: 8, kernel: 3}
  - batchnorm: {affine: false}
  - relu
  - flatten
  - linear: 10
  - batchnorm
"""


def _fvcore_training_total(analysis, batch: int) -> int:
    import torch
    from fvcore.nn import FlopCountAnalysis

    from cnncalc.torch import build

    model = build(analysis).train()
    inputs = torch.randn(batch, *analysis.input_shape)
    counter = FlopCountAnalysis(model, inputs)
    counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return counter.total()


@pytest.mark.parametrize("name", ["fashion_mnist_cnn", "vgg16_bn", "densenet121"])
def test_bundled_specs(name):
    spec = load_spec(ROOT / "specs" / f"{name}.yaml")
    analysis = analyse(spec, input_shape=[1, 28, 28] if "mnist" in name else [3, 64, 64], batch=2)
    assert analysis.totals.peers["fvcore_training"] == _fvcore_training_total(analysis, batch=2)
    assert analysis.totals.peers["fvcore_training"] > analysis.totals.peers["fvcore"]


def test_without_affine(tmp_path):
    path = tmp_path / "bn.yaml"
    path.write_text(NO_AFFINE, encoding="utf-8")
    analysis = analyse(load_spec(path), batch=2)
    # conv 8×14×14 outputs into BN without affine (4 each), linear 10 into BN with affine (5)
    bn_flops = 4 * 8 * 14 * 14 + 5 * 10
    assert analysis.totals.peers["fvcore_training"] == analysis.totals.macs + 2 * bn_flops
    assert analysis.totals.peers["fvcore_training"] == _fvcore_training_total(analysis, batch=2)
