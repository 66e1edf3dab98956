"""Peer tools are declared once (cnncalc/engine/peers.py) and read from there everywhere.

A toy tool put into ``PEERS`` (and nowhere else) must reach the rows, the totals, its
``--convention``, the JSON ``compatibility`` object, the reconciliation line, the tables
and ``verify``; a layer kind states only where a tool departs from its default.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.engine import peers
from cnncalc.engine.conventions import CONVENTIONS, get_convention
from cnncalc.engine.peers import Measure, Peer, layer_counts
from cnncalc.layers.base import Cost
from cnncalc.report.formats import render, to_json

LENET = Path(__file__).resolve().parent.parent / "specs" / "lenet5.yaml"

# LeNet-5 (specs/lenet5.yaml), by hand: MACs 416,520; parameters of the convs
# 156 + 2,416 + 48,120 = 50,692, of the linear layers 10,164 + 850 = 11,014 (61,706 in all).
LENET_MACS, LENET_PARAMS = 416_520, 61_706


def _macs_and_parameters(run):
    """The toy tool, in PyTorch: FlopCounterMode's multiply-accumulates plus one per
    parameter element."""
    return run.flop_total() // 2 + sum(p.numel() for p in run.model.parameters()), None


TOY = Peer(
    "toy",
    "toy counter",
    "toy: a multiply-accumulate per MAC and a read of every parameter, per sample.",
    default=lambda cost: cost.macs + cost.weights + cost.biases,
    compatibility_key="toy_count",
    label="toy count",
    reconcile_label="toy",
    note="one per parameter",
    measure=Measure(
        "torch",
        "FlopCounterMode / 2 + parameter elements",
        _macs_and_parameters,
        real_tensors=False,
    ),
)


@pytest.fixture
def toy(monkeypatch):
    """The toy tool declared where every peer is, and nowhere else."""
    monkeypatch.setattr(peers, "PEERS", (*peers.PEERS, TOY))


def test_a_peer_declared_once_reaches_rows_totals_and_its_convention(toy):
    analysis = cnncalc.analyse_file(LENET)
    for row in analysis.rows:
        assert row.peers["toy"] == row.macs + row.params, row.path
    assert analysis.totals.peers["toy"] == LENET_MACS + LENET_PARAMS == 478_226
    batched = cnncalc.analyse(cnncalc.load_spec(LENET), batch=3)
    assert batched.totals.peers["toy"] == 3 * LENET_MACS + 3 * LENET_PARAMS

    convention = get_convention("toy")
    assert "toy" in CONVENTIONS and convention.statement == TOY.statement
    assert convention.reconcile(analysis) == (
        "toy 478,226 = MACs 416,520 + conv 50,692 + linear 11,014 (one per parameter)"
    )
    document = json.loads(to_json(analysis, convention))
    assert document["totals"]["flops"] == 478_226
    assert document["conventions"]["compatibility"]["toy_count"] == 478_226
    table = render(analysis, "flops", "table", convention)
    assert table.splitlines()[2].split() == [
        "layer",
        "kind",
        "output",
        "MACs",
        "toy",
        "count",
        "other",
        "ops",
    ]
    assert "c1        conv     6×28×28   117,600    117,756      4,704" in table
    assert "toy count         478,226" in table


def test_a_peer_declared_once_is_checked_by_verify(toy):
    pytest.importorskip("torch")
    from cnncalc.report.verification import verification_table

    result = cnncalc.verify(LENET, peers=())
    check = next(check for check in result.totals if check.name.startswith("toy"))
    assert check.name == "toy convention = FlopCounterMode / 2 + parameter elements"
    assert check.expected == check.actual == 478_226
    assert result.ok
    table = verification_table(result)
    assert "✓ toy convention = FlopCounterMode / 2 + parameter elements: 478,226" in table


def test_without_the_toy_nothing_knows_it():
    analysis = cnncalc.analyse_file(LENET)
    assert "toy" not in analysis.totals.peers and "toy" not in CONVENTIONS
    assert set(analysis.totals.peers) == {peer.name for peer in peers.PEERS}


# ---------------------------------------------------------------- defaults and deviations


def test_a_layer_without_deviations_gets_every_tools_default():
    # a linear layer 4 → 3 with bias: 12 weights, 3 biases, 12 MACs
    cost = Cost(output=(3,), weights=12, biases=3, macs=12)
    assert layer_counts(cost, 1) == {
        "fvcore": 12,  # one per MAC
        "fvcore_training": 12,  # as fvcore
        "flopcounter": 24,  # two per MAC
        "torchinfo": 15,  # its weight and bias elements
        "keras": 0,  # no parameters of its own
    }


def test_a_stated_count_replaces_the_default_and_the_batch_scales_per_sample_counts():
    # a batchnorm over 2×4×4 (affine): fvcore 2 per element, 5 in train(), Keras 2·C
    cost = Cost(
        output=(2, 4, 4),
        weights=2,
        biases=2,
        peers={"fvcore": 64, "fvcore_training": 160, "keras": 4},
    )
    assert layer_counts(cost, 1) == {
        "fvcore": 64,
        "fvcore_training": 160,
        "flopcounter": 0,
        "torchinfo": 4,
        "keras": 4,
    }
    # batch 3: every count per sample triples; Keras' parameters are per model
    assert layer_counts(cost, 3) == {
        "fvcore": 192,
        "fvcore_training": 480,
        "flopcounter": 0,
        "torchinfo": 12,
        "keras": 4,
    }


def test_fvcores_training_count_follows_a_stated_eval_count():
    # global average pooling over 8×7×7: fvcore 1 per input element in both modes
    cost = Cost(output=(8, 1, 1), peers={"fvcore": 392})
    counts = layer_counts(cost, 1)
    assert counts["fvcore"] == counts["fvcore_training"] == 392


def test_a_misspelt_peer_in_a_layer_cost_is_refused():
    with pytest.raises(ValueError, match=r"Cost\.peers names no peer tool: fvcor"):
        layer_counts(Cost(output=(1,), peers={"fvcor": 1}), 1)


def test_resnet18_rows_keep_the_defaults_and_the_kinds_deviations():
    analysis = cnncalc.analyse_file(LENET.parent / "resnet18.yaml")
    for row in analysis.layers:
        assert row.peers["flopcounter"] == 2 * row.macs, row.path
        if row.kind == "conv":  # fvcore's default; torchinfo's is stated: × output pixels
            pixels = row.output_shape[1] * row.output_shape[2]
            assert row.peers["fvcore"] == row.macs
            assert row.peers["torchinfo"] == row.params * pixels
        if row.kind == "batchnorm":
            elements = row.output_shape[0] * row.output_shape[1] * row.output_shape[2]
            assert row.peers["fvcore"] == 2 * elements
            assert row.peers["fvcore_training"] == 5 * elements
            assert row.peers["keras"] == 2 * row.output_shape[0]
    # torchvision's resnet18 under Keras' convention: BN moving mean and variance, 2 per
    # channel of its 20 batchnorms (64 + 256 + 640 + 1,280 + 2,560 = 4,800 channels)
    assert CONVENTIONS["keras"].params(analysis.totals)[0] == 11_689_512 + 9_600


def test_a_train_measurement_too_large_for_memory_is_skipped_with_its_reason(monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from cnncalc.torch import verify as verify_module

    # room for batch 1 (eval) but not for fvcore's train() batch of 2
    monkeypatch.setattr(
        verify_module, "_fits_in_memory", lambda analysis, batch, device="cpu": batch < 2
    )
    result = cnncalc.verify(LENET, device="cpu", peers=("fvcore",))
    assert dict(result.skipped) == {
        "fvcore_training": "the model is too large to run with real tensors in this "
        "machine's memory"
    }
    names = [check.name for check in result.totals]
    assert "fvcore convention = FlopCountAnalysis" in names
    assert not any(name.startswith("fvcore_training") for name in names)
    assert result.ok


def test_a_run_counts_flops_itself_when_verify_has_not():
    torch = pytest.importorskip("torch")
    from cnncalc.engine.peers import Run

    model = cnncalc.build(LENET, device="meta").eval()
    run = Run(model, torch.empty(2, 1, 32, 32, device="meta"))
    assert run.flop_total() == 2 * 2 * LENET_MACS  # two per MAC, batch of 2
    assert Run(model, None, {"Global": 7}).flop_total() == 7  # verify's own pass serves
